/*
 * check_concurrency: one writer thread and two reader threads on the same
 * channel at the same time, the writer pinned to one CPU and the readers to
 * another (all unpinned when only one CPU is available).
 *
 * Every payload byte, the length and user_defined derive from a sequence
 * number, so each delivered message is checked whole: a torn message (bytes
 * of two messages) cannot pass.  Readers must see sequence numbers increase
 * by exactly one unless they were told of an overrun (-ENOBUFS, then
 * bcast_reader_reset), so no message is lost silently.
 *
 * Each case runs twice: free-running, where overruns happen and are
 * counted, then with the writer holding back (in the test, not the library)
 * so that its claimed frontier never passes the slowest reader: then no
 * reader may see a single overrun and each must get every message.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "core-helpers.h"
#include "cpus.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* under valgrind, which runs one thread at a time, the cases are cut short */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
/* ThreadSanitizer slows every shared access by an order of magnitude */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#else
#define UNDER_TSAN 0
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define NREADERS 2

enum cmode { C_NEXT, C_RECEIVE, C_POLL, C_BULK, C_MODES };
static const char *const mode_names[] = {"next+read", "receive", "poll", "bulk"};

struct shared {
    struct chan c;
    struct bcast_writer *w;
    uint64_t count;    /* messages to send */
    size_t maxlen;     /* payload lengths are seq_len(seq, maxlen) */
    int throttle;      /* the writer waits for the readers */
    int cpu_writer, cpu_reader;
    pthread_barrier_t go;
    _Atomic int done;
    _Atomic uint64_t rpos[NREADERS]; /* each reader's position, for the throttle */
};

struct rstate {
    struct shared *sh;
    int idx;
    enum cmode mode;
    struct bcast_reader *r;
    uint8_t *buf;
    size_t bufcap;
    int64_t last;      /* last sequence number delivered, -1 for none */
    int overrun;       /* an overrun was reported since the last delivery */
    uint64_t delivered, overruns, heartbeats, failures;
    char first_failure[200];
};

/* every 50th sequence number is a heartbeat */
static int seq_is_heartbeat(uint64_t seq)
{
    return seq % 50 == 49;
}

static void report(struct rstate *st, const char *what, uint64_t seq)
{
    if (!st->failures++)
        snprintf(st->first_failure, sizeof st->first_failure,
                 "reader %d (%s): %s at seq %llu (last %lld)", st->idx, mode_names[st->mode],
                 what, (unsigned long long)seq, (long long)st->last);
}

/* check one delivered message whose payload (got bytes) is in payload */
static void deliver(struct rstate *st, const struct bcast_message *m, const uint8_t *payload,
                    ssize_t got)
{
    uint64_t seq = bcast_message_user_defined(m);
    int hb = (bcast_message_flags(m) & BCAST_HEARTBEAT) != 0;
    size_t len = hb ? 0 : seq_len(seq, st->sh->maxlen);

    if (seq >= st->sh->count)
        report(st, "sequence number out of range", seq);
    else if (hb != seq_is_heartbeat(seq) || (bcast_message_flags(m) & ~BCAST_HEARTBEAT))
        report(st, "wrong flags", seq);
    else if (got != (ssize_t)len || bcast_message_len(m) != len)
        report(st, "wrong length", seq);
    else if (seq_check(seq, payload, len) != len)
        report(st, "torn payload", seq);
    else if ((int64_t)seq <= st->last)
        report(st, "sequence number went back", seq);
    else if (!st->overrun && (int64_t)seq != st->last + 1)
        report(st, "message lost without an overrun", seq);
    st->last = (int64_t)seq;
    st->overrun = 0;
    st->delivered++;
    st->heartbeats += hb;
}

static void overrun(struct rstate *st)
{
    st->overruns++;
    st->overrun = 1;
    if (bcast_reader_reset(st->r) != 0)
        report(st, "reset failed", 0);
}

static void publish(struct rstate *st)
{
    atomic_store_explicit(&st->sh->rpos[st->idx], bcast_reader_position(st->r),
                          memory_order_release);
}

struct poll_ctx {
    struct rstate *st;
    int lost;
};

static int poll_handler(const struct bcast_message *m, void *ctx)
{
    struct poll_ctx *p = ctx;
    ssize_t n = bcast_message_read(m, p->st->buf, p->st->bufcap);

    if (n == -ENOBUFS) {
        p->lost = 1;
        return 1;
    }
    deliver(p->st, m, p->st->buf, n);
    return 0;
}

/* one read of the reader's kind: >= 0 progress, -EAGAIN nothing, other: failure */
static int read_some(struct rstate *st, struct bcast_message *m)
{
    ssize_t n;

    switch (st->mode) {
    case C_NEXT:
        n = bcast_reader_next(st->r, m);
        if (n == 0) {
            n = bcast_message_read(m, st->buf, st->bufcap);
            if (n >= 0)
                deliver(st, m, st->buf, n);
        }
        break;
    case C_RECEIVE:
        n = bcast_reader_receive(st->r, st->buf, st->bufcap, m);
        if (n >= 0)
            deliver(st, m, st->buf, n);
        break;
    case C_POLL: {
        struct poll_ctx p = {st, 0};
        n = bcast_reader_poll(st->r, poll_handler, &p, 64);
        if (p.lost)
            n = -ENOBUFS;
        else if (n == 0)
            n = -EAGAIN;
        break;
    }
    default: {
        uint64_t start;
        size_t off = 0;

        n = bcast_reader_read_bulk(st->r, st->buf, st->bufcap, &start);
        if (n > 0) {
            int rc;
            while ((rc = bcast_bulk_next(st->buf, (size_t)n, &off, start, m)) == 0)
                deliver(st, m, bcast_message_data(m), (ssize_t)bcast_message_len(m));
            if (rc != -EAGAIN)
                report(st, "bcast_bulk_next failed", (uint64_t)-rc);
        }
        break;
    }
    }
    if (n == -ENOBUFS) {
        overrun(st);
        return 0;
    }
    if (n < 0 && n != -EAGAIN) {
        report(st, bcast_strerror((int)n), 0);
        return (int)n;
    }
    return n < 0 ? (int)n : 0;
}

static void *reader_main(void *arg)
{
    struct rstate *st = arg;
    struct bcast_message *m = bcast_message_new();
    unsigned idle = 0;

    pin_to(st->sh->cpu_reader);
    pthread_barrier_wait(&st->sh->go);
    if (!m) {
        report(st, "no message", 0);
        return NULL;
    }
    for (;;) {
        int done = atomic_load_explicit(&st->sh->done, memory_order_acquire);
        int rc = read_some(st, m);

        publish(st);
        if (rc == -EAGAIN) {
            if (done)
                break; /* the writer had finished before this read found nothing */
            if (++idle % 64 == 0)
                sched_yield();
        } else if (rc < 0) {
            break;
        } else {
            idle = 0;
        }
    }
    if (bcast_reader_position(st->r) != hdr_producer(&st->sh->c))
        report(st, "did not end at the producer", bcast_reader_position(st->r));
    bcast_message_free(m);
    return NULL;
}

/* with the throttle: the frontier after this frame must not pass any reader */
static void wait_for_readers(struct shared *sh, size_t len)
{
    const uint64_t cap = sh->c.cap;
    uint64_t pos = bcast_writer_position(sh->w), flen = frame_len(len);
    uint64_t end = frame_place(pos, flen, cap) + flen, claimed = hdr_claimed(&sh->c);

    if ((int64_t)(end - claimed) > 0)
        claimed = end + default_reserve(cap);
    for (int i = 0; i < NREADERS; i++)
        for (unsigned n = 1; claimed - atomic_load_explicit(&sh->rpos[i], memory_order_acquire) > cap; n++)
            if (n % 64 == 0)
                sched_yield();
}

static void *writer_main(void *arg)
{
    struct shared *sh = arg;
    uint8_t *buf = malloc(sh->maxlen + 1);

    pin_to(sh->cpu_writer);
    pthread_barrier_wait(&sh->go);
    for (uint64_t seq = 0; buf && seq < sh->count; seq++) {
        int hb = seq_is_heartbeat(seq);
        size_t len = hb ? 0 : seq_len(seq, sh->maxlen);
        void *p;
        int rc;

        if (seq % 37 == 0) { /* an aborted claim now and then: padding for the readers */
            if (sh->throttle)
                wait_for_readers(sh, len);
            if (bcast_writer_claim(sh->w, len, 0, 0, &p) != 0 || bcast_writer_abort(sh->w) != 0)
                break;
        }
        if (sh->throttle)
            wait_for_readers(sh, len);
        if (hb) {
            rc = bcast_writer_heartbeat(sh->w, (uint32_t)seq);
        } else if (seq & 1) {
            seq_fill(seq, buf, len);
            rc = bcast_writer_send(sh->w, buf, len, (uint32_t)seq, 0);
        } else if ((rc = bcast_writer_claim(sh->w, len, (uint32_t)seq, 0, &p)) == 0) {
            seq_fill(seq, p, len);
            rc = bcast_writer_commit(sh->w);
        }
        if (rc != 0)
            break;
    }
    atomic_store_explicit(&sh->done, 1, memory_order_release);
    free(buf);
    return NULL;
}

/* the first two CPUs this process may run on; -1 for none */
static void pick_cpus(int *writer, int *reader)
{
    *writer = cpu_nth(0);
    *reader = cpu_nth(1);
    if (*reader == *writer) /* one CPU: leave the scheduler to it */
        *writer = *reader = -1;
}

static void run_case(size_t cap, size_t maxlen, enum cmode mode, uint64_t count, int throttle)
{
    struct shared sh;
    struct rstate st[NREADERS];
    pthread_t wt, rt[NREADERS];

    memset(&sh, 0, sizeof sh);
    sh.c = chan_alloc(cap, 0);
    sh.w = chan_writer(&sh.c);
    sh.count = count;
    sh.maxlen = maxlen;
    sh.throttle = throttle;
    pick_cpus(&sh.cpu_writer, &sh.cpu_reader);
    ck_assert_int_eq(pthread_barrier_init(&sh.go, NULL, NREADERS + 1), 0);
    for (int i = 0; i < NREADERS; i++) {
        memset(&st[i], 0, sizeof st[i]);
        st[i].sh = &sh;
        st[i].idx = i;
        st[i].mode = mode;
        st[i].last = -1;
        st[i].r = chan_reader(&sh.c);
        /* bulk windows of capacity/2 always hold the next frame */
        st[i].bufcap = mode == C_BULK ? cap / 2 : bcast_reader_mtu(st[i].r);
        st[i].buf = malloc(st[i].bufcap);
        ck_assert_ptr_nonnull(st[i].buf);
        ck_assert_int_eq(pthread_create(&rt[i], NULL, reader_main, &st[i]), 0);
    }
    ck_assert_int_eq(pthread_create(&wt, NULL, writer_main, &sh), 0);
    ck_assert_int_eq(pthread_join(wt, NULL), 0);
    for (int i = 0; i < NREADERS; i++)
        ck_assert_int_eq(pthread_join(rt[i], NULL), 0);

    ck_assert_uint_eq(bcast_writer_position(sh.w), hdr_producer(&sh.c));
    for (int i = 0; i < NREADERS; i++) {
        printf("%zu B ring, %s, %s: reader %d got %llu of %llu (%llu heartbeats), "
               "%llu overruns\n",
               cap, mode_names[mode], throttle ? "held back" : "free", i,
               (unsigned long long)st[i].delivered, (unsigned long long)count,
               (unsigned long long)st[i].heartbeats, (unsigned long long)st[i].overruns);
        ck_assert_msg(st[i].failures == 0, "%llu failures, the first: %s",
                      (unsigned long long)st[i].failures, st[i].first_failure);
        if (throttle) {
            ck_assert_uint_eq(st[i].overruns, 0);
            ck_assert_uint_eq(st[i].delivered, count);
            ck_assert_int_eq(st[i].last, (int64_t)count - 1);
        }
        bcast_reader_close(st[i].r);
        free(st[i].buf);
    }
    fflush(stdout);
    pthread_barrier_destroy(&sh.go);
    bcast_writer_close(sh.w);
    chan_free(&sh.c);
}

/*
 * _i = ring * C_MODES + mode.  Payloads stay under (capacity - reserve)/2
 * so that a writer held back for a reader that read everything can always
 * go on (a lap-end padding frame, the frame and the reserve fit in a lap).
 */
static const struct {
    size_t cap, maxlen;
    uint64_t free_count, held_count;
} rings[] = {
    {1024, 400, 150000, 20000},
    {4096, 1000, 150000, 20000},
    {65536, 2000, 100000, 20000},
};

START_TEST(test_concurrent)
{
    size_t ring = (size_t)_i / C_MODES;
    enum cmode mode = (enum cmode)(_i % C_MODES);

    uint64_t scale = RUNNING_ON_VALGRIND ? 50 : UNDER_TSAN ? 20 : 1;

    run_case(rings[ring].cap, rings[ring].maxlen, mode, rings[ring].free_count / scale, 0);
    run_case(rings[ring].cap, rings[ring].maxlen, mode, rings[ring].held_count / scale, 1);
}
END_TEST

SUITE(concurrency)
{
    TCase *tc = suite_case(s, "threads", 120);

    tcase_add_loop_test(tc, test_concurrent, 0, (int)(sizeof rings / sizeof rings[0]) * C_MODES);
}
