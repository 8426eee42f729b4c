/*
 * check_stress: torture the ring.  One writer publishes variable-length
 * messages as fast as it can; readers on another CPU read them through every
 * read path and verify every message they are handed as good.  A reader must
 * never get a torn or foreign message: the length, every payload byte and
 * user_defined are functions of the sequence number carried in the first 8
 * payload bytes, and sequence numbers must strictly increase.  Small rings
 * must actually lap the readers (overruns > 0), which then reset and go on.
 *
 * STRESS_SECONDS (environment): the run time of the whole suite, shared
 * equally by its cases; the default is one second per case.  A case runs at
 * least that long and then until every reader has made progress (delivered
 * messages and, on the small rings, been overrun); it is never judged on
 * speed.  `make check-stress STRESS_SECONDS=600` runs a long one.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "test-dirs.h"
#include "core-helpers.h"
#include "cpus.h"

#include <bcast.h>
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN_DELIVERED 1000 /* per reader, before a case may end */
#define HB_USER 0xbeefcafeu
#define K1 0x9e3779b97f4a7c15ull
#define K2 0xbf58476d1ce4e5b9ull

/* ---------------------------------------------------------------- */
/* the message stream: everything is a function of the sequence number */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* payload length of message seq: 8..1024 mostly, 1 in 64 up to the MTU */
static size_t msg_len(uint64_t seq, size_t mtu)
{
    uint64_t h = mix64(seq);
    size_t span = mtu < 1024 ? mtu : 1024;

    if (((h >> 40) & 63) == 0)
        span = mtu;
    return 8 + (size_t)(h % (span - 8 + 1));
}

static uint32_t msg_user(uint64_t seq)
{
    return (uint32_t)(mix64(seq ^ 0x5eed) >> 32);
}

/* payload word k is seq for k == 0, (seq * K1) ^ (k * K2) after it: any
   mixture of two messages differs from both in some word */
static void stress_fill(uint8_t *p, uint64_t seq, size_t len)
{
    uint64_t base = seq * K1, kk = K2, w;
    size_t i;

    memcpy(p, &seq, 8);
    for (i = 8; i + 8 <= len; i += 8, kk += K2) {
        w = base ^ kk;
        memcpy(p + i, &w, 8);
    }
    if (i < len) {
        w = base ^ kk;
        memcpy(p + i, &w, len - i);
    }
}

static int payload_ok(const uint8_t *p, uint64_t seq, size_t len)
{
    uint64_t base = seq * K1, kk = K2, w, v;
    size_t i;

    for (i = 8; i + 8 <= len; i += 8, kk += K2) {
        w = base ^ kk;
        memcpy(&v, p + i, 8);
        if (v != w)
            return 0;
    }
    if (i < len) {
        w = base ^ kk;
        if (memcmp(p + i, &w, len - i) != 0)
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- */
/* shared state of one case                                          */

enum path { PATH_RECEIVE, PATH_LAZY, PATH_POLL, PATH_BULK, NPATHS };
static const char *const path_name[NPATHS] = {"receive", "next+message_read", "poll",
                                              "read_bulk+bulk_next"};

struct stats {
    uint64_t delivered, torn, overruns, late_overruns, heartbeats, errors;
    uint64_t last_seq;
    int first_error;
    uint64_t torn_position, torn_seq;
    size_t torn_len;
};

struct reader_slot {
    enum path path;
    atomic_int satisfied; /* delivered enough (and was overrun, if required) */
    atomic_int done;      /* stats are final */
    struct stats st;
};

#define MAX_READERS 4

struct shared {
    atomic_int stop;
    atomic_int ready; /* the writer has created the channel */
    atomic_int failed;
    uint64_t sent;
    struct reader_slot slot[MAX_READERS];
};

struct ring_case {
    const char *name;
    size_t capacity;
    long reserve; /* -1: the default */
    int procs;    /* readers and writer are processes over a /dev/shm file */
    int solo;     /* one reader, on path solo - 1 */
};

static const struct ring_case cases[] = {
    {"threads", 1024, -1, 0, 0},
    {"threads", 4096, 0, 0, 0},
    {"threads", 65536, -1, 0, 0},
    {"solo", 1024, -1, 0, 1 + PATH_RECEIVE},
    {"solo", 1024, -1, 0, 1 + PATH_LAZY},
    {"solo", 1024, -1, 0, 1 + PATH_POLL},
    {"solo", 1024, -1, 0, 1 + PATH_BULK},
    {"processes", 1024, -1, 1, 0},
    {"processes", 4096, 0, 1, 0},
    {"processes", 65536, -1, 1, 0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static double case_seconds(void)
{
    const char *s = getenv("STRESS_SECONDS");
    double total;

    if (!s || !*s)
        return 1.0;
    total = strtod(s, NULL);
    if (!(total > 0))
        return 1.0;
    return total / NCASES < 0.05 ? 0.05 : total / NCASES;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* ---------------------------------------------------------------- */
/* writer                                                            */

static void writer_run(struct bcast_writer *w, struct shared *sh)
{
    size_t mtu = bcast_writer_mtu(w);
    uint8_t *buf = malloc(mtu);
    uint64_t seq;
    void *p;
    int rc = 0;

    if (!buf) {
        atomic_store(&sh->failed, 1);
        return;
    }
    for (seq = 1; !atomic_load_explicit(&sh->stop, memory_order_relaxed); seq++) {
        size_t len = msg_len(seq, mtu);
        uint32_t user = msg_user(seq);
        unsigned kind = (unsigned)(mix64(seq * 3 + 1) & 31);

        if (kind == 0) {
            /* an aborted claim carrying seq: readers must never see it, and if
               they did, the real seq below would not be strictly increasing */
            if ((rc = bcast_writer_claim(w, len, user, 0, &p)) < 0)
                break;
            stress_fill(p, seq, len);
            if ((rc = bcast_writer_abort(w)) < 0)
                break;
        } else if (kind == 1) {
            if ((rc = bcast_writer_heartbeat(w, HB_USER)) < 0)
                break;
        }
        if (kind < 8) {
            /* zero copy: the payload is written straight into the ring */
            if ((rc = bcast_writer_claim(w, len, user, 0, &p)) < 0)
                break;
            stress_fill(p, seq, len);
            rc = bcast_writer_commit(w);
        } else {
            stress_fill(buf, seq, len);
            rc = bcast_writer_send(w, buf, len, user, 0);
        }
        if (rc < 0)
            break;
        /* flat out, except for one stretch of 1024 messages in 16 where the
           writer yields after each: readers then catch up and read at its
           heels, and where threads take turns (valgrind) they get a turn */
        if (((seq >> 10) & 15) == 15)
            sched_yield();
    }
    if (rc < 0) {
        fprintf(stderr, "stress writer: %s\n", bcast_strerror(rc));
        atomic_store(&sh->failed, 1);
    }
    sh->sent = seq - 1;
    free(buf);
}

/* ---------------------------------------------------------------- */
/* readers                                                           */

static void note_error(struct stats *st, int rc)
{
    if (!st->errors++)
        st->first_error = rc;
}

static void verify(struct stats *st, const void *data, ssize_t n, const struct bcast_message *m,
                   size_t mtu)
{
    uint32_t user = bcast_message_user_defined(m);
    int flags = bcast_message_flags(m);
    uint64_t seq;

    if (flags == BCAST_HEARTBEAT && n == 0 && user == HB_USER) {
        st->heartbeats++;
        return;
    }
    if (flags != 0 || n < 8)
        goto torn;
    memcpy(&seq, data, 8);
    if (seq <= st->last_seq || seq > st->last_seq + (1ull << 40) ||
        msg_len(seq, mtu) != (size_t)n || msg_user(seq) != user ||
        !payload_ok(data, seq, (size_t)n))
        goto torn;
    st->last_seq = seq;
    st->delivered++;
    return;
torn:
    if (!st->torn++) {
        st->torn_position = bcast_message_position(m);
        st->torn_len = (size_t)n;
        st->torn_seq = 0;
        if (n >= 8)
            memcpy(&st->torn_seq, data, 8);
    }
}

struct poll_ctx {
    struct stats *st;
    uint8_t *buf;
    size_t mtu;
    int overrun;
};

static int poll_handler(const struct bcast_message *m, void *ctx)
{
    struct poll_ctx *pc = ctx;
    ssize_t n = bcast_message_read(m, pc->buf, pc->mtu);

    if (n >= 0) {
        verify(pc->st, pc->buf, n, m, pc->mtu);
        return 0;
    }
    if (n == -ENOBUFS) {
        pc->overrun = 1;
        pc->st->late_overruns++;
    } else {
        note_error(pc->st, (int)n);
    }
    return 1;
}

static void overrun(struct bcast_reader *r, struct stats *st)
{
    st->overruns++;
    if (bcast_reader_reset(r) < 0)
        note_error(st, -EINVAL);
}

static void reader_run(struct bcast_reader *r, struct shared *sh, struct reader_slot *slot,
                       int need_overrun)
{
    struct stats *st = &slot->st;
    size_t mtu = bcast_reader_mtu(r), capacity = bcast_reader_capacity(r);
    /* read_bulk gets twice the ring: a lapped reader then sees more than a
       ring's worth pending, and the window must still stay inside the ring */
    size_t bulk_cap = 2 * capacity;
    uint8_t *buf = malloc(mtu), *bulk = malloc(bulk_cap);
    struct bcast_message *m = bcast_message_new();
    struct poll_ctx pc = {st, buf, mtu, 0};
    unsigned idle = 0;

    if (!buf || !bulk || !m) {
        note_error(st, -ENOMEM);
        goto out;
    }
    while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
        uint64_t seen = st->delivered + st->heartbeats + st->overruns;
        ssize_t n;
        int rc;

        switch (slot->path) {
        case PATH_RECEIVE:
            n = bcast_reader_receive(r, buf, mtu, m);
            if (n >= 0)
                verify(st, buf, n, m, mtu);
            else if (n == -ENOBUFS)
                overrun(r, st);
            else if (n != -EAGAIN)
                note_error(st, (int)n);
            break;
        case PATH_LAZY:
            rc = bcast_reader_next(r, m);
            if (rc == 0) {
                n = bcast_message_read(m, buf, mtu);
                if (n >= 0) {
                    verify(st, buf, n, m, mtu);
                } else if (n == -ENOBUFS) {
                    st->late_overruns++; /* overwritten after next() handed it */
                    overrun(r, st);
                } else {
                    note_error(st, (int)n);
                }
            } else if (rc == -ENOBUFS) {
                overrun(r, st);
            } else if (rc != -EAGAIN) {
                note_error(st, rc);
            }
            break;
        case PATH_POLL:
            pc.overrun = 0;
            rc = bcast_reader_poll(r, poll_handler, &pc, 64);
            if (pc.overrun || rc == -ENOBUFS)
                overrun(r, st);
            else if (rc < 0)
                note_error(st, rc);
            break;
        case PATH_BULK: {
            uint64_t start = 0;
            size_t off = 0;

            n = bcast_reader_read_bulk(r, bulk, bulk_cap, &start);
            if (n > 0) {
                while ((rc = bcast_bulk_next(bulk, (size_t)n, &off, start, m)) == 0)
                    verify(st, bcast_message_data(m), (ssize_t)bcast_message_len(m), m, mtu);
                if (rc != -EAGAIN)
                    note_error(st, rc);
            } else if (n == -ENOBUFS) {
                overrun(r, st);
            } else if (n != -EAGAIN) {
                note_error(st, (int)n);
            }
            break;
        }
        default:
            note_error(st, -EINVAL);
            goto out;
        }
        if (!atomic_load_explicit(&slot->satisfied, memory_order_relaxed) &&
            st->delivered >= MIN_DELIVERED && (st->overruns > 0 || !need_overrun))
            atomic_store(&slot->satisfied, 1);
        if (st->errors || st->torn)
            atomic_store(&slot->satisfied, 1); /* end the case: it has failed */
        /* idle: spin a little, then let the other readers (or, where
           threads take turns as under valgrind, the writer) run */
        if (seen != st->delivered + st->heartbeats + st->overruns)
            idle = 0;
        else if (++idle % 64 == 0)
            sched_yield();
        else
            cpu_relax();
    }
out:
    bcast_message_free(m);
    free(bulk);
    free(buf);
    atomic_store(&slot->done, 1);
}

/* ---------------------------------------------------------------- */
/* running a case                                                    */

struct thread_arg {
    struct shared *sh;
    const void *mem;
    size_t size;
    struct bcast_writer *w;
    int slot, cpu, need_overrun;
};

static void *writer_thread(void *p)
{
    struct thread_arg *a = p;

    pin_to(a->cpu);
    writer_run(a->w, a->sh);
    return NULL;
}

static void *reader_thread(void *p)
{
    struct thread_arg *a = p;
    struct bcast_reader *r;
    int rc;

    pin_to(a->cpu);
    if ((rc = bcast_reader_open(a->mem, a->size, &r)) < 0) {
        note_error(&a->sh->slot[a->slot].st, rc);
        atomic_store(&a->sh->slot[a->slot].satisfied, 1);
        atomic_store(&a->sh->slot[a->slot].done, 1);
        return NULL;
    }
    reader_run(r, a->sh, &a->sh->slot[a->slot], a->need_overrun);
    bcast_reader_close(r);
    return NULL;
}

/* wait at least secs, then until every reader is satisfied; 0, or -1 when
   a child process ended early */
static int wait_case(struct shared *sh, int nreaders, double secs, const pid_t *pids, int npids)
{
    double end = now() + secs;

    for (;;) {
        int i, all = 1;

        for (i = 0; i < npids; i++) {
            int status;
            if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                fprintf(stderr, "stress: child %d ended early (status 0x%x)\n", (int)pids[i],
                        status);
                return -1;
            }
        }
        if (atomic_load(&sh->failed))
            return -1;
        for (i = 0; i < nreaders; i++)
            all &= atomic_load(&sh->slot[i].satisfied);
        if (all && now() >= end)
            return 0;
        usleep(10000);
    }
}

static void run_threads(const struct ring_case *c, struct shared *sh, int nreaders, double secs)
{
    size_t size = bcast_channel_size(c->capacity);
    void *mem = aligned_alloc(BCAST_ALIGNMENT, size);
    struct thread_arg wa, ra[MAX_READERS];
    pthread_t wt, rt[MAX_READERS];
    struct bcast_writer *w;
    int i;

    ck_assert_ptr_nonnull(mem);
    ck_assert_int_eq(bcast_writer_create(mem, size, "stress", 6, &w), 0);
    if (c->reserve >= 0)
        ck_assert_int_eq(bcast_writer_set_reserve(w, (size_t)c->reserve), 0);
    for (i = 0; i < nreaders; i++) {
        ra[i] = (struct thread_arg){sh, mem, size, NULL, i, cpu_nth(1), c->capacity < 65536};
        ck_assert_int_eq(pthread_create(&rt[i], NULL, reader_thread, &ra[i]), 0);
    }
    wa = (struct thread_arg){sh, mem, size, w, -1, cpu_nth(0), 0};
    ck_assert_int_eq(pthread_create(&wt, NULL, writer_thread, &wa), 0);
    ck_assert_int_eq(wait_case(sh, nreaders, secs, NULL, 0), 0);
    atomic_store(&sh->stop, 1);
    pthread_join(wt, NULL);
    for (i = 0; i < nreaders; i++)
        pthread_join(rt[i], NULL);
    bcast_writer_close(w);
    free(mem);
}

static void run_processes(const struct ring_case *c, struct shared *sh, int nreaders, double secs)
{
    const char *path = tpath("chan"); /* removed with tdir after the test */
    pid_t pids[1 + MAX_READERS];
    int i, ok;

    fflush(NULL);
    pids[0] = fork();
    ck_assert_int_ge(pids[0], 0);
    if (pids[0] == 0) { /* writer process */
        struct bcast_writer *w;
        int rc;

        pin_to(cpu_nth(0));
        if ((rc = bcast_writer_create_file(path, c->capacity, 0, &w)) < 0 ||
            (c->reserve >= 0 && (rc = bcast_writer_set_reserve(w, (size_t)c->reserve)) < 0)) {
            fprintf(stderr, "stress writer: %s\n", bcast_strerror(rc));
            _exit(2);
        }
        atomic_store(&sh->ready, 1);
        writer_run(w, sh);
        bcast_writer_close(w);
        _exit(atomic_load(&sh->failed) ? 3 : 0);
    }
    while (!atomic_load(&sh->ready)) {
        int status;
        ck_assert_msg(waitpid(pids[0], &status, WNOHANG) == 0, "writer process failed");
        usleep(1000);
    }
    for (i = 0; i < nreaders; i++) {
        pids[1 + i] = fork();
        ck_assert_int_ge(pids[1 + i], 0);
        if (pids[1 + i] == 0) { /* reader process */
            struct bcast_reader *r;
            int rc;

            pin_to(cpu_nth(1));
            if ((rc = bcast_reader_open_file(path, 0, &r)) < 0) {
                fprintf(stderr, "stress reader: %s\n", bcast_strerror(rc));
                _exit(2);
            }
            reader_run(r, sh, &sh->slot[i], c->capacity < 65536);
            bcast_reader_close(r);
            _exit(0);
        }
    }
    ok = wait_case(sh, nreaders, secs, pids, 1 + nreaders) == 0;
    atomic_store(&sh->stop, 1);
    for (i = 0; i < 1 + nreaders; i++) {
        int status = 0;
        if (waitpid(pids[i], &status, 0) == pids[i] &&
            !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "stress: %s process %d failed (status 0x%x)\n",
                    i ? "reader" : "writer", (int)pids[i], status);
            ok = 0;
        }
    }
    ck_assert_msg(ok, "a stress process failed");
}

START_TEST(test_torture)
{
    const struct ring_case *c = &cases[_i];
    int nreaders = c->solo ? 1 : NPATHS, i;
    int need_overrun = c->capacity < 65536;
    double secs = case_seconds(), t0 = now();
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    ck_assert_ptr_ne(sh, MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    for (i = 0; i < nreaders; i++)
        sh->slot[i].path = c->solo ? (enum path)(c->solo - 1) : (enum path)i;

    if (c->procs)
        run_processes(c, sh, nreaders, secs);
    else
        run_threads(c, sh, nreaders, secs);

    printf("stress %-9s capacity %6zu reserve %-7s writer cpu %d, readers cpu %d: "
           "%llu sent in %.1f s\n",
           c->name, c->capacity, c->reserve < 0 ? "default" : "0", cpu_nth(0), cpu_nth(1),
           (unsigned long long)sh->sent, now() - t0);
    for (i = 0; i < nreaders; i++) {
        const struct stats *st = &sh->slot[i].st;
        printf("  %-20s delivered %10llu  torn %llu  overruns %8llu  heartbeats %8llu"
               "  errors %llu",
               path_name[sh->slot[i].path], (unsigned long long)st->delivered,
               (unsigned long long)st->torn, (unsigned long long)st->overruns,
               (unsigned long long)st->heartbeats, (unsigned long long)st->errors);
        if (sh->slot[i].path == PATH_LAZY || sh->slot[i].path == PATH_POLL)
            printf("  (overruns found by message_read after next: %llu)",
                   (unsigned long long)st->late_overruns);
        printf("\n");
        if (st->torn)
            printf("  first torn message: position %llu, length %zu, seq %llu\n",
                   (unsigned long long)st->torn_position, st->torn_len,
                   (unsigned long long)st->torn_seq);
    }
    fflush(stdout);
    for (i = 0; i < nreaders; i++) {
        const struct stats *st = &sh->slot[i].st;
        ck_assert_msg(atomic_load(&sh->slot[i].done), "reader %d did not finish", i);
        ck_assert_msg(st->torn == 0, "%s: %llu torn messages handed as good",
                      path_name[sh->slot[i].path], (unsigned long long)st->torn);
        ck_assert_msg(st->errors == 0, "%s: %llu unexpected errors, first %s",
                      path_name[sh->slot[i].path], (unsigned long long)st->errors,
                      bcast_strerror(st->first_error));
        ck_assert_uint_ge(st->delivered, MIN_DELIVERED);
        if (need_overrun)
            ck_assert_msg(st->overruns > 0, "%s was never overrun", path_name[sh->slot[i].path]);
    }
    munmap(sh, sizeof *sh);
}
END_TEST

/* the stream itself: a message mixed from two sequence numbers is caught.
   41 and 42 fill words that differ in every byte, so a cut anywhere leaves
   a difference in the last word whichever byte order the host stores words
   in (41 and 41 + 1024 fill words whose low bytes agree: on a big-endian
   host, where the low byte comes last, a cut before the payload's last
   byte went unseen) */
START_TEST(test_stream_detects_mixtures)
{
    uint8_t a[1024], b[1024], mix[1024];
    size_t cut;

    stress_fill(a, 41, sizeof a);
    stress_fill(b, 42, sizeof b);
    ck_assert(payload_ok(a, 41, sizeof a));
    ck_assert(payload_ok(b, 42, sizeof b));
    for (cut = 8; cut < sizeof a; cut++)
        ck_assert_uint_ne(a[cut], b[cut]);
    for (cut = 9; cut < sizeof a; cut++) {
        memcpy(mix, a, cut);
        memcpy(mix + cut, b + cut, sizeof mix - cut);
        ck_assert(!payload_ok(mix, 41, sizeof mix));
    }
    ck_assert_uint_ge(msg_len(7, 504), 8);
    ck_assert_uint_le(msg_len(7, 504), 504);
}
END_TEST

/* ---------------------------------------------------------------- */
/* channels that end at an inaccessible page: a read past the ring faults */

static void send_bytes(struct bcast_writer *w, uint64_t total)
{
    static uint8_t payload[200];
    uint64_t seq;

    for (seq = 1; bcast_writer_position(w) < total; seq++) {
        stress_fill(payload, seq, sizeof payload);
        ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, msg_user(seq), 0), 0);
    }
}

/* a reader lapped more than once, with a bulk buffer larger than the ring */
START_TEST(test_bulk_lapped_stays_in_ring)
{
    size_t capacity = 1024, bufcap = 4 * capacity;
    struct chan c = chan_alloc_guarded(capacity, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r = chan_reader(&c);
    uint8_t *buf = malloc(bufcap);
    uint64_t start = 0;

    ck_assert_ptr_nonnull(buf);
    send_bytes(w, 3 * capacity + 512);
    ck_assert_int_eq(bcast_reader_read_bulk(r, buf, bufcap, &start), -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_int_eq(bcast_reader_read_bulk(r, buf, bufcap, &start), -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(w);
    chan_free_guarded(&c);
    free(buf);
}
END_TEST

/*
 * Corrupt memory: the producer position turns up not 8-aligned after the
 * reader was opened (header_check saw it aligned).  A reset to it must not
 * make the reader load a frame header across the end of the ring.
 */
START_TEST(test_unaligned_producer_after_open)
{
    size_t capacity = 1024;
    struct chan c = chan_alloc_guarded(capacity, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    uint64_t bad = 2 * capacity - 4, start;
    uint8_t buf[1024];
    ssize_t n;

    ck_assert_ptr_nonnull(m);
    send_bytes(w, capacity + 256);
    r = chan_reader(&c);
    bcast_writer_close(w);
    /* what a foreign or broken writer might leave: producer and claimed
       4 bytes short of the end of a lap */
    put64(c.mem + OFF_PRODUCER, bad);
    put64(c.mem + OFF_CLAIMED, bad);
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_uint_eq(bcast_reader_position(r) & 7, 0);
    ck_assert_int_eq(bcast_reader_next(r, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_skip(r), -EBADMSG);
    n = bcast_reader_read_bulk(r, buf, sizeof buf, &start);
    ck_assert_int_eq(n, -EBADMSG);
    bcast_reader_close(r);
    /* the same through a reader opened while the position is wrong */
    ck_assert_int_eq(bcast_reader_open(c.mem, c.size, &r), -EPROTO);
    ck_assert_int_eq(bcast_reader_open_last_lap(c.mem, c.size, &r), -EPROTO);
    bcast_message_free(m);
    chan_free_guarded(&c);
}
END_TEST

SUITE(stress)
{
    TCase *tc = suite_case(s, "stream", 0);
    double secs = case_seconds();

    tcase_add_test(tc, test_stream_detects_mixtures);

    tc = suite_case(s, "bounds", 0);
    tcase_add_test(tc, test_bulk_lapped_stays_in_ring);
    tcase_add_test(tc, test_unaligned_producer_after_open);

    /* the case runs secs, then until every reader made progress */
    tc = suite_case(s, "torture", secs * 4 + 120);
    test_dirs(tc, "check-stress"); /* the channel files of the process cases */
    tcase_add_loop_test(tc, test_torture, 0, NCASES);
}
