/*
 * pub: publish timestamped messages on a file-backed channel.
 *
 *   pub [-n COUNT] [-i MICROSECONDS] [-c CAPACITY] PATH
 *
 * Creates (or replaces) the channel file PATH, sends COUNT "tick" messages
 * (default 1000) one every MICROSECONDS (default 1000), then an "end"
 * message, and exits.  Each tick carries its sequence number and the
 * CLOCK_MONOTONIC time it was sent, so a subscriber (examples/sub.c) can
 * tell how old it is on arrival.  SIGINT or SIGTERM end the run early, still
 * with the "end" message.  The file stays behind for late readers; remove
 * PATH and PATH.lock when done.
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

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: pub [-n COUNT] [-i MICROSECONDS] [-c CAPACITY] PATH\n");
    return 2;
}

int main(int argc, char **argv)
{
    unsigned long long count = 1000, interval_us = 1000, capacity = 1 << 20;
    struct bcast_writer *w;
    struct sigaction sa;
    struct tick t;
    uint64_t seq;
    int opt, rc;

    while ((opt = getopt(argc, argv, "n:i:c:")) != -1) {
        char *end;
        unsigned long long v;

        if (opt == '?')
            return usage();
        errno = 0;
        v = strtoull(optarg, &end, 0);
        if (errno || *end || end == optarg)
            return usage();
        if (opt == 'n')
            count = v;
        else if (opt == 'i')
            interval_us = v;
        else
            capacity = v;
    }
    if (optind != argc - 1)
        return usage();

    setvbuf(stdout, NULL, _IOLBF, 0); /* show each line as it happens, even in a pipe */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rc = bcast_writer_create_file(argv[optind], (size_t)capacity, 0, &w);
    if (rc < 0) {
        fprintf(stderr, "pub: %s: %s\n", argv[optind], bcast_strerror(rc));
        return 1;
    }
    printf("pub: %s: capacity %zu, mtu %zu, sending %llu messages every %llu us\n",
           argv[optind], bcast_writer_capacity(w), bcast_writer_mtu(w), count, interval_us);
    fflush(stdout);

    for (seq = 0; seq < count && !stop; seq++) {
        struct timespec pause = {(time_t)(interval_us / 1000000),
                                 (long)(interval_us % 1000000) * 1000};
        if (seq && interval_us)
            nanosleep(&pause, NULL); /* an interrupting signal just ends the wait */
        tick_make(&t, seq);
        rc = bcast_writer_send(w, &t, tick_len(&t), TICK_DATA, 0);
        if (rc < 0) {
            fprintf(stderr, "pub: send: %s\n", bcast_strerror(rc));
            bcast_writer_close(w);
            return 1;
        }
    }
    /* tell subscribers how many ticks there were */
    tick_make(&t, seq);
    rc = bcast_writer_send(w, &t, sizeof t.seq + sizeof t.sent_ns, TICK_END, 0);
    if (rc < 0)
        fprintf(stderr, "pub: send: %s\n", bcast_strerror(rc));
    printf("pub: sent %llu messages, %llu bytes of channel%s\n", (unsigned long long)seq,
           (unsigned long long)bcast_writer_position(w), stop ? " (interrupted)" : "");
    bcast_writer_close(w);
    return rc < 0 ? 1 : 0;
}
