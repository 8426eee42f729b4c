/*
 * The other ends of bcast-bridge in tests/bridge.test and
 * tools/bridge-bench.sh: it writes the source channel and reads the far one
 * in the same process, so it knows exactly what was sent and what arrived.
 *
 *   bridge-peer verify SRC FAR N SEED
 *       N frames of random sizes up to the MTU, with user_defined values,
 *       fragment trains and heartbeats (some inside trains); every frame
 *       that reaches FAR is compared byte for byte, in order.  A window
 *       keeps the frames in flight well inside the rings and the high-water
 *       marks, so nothing may be lost: any difference fails.
 *   bridge-peer loss SRC FAR ENDPOINT SUBPID PUBPID
 *       stops the subscriber (SIGSTOP) and sends more than the sockets can
 *       hold, so ZeroMQ drops at its high-water mark; resumes it; then stops
 *       the publisher and overruns its reader.  Prints what did not arrive
 *       as one JSON line for the script to compare with the subscriber's
 *       --stats.
 *   bridge-peer resume SRC FAR N
 *       N small frames after a probe: what arrived, as JSON.
 *   bridge-peer foreign ENDPOINT ERRFILE
 *       a ZeroMQ PUB that sends messages that are not bridge messages until
 *       ERRFILE (a subscriber's stderr) reports both kinds.
 *   bridge-peer raw-pub ENDPOINT N SIZE RATE / raw-sub ENDPOINT N
 *   bridge-peer bench-src SRC N SIZE RATE / bench-far FAR N
 *       the measurement: N timestamped SIZE-byte messages, RATE per second
 *       (0: as fast as possible), over raw ZeroMQ or through the bridge;
 *       the receiving side prints messages/s and latency p50/p99 as JSON.
 *
 * Every wait is bounded (30 s without progress, times
 * CK_TIMEOUT_MULTIPLIER) and ends the program with status 1.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <bcast.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bridge-wire.h"

#define PROBE_UD 0xFFFFFFFEu
#define FILLER_UD 0xFFFFFFFDu

static const char *me = "bridge-peer";

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t deadline_ns(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    long mult = m ? atol(m) : 1;

    return 30000000000ull * (uint64_t)(mult > 0 ? mult : 1);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "%s: %s: %s\n", me, what, err ? bcast_strerror(err) : "failed");
    exit(1);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void fill(unsigned char *p, size_t n, uint64_t key)
{
    uint64_t s = key * 0x9E3779B97F4A7C15ull + 1;

    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0)
            rng_next(&s);
        p[i] = (unsigned char)(s >> (8 * (i & 7)));
    }
}

static struct bcast_reader *open_far(const char *far)
{
    struct bcast_reader *r;
    uint64_t end = now_ns() + deadline_ns();
    int rc;

    /* the subscriber creates it */
    while ((rc = bcast_reader_open_file(far, 0, &r)) < 0) {
        if (now_ns() > end)
            die(far, rc);
        usleep(10000);
    }
    return r;
}

/* one frame of FAR into buf, waiting at most the deadline; 0 or die */
static ssize_t far_next(struct bcast_reader *r, void *buf, size_t cap, struct bcast_message *m,
                        int wait)
{
    uint64_t end = now_ns() + deadline_ns();

    for (;;) {
        ssize_t n = bcast_reader_receive(r, buf, cap, m);

        if (n >= 0)
            return n;
        if (n == -ENOBUFS)
            die("the far channel overran its reader", (int)n);
        if (n != -EAGAIN)
            die("far channel", (int)n);
        if (!wait)
            return -EAGAIN;
        if (now_ns() > end)
            die("nothing arrived in the far channel for 30 s", 0);
        bcast_reader_wait(r, 10000000);
    }
}

static int is_gap_notice(struct bcast_message *m, const unsigned char *p, size_t n)
{
    return (bcast_message_flags(m) & BCAST_HEARTBEAT) &&
           bcast_message_user_defined(m) == BRIDGE_GAP_USER_DEFINED && n == BRIDGE_GAP_SIZE &&
           memcmp(p, BRIDGE_GAP_MAGIC, 8) == 0;
}

struct gap_sum {
    uint64_t notices, lost, lost_bytes, overruns;
};

static void add_gap(struct gap_sum *g, const unsigned char *p)
{
    g->notices++;
    g->lost += bridge_get64(p + 16);
    g->lost_bytes += bridge_get64(p + 24);
    g->overruns += bridge_get64(p + 32);
}

/* heartbeats with PROBE_UD, numbered from 0, every 10 ms until one shows
   in FAR; the number sent.  Frames found in FAR meanwhile go to fn.  ZeroMQ
   keeps the order, so the probes before the one that showed first are the
   ones lost: their number goes to *lost. */
static uint64_t probe(struct bcast_writer *w, struct bcast_reader *r, unsigned char *buf,
                      size_t cap, struct bcast_message *m,
                      void (*fn)(struct bcast_message *, unsigned char *, size_t, void *),
                      void *ctx, uint64_t *lost)
{
    static uint64_t round;
    uint64_t sent = 0, end = now_ns() + deadline_ns();
    unsigned char num[16];
    int rc;

    round++;
    for (;;) {
        ssize_t n;

        bridge_put64(num, round);
        bridge_put64(num + 8, sent);
        if ((rc = bcast_writer_send(w, num, sizeof num, PROBE_UD, BCAST_HEARTBEAT)) < 0)
            die("probe", rc);
        sent++;
        for (uint64_t until = now_ns() + 10000000; now_ns() < until;) {
            n = far_next(r, buf, cap, m, 0);
            if (n == -EAGAIN) {
                bcast_reader_wait(r, 1000000);
                continue;
            }
            if ((bcast_message_flags(m) & BCAST_HEARTBEAT) &&
                bcast_message_user_defined(m) == PROBE_UD) {
                if (n != 16 || bridge_get64(buf) != round)
                    continue; /* one of an earlier round */
                if (lost)
                    *lost = bridge_get64(buf + 8);
                return sent;
            }
            if (fn)
                fn(m, buf, (size_t)n, ctx);
        }
        if (now_ns() > end)
            die("no probe reached the far channel in 30 s", 0);
    }
}

/* ------------------------------------------------------------------------- */
/* verify                                                                      */

struct frame {
    uint32_t ud;
    int flags; /* as the far channel must show them */
    size_t len;
    uint64_t key;
};

/* the i-th frame of the stream of seed (state in *s, *train) */
static void gen(uint64_t *s, int *train, size_t mtu, struct frame *f, uint64_t i, uint64_t seed)
{
    uint64_t x = rng_next(s), pick = x % 100;

    f->key = seed ^ (i * 0x100000001b3ull);
    f->ud = (uint32_t)(rng_next(s) % 5);
    if (pick < 5) {
        f->flags = BCAST_HEARTBEAT;
        f->len = (size_t)(x >> 8) % 64;
        return;
    }
    if (pick < 90)
        f->len = (size_t)(x >> 8) % 257;
    else if (pick < 99)
        f->len = (size_t)(x >> 8) % 4097;
    else
        f->len = (size_t)(x >> 8) % (mtu + 1);
    if (*train) {
        /* in a train: go on (MORE) or end it */
        f->flags = BCAST_CONTINUATION | ((x >> 40) % 3 ? BCAST_MORE : 0);
        *train = !!(f->flags & BCAST_MORE);
    } else if ((x >> 40) % 10 == 0) {
        f->flags = BCAST_MORE;
        *train = 1;
    } else {
        f->flags = 0;
    }
}

static int run_verify(const char *src, const char *far, uint64_t n, uint64_t seed)
{
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    uint64_t gs = seed | 1, vs = seed | 1, sent = 0, got = 0, sent_bytes = 0, got_bytes = 0;
    uint64_t inflight_bytes = 0, start;
    int gtrain = 0, vtrain = 0, have_next = 0, rc;
    size_t mtu, cap, ring, reserve;
    unsigned char *out, *in, *want;
    struct frame f, v;

    if ((rc = bcast_writer_join_file(src, 0, &w)) < 0)
        die(src, rc);
    r = open_far(far);
    mtu = bcast_writer_mtu(w);
    cap = bcast_reader_mtu(r);
    if (cap < mtu)
        die("the far channel's MTU is smaller than the source's", 0);
    ring = bcast_writer_capacity(w);
    if (bcast_reader_capacity(r) < ring)
        die("the far channel is smaller than the source", 0);
    /* the default claim reserve, doubled (bcast_writer_set_reserve(3)) */
    for (reserve = 8; reserve < ring / 100; reserve *= 2) {
    }
    reserve *= 2;
    out = malloc(mtu);
    in = malloc(cap);
    want = malloc(mtu);
    if (!m || !out || !in || !want)
        die("malloc", -ENOMEM);
    probe(w, r, in, cap, m, NULL, NULL, NULL);
    start = now_ns();
    while (got < n) {
        /* send while the frames in flight (written, not yet in FAR) leave
           the publisher's reader a lap: at most 256 of them, and their
           bytes, the next frame's and the claim reserve within the ring.
           A frame that would not fit before the end of the ring is preceded
           by a heartbeat that fills it, so that no padding frame (whose
           bytes count too) ever comes between. */
        while (sent < n && sent - got < 256) {
            size_t room = ring - bcast_writer_position(w) % ring, fb;

            if (!have_next) {
                gen(&gs, &gtrain, mtu, &f, sent, seed);
                have_next = 1;
            }
            fb = 8 + ((f.len + 7) & ~(size_t)7);
            if (room < fb) {
                if (inflight_bytes + room + reserve > ring)
                    break;
                if ((rc = bcast_writer_send(w, out, room - 8, FILLER_UD, BCAST_HEARTBEAT)) < 0)
                    die("filler", rc);
                inflight_bytes += room;
                continue;
            }
            if (inflight_bytes + fb + reserve > ring)
                break;
            fill(out, f.len, f.key);
            rc = bcast_writer_send(w, out, f.len, f.ud, f.flags & (BCAST_MORE | BCAST_HEARTBEAT));
            if (rc < 0)
                die("send", rc);
            inflight_bytes += fb;
            sent_bytes += f.len;
            sent++;
            have_next = 0;
        }
        ssize_t k = far_next(r, in, cap, m, 1);
        if ((bcast_message_flags(m) & BCAST_HEARTBEAT) &&
            bcast_message_user_defined(m) == PROBE_UD)
            continue;
        if ((bcast_message_flags(m) & BCAST_HEARTBEAT) &&
            bcast_message_user_defined(m) == FILLER_UD) {
            inflight_bytes -= 8 + (((size_t)k + 7) & ~(size_t)7);
            continue;
        }
        if (is_gap_notice(m, in, (size_t)k))
            die("a gap notice in a run that must lose nothing", 0);
        gen(&vs, &vtrain, mtu, &v, got, seed);
        fill(want, v.len, v.key);
        if ((size_t)k != v.len || bcast_message_user_defined(m) != v.ud ||
            bcast_message_flags(m) != v.flags || memcmp(in, want, v.len) != 0) {
            fprintf(stderr, "%s: frame %" PRIu64 " differs: len %zd ud %u flags %d, "
                    "want len %zu ud %u flags %d\n", me, got, k, bcast_message_user_defined(m),
                    bcast_message_flags(m), v.len, v.ud, v.flags);
            return 1;
        }
        inflight_bytes -= 8 + ((v.len + 7) & ~(size_t)7);
        got_bytes += v.len;
        got++;
    }
    printf("{\"verified\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f}\n", got,
           got_bytes, (double)(now_ns() - start) / 1e9);
    if (sent_bytes != got_bytes)
        return 1;
    bcast_message_free(m);
    free(out);
    free(in);
    free(want);
    bcast_writer_close(w);
    bcast_reader_close(r);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* loss                                                                        */

/* phase A frames: payload = magic, index, then filler; trains of two */
#define A_MAGIC 0x41414141u
#define B_MAGIC 0x42424242u

struct loss_ctx {
    uint64_t a_frames_seen, b_frames_seen, whole, bad;
    int open;           /* a train is being gathered */
    uint64_t open_index; /* index of its first fragment */
    struct gap_sum g;
};

static void loss_frame(struct bcast_message *m, unsigned char *p, size_t n, void *vctx)
{
    struct loss_ctx *c = vctx;
    int f = bcast_message_flags(m);
    uint64_t idx;

    if (f & BCAST_HEARTBEAT) {
        if (is_gap_notice(m, p, n))
            add_gap(&c->g, p);
        return;
    }
    if (n < 12)
        return;
    idx = bridge_get64(p + 4);
    if (bridge_get32(p) == B_MAGIC) {
        c->b_frames_seen++;
        return;
    }
    if (bridge_get32(p) != A_MAGIC)
        return;
    c->a_frames_seen++;
    /* reassemble as a reader does (bcast_writer_send(3)) */
    if (!(f & BCAST_CONTINUATION)) {
        c->open = 0;
        if (f & BCAST_MORE) {
            c->open = 1;
            c->open_index = idx;
        } else {
            c->whole++;
        }
        return;
    }
    if (!c->open)
        return; /* no first fragment: dropped */
    if (idx != c->open_index + 1)
        c->bad++; /* a message put together from frames that do not belong together */
    c->open = 0;
    if (!(f & BCAST_MORE))
        c->whole++;
}

/* the beats of the publisher at endpoint, seen through a SUB of our own
   that subscribes to beats only (the publisher filters them for us) */
static void wait_forwarded(void *beats, uint64_t total_frames)
{
    uint64_t end = now_ns() + deadline_ns();
    unsigned char b[BRIDGE_HEADER_SIZE + 8];
    struct bridge_header h;

    for (;;) {
        int n = zmq_recv(beats, b, sizeof b, 0);

        if (n >= 0 && bridge_decode(b, (size_t)n, &h) == 0 && h.seq >= total_frames)
            return;
        if (now_ns() > end)
            die("the publisher did not forward everything in 30 s", 0);
    }
}

static uint64_t sysctl_max(const char *path)
{
    unsigned long long a, b, c = 0;
    FILE *f = fopen(path, "re");

    if (f) {
        if (fscanf(f, "%llu %llu %llu", &a, &b, &c) != 3)
            c = 0;
        fclose(f);
    }
    return c ? c : 8u << 20;
}

static int run_loss(const char *src, const char *far, const char *endpoint, pid_t sub,
                    pid_t pub)
{
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    struct loss_ctx c = {0};
    void *ctx = zmq_ctx_new(), *beats = zmq_socket(ctx, ZMQ_SUB);
    unsigned char *buf;
    uint64_t frames = 0, a_frames, volume, probes, seen = 0, b_frames, b_bytes, gap_bytes;
    size_t cap, payload = 4088; /* 4096-byte frames */
    int rc, timeout = 100;

    if ((rc = bcast_writer_join_file(src, 0, &w)) < 0)
        die(src, rc);
    r = open_far(far);
    cap = bcast_reader_mtu(r);
    buf = malloc(cap > payload ? cap : payload);
    if (!m || !buf || !beats)
        die("malloc", -ENOMEM);
    if (zmq_setsockopt(beats, ZMQ_SUBSCRIBE, "B", 1) < 0 ||
        zmq_setsockopt(beats, ZMQ_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
        zmq_connect(beats, endpoint) < 0)
        die("beat socket", -zmq_errno());

    frames += probe(w, r, buf, cap, m, loss_frame, &c, NULL);

    /* A: the subscriber stopped, more than every socket buffer can hold */
    volume = sysctl_max("/proc/sys/net/ipv4/tcp_wmem") +
             sysctl_max("/proc/sys/net/ipv4/tcp_rmem") + (8u << 20);
    a_frames = volume / 4096 + 1;
    if (a_frames * 4096 > bcast_writer_capacity(w) / 2)
        die("the source channel is too small for the loss test", 0);
    if (kill(sub, SIGSTOP) < 0)
        die("kill SIGSTOP", -errno);
    for (uint64_t i = 0; i < a_frames; i++) {
        bridge_put32(buf, A_MAGIC);
        bridge_put64(buf + 4, i);
        memset(buf + 12, 'a', payload - 12);
        /* trains of two: even index first fragment, odd index last */
        if ((rc = bcast_writer_send(w, buf, payload, 1, (i & 1) ? 0 : BCAST_MORE)) < 0)
            die("send", rc);
    }
    frames += a_frames;
    wait_forwarded(beats, frames);
    if (kill(sub, SIGCONT) < 0)
        die("kill SIGCONT", -errno);
    probes = probe(w, r, buf, cap, m, loss_frame, &c, &seen);
    frames += probes;
    printf("{\"a_sent\":%" PRIu64 ",\"a_arrived\":%" PRIu64 ",\"a_whole\":%" PRIu64
           ",\"a_bad\":%" PRIu64 ",\"tail_probes_lost\":%" PRIu64, a_frames, c.a_frames_seen,
           c.whole, c.bad, seen);

    /* B: the publisher stopped and its reader overrun */
    wait_forwarded(beats, frames);
    if (kill(pub, SIGSTOP) < 0)
        die("kill SIGSTOP", -errno);
    /* a heartbeat up to a 4096 boundary, so no padding frame follows */
    gap_bytes = (4096 - bcast_writer_position(w) % 4096) % 4096;
    b_bytes = 0;
    b_frames = 0;
    if (gap_bytes) {
        memset(buf, 0, gap_bytes - 8);
        if ((rc = bcast_writer_send(w, buf, gap_bytes - 8, 2, BCAST_HEARTBEAT)) < 0)
            die("send", rc);
        b_bytes += gap_bytes;
        b_frames++;
    }
    for (uint64_t i = 0; b_bytes < bcast_writer_capacity(w) + (1u << 20); i++) {
        bridge_put32(buf, B_MAGIC);
        bridge_put64(buf + 4, i);
        if ((rc = bcast_writer_send(w, buf, payload, 2, 0)) < 0)
            die("send", rc);
        b_bytes += 4096;
        b_frames++;
    }
    if (kill(pub, SIGCONT) < 0)
        die("kill SIGCONT", -errno);
    probes = probe(w, r, buf, cap, m, loss_frame, &c, &seen);
    /* the frames of B that arrived, and the bytes of those that did not:
       probes written before the publisher's reader was reset (to the
       producer position) are lost with B, 24 bytes each */
    printf(",\"b_sent\":%" PRIu64 ",\"b_arrived\":%" PRIu64 ",\"b_lost_bytes\":%" PRIu64
           ",\"notices\":%" PRIu64 ",\"notice_lost\":%" PRIu64 ",\"notice_lost_bytes\":%" PRIu64
           ",\"notice_overruns\":%" PRIu64 ",\"b_probes_overrun\":%" PRIu64 "}\n",
           b_frames, c.b_frames_seen, (b_frames - c.b_frames_seen) * 4096 -
           (gap_bytes && c.b_frames_seen == 0 ? 4096 - gap_bytes : 0) + seen * 24,
           c.g.notices, c.g.lost,
           c.g.lost_bytes, c.g.overruns, seen);
    zmq_close(beats);
    zmq_ctx_term(ctx);
    free(buf);
    bcast_message_free(m);
    bcast_writer_close(w);
    bcast_reader_close(r);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* resume: after a publisher restart                                           */

static int run_resume(const char *src, const char *far, uint64_t n)
{
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    struct loss_ctx c = {0};
    unsigned char buf[64];
    uint64_t got = 0, end = now_ns() + deadline_ns();
    int rc;

    if ((rc = bcast_writer_join_file(src, 0, &w)) < 0)
        die(src, rc);
    r = open_far(far);
    if (!m)
        die("malloc", -ENOMEM);
    probe(w, r, buf, sizeof buf, m, loss_frame, &c, NULL);
    for (uint64_t i = 0; i < n; i++) {
        bridge_put32(buf, A_MAGIC);
        bridge_put64(buf + 4, i);
        if ((rc = bcast_writer_send(w, buf, 12, 3, 0)) < 0)
            die("send", rc);
    }
    while (got < n && now_ns() < end) {
        ssize_t k = far_next(r, buf, sizeof buf, m, 1);

        if (k == 12 && bridge_get32(buf) == A_MAGIC && bridge_get64(buf + 4) == got)
            got++;
        else if (is_gap_notice(m, buf, (size_t)k))
            add_gap(&c.g, buf);
    }
    printf("{\"sent\":%" PRIu64 ",\"arrived\":%" PRIu64 "}\n", n, got);
    bcast_message_free(m);
    bcast_writer_close(w);
    bcast_reader_close(r);
    return got == n ? 0 : 1;
}

/* ------------------------------------------------------------------------- */
/* foreign                                                                     */

static int file_has(const char *path, const char *s)
{
    char line[512];
    FILE *f = fopen(path, "re");
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, s) != NULL;
    fclose(f);
    return found;
}

static int run_foreign(const char *endpoint, const char *errfile)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUB);
    unsigned char good[BRIDGE_HEADER_SIZE + 4];
    struct bridge_header h = {.kind = BRIDGE_KIND_DATA, .epoch = 1};
    uint64_t end = now_ns() + deadline_ns();

    if (!s || zmq_bind(s, endpoint) < 0)
        die(endpoint, -zmq_errno());
    bridge_encode(good, &h);
    good[6] = BRIDGE_VERSION + 1; /* a bridge of another version */
    while (!file_has(errfile, "foreign message") || !file_has(errfile, "another bridge version")) {
        zmq_send(s, "Dhello, not a bridge message", 28, 0);
        zmq_send(s, good, sizeof good, 0);
        usleep(10000);
        if (now_ns() > end)
            die("the subscriber reported no foreign message in 30 s", 0);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* measurement                                                                 */

static void pace(uint64_t start, uint64_t i, uint64_t rate)
{
    if (!rate)
        return;
    uint64_t due = start + i * 1000000000ull / rate;

    while (now_ns() < due) {
    }
}

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* messages carry: u64 send time, u64 index; "END" after the last */
/* the latencies of one receiving side, raw or bridged, taken the same way */
struct lat_log {
    uint64_t *lat, n, got, first, last;
};

static void lat_init(struct lat_log *l, uint64_t n)
{
    *l = (struct lat_log){malloc(n * sizeof *l->lat), n, 0, 0, 0};
    if (!l->lat)
        die("malloc", -ENOMEM);
}

/* a message received at t whose first 8 bytes say when it was sent */
static void lat_add(struct lat_log *l, uint64_t t, const unsigned char *msg)
{
    if (!l->got)
        l->first = t;
    l->last = t;
    if (l->got < l->n)
        l->lat[l->got++] = t - bridge_get64(msg);
}

/* one JSON line, then the log is freed */
static void lat_report(struct lat_log *l, const char *what)
{
    double secs = (double)(l->last - l->first) / 1e9;
    uint64_t got = l->got;

    qsort(l->lat, got, sizeof *l->lat, cmp64);
    printf("{\"path\":\"%s\",\"sent\":%" PRIu64 ",\"received\":%" PRIu64
           ",\"msgs_per_s\":%.0f,\"p50_us\":%.2f,\"p99_us\":%.2f}\n", what, l->n, got,
           secs > 0 ? (double)got / secs : 0.0, got ? (double)l->lat[got / 2] / 1e3 : 0.0,
           got ? (double)l->lat[got * 99 / 100] / 1e3 : 0.0);
    free(l->lat);
}

static int run_raw_pub(const char *endpoint, uint64_t n, size_t size, uint64_t rate)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUB);
    unsigned char buf[65536];
    int hwm = 0;
    uint64_t start;

    if (size < 16 || size > sizeof buf)
        die("size", -EINVAL);
    if (!s || zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 || zmq_bind(s, endpoint) < 0)
        die(endpoint, -zmq_errno());
    memset(buf, 'r', size);
    sleep(1); /* the subscriber connects (the script starts it first) */
    start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pace(start, i, rate);
        bridge_put64(buf, now_ns());
        bridge_put64(buf + 8, i);
        zmq_send(s, buf, size, 0);
    }
    for (int i = 0; i < 100; i++) {
        zmq_send(s, "END", 3, 0);
        usleep(10000);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

static int run_raw_sub(const char *endpoint, uint64_t n)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_SUB);
    unsigned char buf[65536];
    struct lat_log log;
    int hwm = 0, timeout = 30000;

    lat_init(&log, n);
    if (!s || zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) < 0 || zmq_connect(s, endpoint) < 0)
        die(endpoint, -zmq_errno());
    for (;;) {
        int k = zmq_recv(s, buf, sizeof buf, 0);
        uint64_t t = now_ns();

        if (k < 0 || k == 3)
            break;
        lat_add(&log, t, buf);
    }
    lat_report(&log, "raw zeromq");
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

static int run_bench_src(const char *src, uint64_t n, size_t size, uint64_t rate)
{
    struct bcast_writer *w;
    unsigned char buf[65536];
    uint64_t start;
    int rc;

    if (size < 16 || size > sizeof buf)
        die("size", -EINVAL);
    if ((rc = bcast_writer_join_file(src, 0, &w)) < 0)
        die(src, rc);
    memset(buf, 'b', size);
    sleep(1); /* the bridge connects */
    start = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pace(start, i, rate);
        bridge_put64(buf, now_ns());
        bridge_put64(buf + 8, i);
        if ((rc = bcast_writer_send(w, buf, size, 0, 0)) < 0)
            die("send", rc);
    }
    for (int i = 0; i < 100; i++) {
        if ((rc = bcast_writer_send(w, "END", 3, 0, 0)) < 0)
            die("send", rc);
        usleep(10000);
    }
    bcast_writer_close(w);
    return 0;
}

static int run_bench_far(const char *far, uint64_t n)
{
    struct bcast_reader *r = open_far(far);
    struct bcast_message *m = bcast_message_new();
    unsigned char buf[65536];
    struct lat_log log;
    uint64_t idle = now_ns();

    if (!m)
        die("malloc", -ENOMEM);
    lat_init(&log, n);
    for (;;) {
        ssize_t k = bcast_reader_receive(r, buf, sizeof buf, m);
        uint64_t t = now_ns();

        if (k == -EAGAIN) {
            if (t - idle > deadline_ns())
                break;
            bcast_reader_wait(r, 100000000); /* sleeps, as the raw side's recv */
            continue;
        }
        if (k == -ENOBUFS) {
            bcast_reader_reset(r);
            continue;
        }
        if (k < 0)
            die(far, (int)k);
        idle = t;
        if (k == 3)
            break;
        if ((bcast_message_flags(m) & BCAST_HEARTBEAT) || k < 16)
            continue;
        lat_add(&log, t, buf);
    }
    lat_report(&log, "bridged");
    bcast_message_free(m);
    bcast_reader_close(r);
    return 0;
}

static uint64_t num(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);

    if (!*s || *end) {
        fprintf(stderr, "%s: not a number: %s\n", me, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "verify") && argc == 6)
        return run_verify(argv[2], argv[3], num(argv[4]), num(argv[5]));
    if (!strcmp(c, "loss") && argc == 7)
        return run_loss(argv[2], argv[3], argv[4], (pid_t)num(argv[5]), (pid_t)num(argv[6]));
    if (!strcmp(c, "resume") && argc == 5)
        return run_resume(argv[2], argv[3], num(argv[4]));
    if (!strcmp(c, "foreign") && argc == 4)
        return run_foreign(argv[2], argv[3]);
    if (!strcmp(c, "raw-pub") && argc == 6)
        return run_raw_pub(argv[2], num(argv[3]), (size_t)num(argv[4]), num(argv[5]));
    if (!strcmp(c, "raw-sub") && argc == 4)
        return run_raw_sub(argv[2], num(argv[3]));
    if (!strcmp(c, "bench-src") && argc == 6)
        return run_bench_src(argv[2], num(argv[3]), (size_t)num(argv[4]), num(argv[5]));
    if (!strcmp(c, "bench-far") && argc == 4)
        return run_bench_far(argv[2], num(argv[3]));
    fprintf(stderr, "usage: see the comment at the top of tests/bridge-peer.c\n");
    return 2;
}
