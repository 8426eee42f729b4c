/*
 * sub: print what a publisher (examples/pub.c) sends on a file-backed channel.
 *
 *   sub [-n EXPECT] [-l] [-q] [-t SECONDS] PATH
 *
 * Waits up to SECONDS (default 10) for PATH to become a channel, then reads
 * from the oldest message still in the ring (or, with -l, only what comes
 * after it opened) until the publisher's "end" message, printing each tick
 * with how long it took to arrive and how far behind the writer the reader
 * still is (bcast_reader_pending: bytes committed but not yet read).  It
 * gives up when nothing arrives for SECONDS.  SIGINT or SIGTERM stop it
 * cleanly.  With -n, it exits 1 unless exactly EXPECT ticks arrived in order;
 * -q prints only the summary.
 *
 * The ticks that were already in the ring when it opened (the backlog) are
 * reported apart, with their age: their latency says when sub started, not
 * how fast the channel is.  The summary gives the latency of the others as
 * percentiles (p50, p99) of every sample.  While idle, sub sleeps in
 * bcast_reader_wait() until the publisher's next message wakes it, so a
 * tick's latency includes that wake-up (a few microseconds; a reader that
 * spins instead saves them at the cost of a busy CPU).
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <bcast.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tick.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* the q-quantile of n sorted samples (nearest rank) */
static uint64_t quantile(const uint64_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);

    return sorted[rank ? rank - 1 : 0];
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: sub [-n EXPECT] [-l] [-q] [-t SECONDS] PATH\n");
    return 2;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};

    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    unsigned long long expect = 0, timeout_s = 10;
    int have_expect = 0, live = 0, quiet = 0, opt, rc, ended = 0;
    uint64_t got = 0, lost = 0, overruns = 0, next_seq = 0, idle_since;
    uint64_t backlog_end, backlog = 0, backlog_oldest = 0;
    uint64_t *lats = NULL; /* latency of every live tick, ns */
    size_t nlats = 0, lats_cap = 0;
    struct bcast_reader *r = NULL;
    struct bcast_message *msg;
    struct sigaction sa;
    const char *path;
    char *buf;

    while ((opt = getopt(argc, argv, "n:lqt:")) != -1) {
        char *end;

        switch (opt) {
        case 'n':
        case 't': {
            unsigned long long v;
            errno = 0;
            v = strtoull(optarg, &end, 0);
            if (errno || *end || end == optarg)
                return usage();
            if (opt == 'n') {
                expect = v;
                have_expect = 1;
            } else {
                timeout_s = v;
            }
            break;
        }
        case 'l':
            live = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            return usage();
        }
    }
    if (optind != argc - 1)
        return usage();
    path = argv[optind];

    setvbuf(stdout, NULL, _IOLBF, 0); /* show each line as it happens, even in a pipe */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* the publisher may not have made the file yet (-ENOENT), or may be
       between creating and initialising it (-EAGAIN) */
    idle_since = tick_now_ns();
    for (;;) {
        rc = live ? bcast_reader_open_file(path, 0, &r) : bcast_reader_open_file_at(path, 0, 0, &r);
        if (rc == 0)
            break;
        if ((rc != -ENOENT && rc != -EAGAIN) || stop ||
            tick_now_ns() - idle_since > timeout_s * 1000000000u) {
            fprintf(stderr, "sub: %s: %s\n", path, bcast_strerror(rc));
            return 1;
        }
        nap(10 * 1000 * 1000);
    }
    msg = bcast_message_new();
    buf = malloc(bcast_reader_mtu(r) + 1);
    if (!msg || !buf) {
        fprintf(stderr, "sub: out of memory\n");
        return 1;
    }
    /* what the writer had committed when the reader opened: the backlog */
    backlog_end = bcast_reader_position(r) + bcast_reader_pending(r);
    if (!quiet)
        printf("sub: %s: capacity %zu, reading from position %llu, backlog %llu bytes\n", path,
               bcast_reader_capacity(r), (unsigned long long)bcast_reader_position(r),
               (unsigned long long)(backlog_end - bcast_reader_position(r)));

    idle_since = tick_now_ns();
    while (!stop && !ended) {
        ssize_t n = bcast_reader_receive(r, buf, bcast_reader_mtu(r), msg);
        struct tick t;

        if (n == -EAGAIN) {
            uint64_t idle = tick_now_ns() - idle_since, left;

            if (idle > timeout_s * 1000000000u) {
                fprintf(stderr, "sub: nothing for %llu s, giving up\n", timeout_s);
                break;
            }
            /* sleep until the publisher wakes us, 0.2 s at most, so that a
               signal just before the sleep still stops sub soon (one during
               it ends the wait with -EINTR) */
            left = timeout_s * 1000000000u - idle;
            bcast_reader_wait(r, left < 200000000u ? (int64_t)left : 200000000);
            continue;
        }
        if (n == -ENOBUFS) { /* the writer lapped us: skip to the present */
            uint64_t behind = bcast_reader_pending(r);
            overruns++;
            bcast_reader_reset(r);
            if (!quiet)
                printf("sub: overrun, skipped %llu bytes to catch up\n",
                       (unsigned long long)behind);
            continue;
        }
        if (n < 0) {
            fprintf(stderr, "sub: receive: %s\n", bcast_strerror((int)n));
            break;
        }
        idle_since = tick_now_ns();
        if (bcast_message_flags(msg) & BCAST_HEARTBEAT)
            continue;
        if ((size_t)n < offsetof(struct tick, text) || (size_t)n > sizeof t) {
            fprintf(stderr, "sub: unexpected message of %zd bytes\n", n);
            continue;
        }
        memset(&t, 0, sizeof t);
        memcpy(&t, buf, (size_t)n);
        if (bcast_message_user_defined(msg) == TICK_END) {
            ended = 1;
            if (t.seq > next_seq)
                lost += t.seq - next_seq;
            break;
        }
        if (t.seq > next_seq)
            lost += t.seq - next_seq;
        next_seq = t.seq + 1;
        got++;
        {
            uint64_t lat = idle_since - t.sent_ns;

            if (bcast_message_position(msg) < backlog_end) {
                /* sent before sub opened: its age, not a latency */
                backlog++;
                backlog_oldest = lat > backlog_oldest ? lat : backlog_oldest;
                if (!quiet)
                    printf("%-12s backlog, sent %8.1f us ago\n", t.text, (double)lat / 1000.0);
                continue;
            }
            if (nlats == lats_cap) {
                size_t want = lats_cap ? 2 * lats_cap : 1024;
                uint64_t *nl = realloc(lats, want * sizeof *lats);
                if (!nl) {
                    fprintf(stderr, "sub: out of memory\n");
                    break;
                }
                lats = nl;
                lats_cap = want;
            }
            lats[nlats++] = lat;
            if (!quiet)
                printf("%-12s latency %8.1f us, %llu bytes behind the writer\n", t.text,
                       (double)lat / 1000.0, (unsigned long long)bcast_reader_pending(r));
        }
    }

    printf("sub: %llu ticks received, %llu lost, %llu overruns", (unsigned long long)got,
           (unsigned long long)lost, (unsigned long long)overruns);
    if (backlog)
        printf("; %llu from the backlog, the oldest sent %.1f ms before", (unsigned long long)backlog,
               (double)backlog_oldest / 1e6);
    if (nlats) {
        qsort(lats, nlats, sizeof *lats, cmp_u64);
        printf("; latency of %zu live ticks: p50 %.1f / p99 %.1f / max %.1f us", nlats,
               (double)quantile(lats, nlats, 0.50) / 1000.0,
               (double)quantile(lats, nlats, 0.99) / 1000.0, (double)lats[nlats - 1] / 1000.0);
    }
    printf("%s\n", ended ? "" : (stop ? " (interrupted)" : " (no end message)"));
    free(lats);
    bcast_message_free(msg);
    bcast_reader_close(r);
    free(buf);
    if (have_expect)
        return ended && got == expect && lost == 0 ? 0 : 1;
    return ended || stop ? 0 : 1;
}
