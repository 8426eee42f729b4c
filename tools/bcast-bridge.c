/*
 * bcast-bridge - carry a channel to other hosts over ZeroMQ.
 *
 *   bcast-bridge pub [OPTION]... CHANNEL ENDPOINT...
 *   bcast-bridge sub [OPTION]... ENDPOINT... CHANNEL
 *   bcast-bridge keygen PREFIX
 *
 * pub reads a local channel and publishes every frame on a ZeroMQ PUB
 * socket, behind the header of tools/bridge-wire.h; sub receives them on a
 * SUB socket and writes them into a local channel, detecting and reporting
 * every gap (bcast-bridge(1)).  Only the public API of libbcast is used.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <bcast.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bridge-wire.h"
#include "tool.h"

#define DEFAULT_BEAT_MS 1000
#define DEFAULT_HWM 1000
#define MAX_FILTERS 256

enum { OPT_LAST_LAP = 256, OPT_CONNECT, OPT_BIND, OPT_SPIN, OPT_HWM, OPT_BEAT, OPT_STATS,
       OPT_CAPACITY, OPT_MODE, OPT_REPLACE, OPT_FILTER, OPT_COUNT, OPT_CURVE_SECRET,
       OPT_CURVE_SERVER };

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-bridge pub [OPTION]... CHANNEL ENDPOINT...\n"
            "       bcast-bridge sub [OPTION]... ENDPOINT... CHANNEL\n"
            "       bcast-bridge keygen PREFIX\n"
            "Carry a libbcast channel to other hosts over ZeroMQ.\n"
            "\n"
            "pub reads the channel file CHANNEL and publishes every message on a ZeroMQ\n"
            "PUB socket bound to each ENDPOINT (tcp://, ipc://, epgm://, norm://).\n"
            "  --last-lap          start at the oldest message the ring holds\n"
            "  --connect           connect to the endpoints instead of binding\n"
            "  --spin              poll the channel without sleeping when it is idle\n"
            "  --beat-interval MS  bridge beat after MS ms of silence (default 1000)\n"
            "  --curve-secret-key FILE  encrypt with CURVE, as the server of this key\n"
            "\n"
            "sub subscribes to the endpoints (connecting) and writes every message into\n"
            "the channel file CHANNEL, joining it, or creating it with --capacity.\n"
            "  --capacity SIZE     create CHANNEL with this capacity if it does not exist\n"
            "  --mode MODE         octal mode of a channel it creates (as bcast-cat)\n"
            "  --replace           replace what is at CHANNEL (needs --capacity)\n"
            "  --filter N          receive only user_defined N (repeatable)\n"
            "  --bind              bind to the endpoints instead of connecting\n"
            "  --count N           stop after N messages\n"
            "  --curve-server-key FILE  encrypt with CURVE, to the server of this key\n"
            "\n"
            "Both:\n"
            "  --hwm N             ZeroMQ high-water mark in messages (default 1000)\n"
            "  --stats             print the counters as one JSON object on exit\n"
            "  -h, --help          print this help and exit\n"
            "  -V, --version       print the version and exit\n"
            "\n"
            "keygen writes a new CURVE key pair to PREFIX.key (secret) and PREFIX.pub.\n"
            "Exit status: 0 success, 1 usage error, 2 runtime error.\n");
}

static const struct option longopts[] = {
    {"last-lap", no_argument, NULL, OPT_LAST_LAP},
    {"connect", no_argument, NULL, OPT_CONNECT},
    {"bind", no_argument, NULL, OPT_BIND},
    {"spin", no_argument, NULL, OPT_SPIN},
    {"hwm", required_argument, NULL, OPT_HWM},
    {"beat-interval", required_argument, NULL, OPT_BEAT},
    {"stats", no_argument, NULL, OPT_STATS},
    {"capacity", required_argument, NULL, OPT_CAPACITY},
    {"mode", required_argument, NULL, OPT_MODE},
    {"replace", no_argument, NULL, OPT_REPLACE},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"count", required_argument, NULL, OPT_COUNT},
    {"curve-secret-key", required_argument, NULL, OPT_CURVE_SECRET},
    {"curve-server-key", required_argument, NULL, OPT_CURVE_SERVER},
    TOOL_LONGOPTS_END,
};

struct opts {
    int pub;
    int last_lap, connect, bind, spin, stats, replace;
    uint64_t hwm, beat_ms, capacity, count;
    mode_t mode;
    uint32_t filters[MAX_FILTERS];
    size_t nfilters;
    const char *curve_secret, *curve_server;
};

/* ------------------------------------------------------------------------- */
/* ZeroMQ set-up shared by both sides                                         */

static int zmq_fail(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", tool_name, what, zmq_strerror(zmq_errno()));
    return TOOL_EXIT_ERROR;
}

/* a 40-character Z85 key from the first line of path into key[41] */
static int read_key(const char *path, char *key)
{
    char line[128];
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", tool_name, path, strerror(errno));
        return TOOL_EXIT_ERROR;
    }
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    fclose(f);
    n = strcspn(line, "\r\n");
    line[n] = 0;
    if (n != 40) {
        fprintf(stderr, "%s: %s: not a CURVE key (want 40 Z85 characters on the first line)\n",
                tool_name, path);
        return TOOL_EXIT_ERROR;
    }
    memcpy(key, line, 41);
    return 0;
}

static int setup_curve(void *sock, const struct opts *o)
{
    char key[41], pub[41], sec[41];
    int one = 1, rc;

    if (!o->curve_secret && !o->curve_server)
        return 0;
    if (!zmq_has("curve")) {
        fprintf(stderr, "%s: this libzmq was built without CURVE\n", tool_name);
        return TOOL_EXIT_ERROR;
    }
    if (o->pub) {
        if ((rc = read_key(o->curve_secret, key)) != 0)
            return rc;
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, key, 40) < 0) {
            fprintf(stderr, "%s: %s: %s\n", tool_name, o->curve_secret,
                    zmq_strerror(zmq_errno()));
            return TOOL_EXIT_ERROR;
        }
        return 0;
    }
    if ((rc = read_key(o->curve_server, key)) != 0)
        return rc;
    if (zmq_curve_keypair(pub, sec) < 0)
        return zmq_fail("zmq_curve_keypair");
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, key, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40) < 0) {
        fprintf(stderr, "%s: %s: %s\n", tool_name, o->curve_server, zmq_strerror(zmq_errno()));
        return TOOL_EXIT_ERROR;
    }
    return 0;
}

/* the end of pub and sub: the socket (lingering at most 1 s), then the context */
static void zmq_teardown(void *ctx, void *sock)
{
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
}

/* bind or connect sock to every endpoint; an exit status on failure */
static int attach(void *sock, char **endpoints, int n, int do_bind)
{
    for (int i = 0; i < n; i++) {
        int rc = do_bind ? zmq_bind(sock, endpoints[i]) : zmq_connect(sock, endpoints[i]);
        int err = zmq_errno();

        if (rc == 0) {
            char last[1024];
            size_t len = sizeof last;

            /* a wildcard (tcp://127.0.0.1:*): say which port it got */
            if (do_bind && strchr(endpoints[i], '*') &&
                zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, last, &len) == 0)
                fprintf(stderr, "%s: bound to %s\n", tool_name, last);
            continue;
        }
        switch (err) {
        case EINVAL:
            fprintf(stderr, "%s: %s: not a valid endpoint (tcp://HOST:PORT, ipc://PATH, "
                    "epgm://IFACE;GROUP:PORT, norm://...)\n", tool_name, endpoints[i]);
            return TOOL_EXIT_USAGE;
        case EPROTONOSUPPORT:
        case ENOCOMPATPROTO:
            fprintf(stderr, "%s: %s: transport not supported by this libzmq\n", tool_name,
                    endpoints[i]);
            return TOOL_EXIT_USAGE;
        default:
            fprintf(stderr, "%s: %s: cannot %s: %s\n", tool_name, endpoints[i],
                    do_bind ? "bind" : "connect", zmq_strerror(err));
            return TOOL_EXIT_ERROR;
        }
    }
    return 0;
}

static void *open_socket(void *ctx, int type, const struct opts *o, int *status)
{
    void *sock = zmq_socket(ctx, type);
    int hwm = (int)o->hwm, linger = 1000;

    *status = 0;
    if (!sock) {
        *status = zmq_fail("zmq_socket");
        return NULL;
    }
    if (zmq_setsockopt(sock, type == ZMQ_PUB ? ZMQ_SNDHWM : ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) < 0) {
        *status = zmq_fail("zmq_setsockopt");
        zmq_close(sock);
        return NULL;
    }
    if ((*status = setup_curve(sock, o)) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* ------------------------------------------------------------------------- */
/* pub                                                                        */

/* frames sent per user_defined value: open addressing, grown at half full */
struct value_slot {
    uint32_t key;
    uint32_t used;
    uint64_t count;
};

struct value_table {
    struct value_slot *slots;
    size_t mask, used;
    struct value_slot *last;
};

static size_t value_hash(uint32_t key)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32);
}

static struct value_slot *value_find(struct value_slot *slots, size_t mask, uint32_t key)
{
    size_t i = value_hash(key) & mask;

    while (slots[i].used && slots[i].key != key)
        i = (i + 1) & mask;
    return &slots[i];
}

static int value_grow(struct value_table *t)
{
    size_t n = t->slots ? (t->mask + 1) * 2 : 1024;
    struct value_slot *s = calloc(n, sizeof *s);

    if (!s)
        return -ENOMEM;
    if (t->slots) {
        for (size_t i = 0; i <= t->mask; i++)
            if (t->slots[i].used)
                *value_find(s, n - 1, t->slots[i].key) = t->slots[i];
        free(t->slots);
    }
    t->slots = s;
    t->mask = n - 1;
    t->last = NULL;
    return 0;
}

/* the frames with user_defined key counted so far, then one more; -1 on ENOMEM */
static int value_next(struct value_table *t, uint32_t key, uint64_t *seq)
{
    struct value_slot *s = t->last;

    if (!s || s->key != key) {
        if ((t->used + 1) * 2 > t->mask + 1 && value_grow(t) < 0)
            return -1;
        s = value_find(t->slots, t->mask, key);
        if (!s->used) {
            s->used = 1;
            s->key = key;
            t->used++;
        }
        t->last = s;
    }
    *seq = s->count++;
    return 0;
}

static uint64_t new_epoch(void)
{
    uint64_t e = 0;
    struct timespec ts;

    if (getrandom(&e, sizeof e, GRND_NONBLOCK) != (ssize_t)sizeof e) {
        clock_gettime(CLOCK_REALTIME, &ts);
        e = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
    }
    return e;
}

struct pub_stats {
    uint64_t sent, bytes, heartbeats, beats, overruns, lost_bytes, dropped_send;
};

static int send_beat(void *sock, uint64_t epoch, const struct pub_stats *s, uint64_t position,
                     int final)
{
    unsigned char b[BRIDGE_HEADER_SIZE];
    struct bridge_header h = {
        .kind = BRIDGE_KIND_BEAT,
        .flags = final ? BRIDGE_FINAL : 0,
        .epoch = epoch,
        .seq = s->sent,
        .position = position,
        .lost_bytes = s->lost_bytes,
        .overruns = s->overruns,
    };

    bridge_encode(b, &h);
    while (zmq_send(sock, b, sizeof b, 0) < 0) {
        if (zmq_errno() != EINTR)
            return -zmq_errno();
    }
    return 0;
}

static int run_pub(const struct opts *o, const char *path, char **endpoints, int nend)
{
    struct bcast_reader *r = NULL;
    struct bcast_message *msg = NULL;
    struct value_table values = {0};
    struct pub_stats s = {0};
    unsigned char *buf = NULL;
    void *ctx = NULL, *sock = NULL;
    uint64_t epoch = new_epoch();
    int64_t beat_ns = (int64_t)o->beat_ms * 1000000;
    double start, last_send, elapsed;
    int status = 0, rc;
    size_t mtu;

    rc = o->last_lap ? bcast_reader_open_file_last_lap(path, 0, &r)
                     : bcast_reader_open_file(path, 0, &r);
    if (rc < 0) {
        tool_open_error(path, rc, TOOL_OPEN_READER, 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(path);
    mtu = bcast_reader_mtu(r);
    buf = malloc(BRIDGE_HEADER_SIZE + mtu);
    msg = bcast_message_new();
    if (!buf || !msg || value_grow(&values) < 0) {
        fprintf(stderr, "%s: %s\n", tool_name, strerror(ENOMEM));
        status = TOOL_EXIT_ERROR;
        goto out;
    }
    if (!(ctx = zmq_ctx_new())) {
        status = zmq_fail("zmq_ctx_new");
        goto out;
    }
    if (!(sock = open_socket(ctx, ZMQ_PUB, o, &status)))
        goto out;
    if ((status = attach(sock, endpoints, nend, !o->connect)) != 0)
        goto out;
    tool_catch_signals();

    start = last_send = tool_now();
    while (!tool_stop) {
        ssize_t n = bcast_reader_receive(r, buf + BRIDGE_HEADER_SIZE, mtu, msg);

        if (n >= 0) {
            struct bridge_header h = {
                .kind = BRIDGE_KIND_DATA,
                .flags = (uint8_t)(bcast_message_flags(msg) & BRIDGE_FRAME_FLAGS),
                .user_defined = bcast_message_user_defined(msg),
                .epoch = epoch,
                .seq = s.sent,
                .position = bcast_message_position(msg),
                .lost_bytes = s.lost_bytes,
                .overruns = s.overruns,
            };

            if (value_next(&values, h.user_defined, &h.value_seq) < 0) {
                fprintf(stderr, "%s: %s\n", tool_name, strerror(ENOMEM));
                status = TOOL_EXIT_ERROR;
                break;
            }
            bridge_encode(buf, &h);
            while (zmq_send(sock, buf, BRIDGE_HEADER_SIZE + (size_t)n, 0) < 0) {
                if (zmq_errno() != EINTR) {
                    status = zmq_fail("zmq_send");
                    goto done;
                }
            }
            s.sent++;
            s.bytes += (uint64_t)n;
            if (h.flags & BCAST_HEARTBEAT)
                s.heartbeats++;
            if (!o->spin || (s.sent & 1023) == 0)
                last_send = tool_now();
            if (o->count && s.sent >= o->count)
                break;
            continue;
        }
        if (n == -ENOBUFS || n == -EBADMSG) {
            uint64_t before = bcast_reader_position(r), lost;

            if ((rc = bcast_reader_reset(r)) < 0) {
                tool_error(path, rc);
                status = TOOL_EXIT_ERROR;
                break;
            }
            lost = bcast_reader_position(r) - before;
            s.overruns++;
            s.lost_bytes += lost;
            fprintf(stderr, "%s: %s: %s at position %" PRIu64 ": %" PRIu64
                    " bytes of the channel lost\n", tool_name, path,
                    n == -ENOBUFS ? "overrun" : "corrupt frame", before, lost);
            continue;
        }
        if (n != -EAGAIN) {
            tool_error(path, (int)n);
            status = TOOL_EXIT_ERROR;
            break;
        }
        /* idle: a beat after beat_ns of silence, so that the far side learns
           of frames lost at the tail; wait (or spin) until then */
        if (o->spin) {
            double now = tool_now();

            if ((now - last_send) * 1e9 < (double)beat_ns)
                continue;
        } else {
            int64_t left = beat_ns - (int64_t)((tool_now() - last_send) * 1e9);

            if (left > 0) {
                rc = bcast_reader_wait(r, left);
                if (rc == 0 || rc == -EINTR)
                    continue;
                if (rc != -ETIMEDOUT) {
                    tool_error(path, rc);
                    status = TOOL_EXIT_ERROR;
                    break;
                }
            }
        }
        if ((rc = send_beat(sock, epoch, &s, bcast_reader_position(r), 0)) < 0) {
            fprintf(stderr, "%s: zmq_send: %s\n", tool_name, zmq_strerror(-rc));
            status = TOOL_EXIT_ERROR;
            break;
        }
        s.beats++;
        last_send = tool_now();
    }
done:
    elapsed = tool_now() - start;
    if (send_beat(sock, epoch, &s, bcast_reader_position(r), 1) == 0)
        s.beats++;
    fprintf(stderr, "%s: pub %s: %" PRIu64 " messages (%" PRIu64 " bytes, %" PRIu64
            " heartbeats) in %.1f s, %" PRIu64 " beats, %" PRIu64 " overruns (%" PRIu64
            " bytes lost at the source)\n", tool_name, path, s.sent, s.bytes, s.heartbeats,
            elapsed, s.beats, s.overruns, s.lost_bytes);
    if (o->stats) {
        printf("{\"role\":\"pub\",\"channel\":\"%s\",\"epoch\":\"%016" PRIx64 "\","
               "\"sent\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"heartbeats\":%" PRIu64
               ",\"beats\":%" PRIu64 ",\"overruns\":%" PRIu64 ",\"lost_bytes\":%" PRIu64
               ",\"position\":%" PRIu64 ",\"seconds\":%.3f}\n",
               path, epoch, s.sent, s.bytes, s.heartbeats, s.beats, s.overruns, s.lost_bytes,
               bcast_reader_position(r), elapsed);
        if (tool_finish_stdout() != 0 && status == 0)
            status = TOOL_EXIT_ERROR;
    }
out:
    zmq_teardown(ctx, sock);
    free(values.slots);
    free(buf);
    bcast_message_free(msg);
    bcast_reader_close(r);
    return status;
}

/* ------------------------------------------------------------------------- */
/* sub                                                                        */

struct sub_stats {
    uint64_t received, bytes, heartbeats, beats, written, gaps, lost_messages;
    uint64_t source_lost_bytes, source_overruns, restarts, torn_dropped, foreign;
    uint64_t too_big;
};

struct sub_state {
    const struct opts *o;
    const char *path;
    struct bcast_writer *w;
    size_t mtu;
    int have_epoch, final_seen;
    uint64_t epoch, expected, last_lost_bytes, last_overruns;
    /* per --filter value: the next value_seq, and whether it is known */
    uint64_t value_expected[MAX_FILTERS];
    unsigned char value_known[MAX_FILTERS];
    int local_open, skip_cont;
    struct sub_stats s;
};

static int join_local(struct sub_state *st, uint64_t capacity, int replace)
{
    struct bcast_file_options fo;
    int rc;

    memset(&fo, 0, sizeof fo);
    fo.size = sizeof fo;
    fo.mode = st->o->mode;
    fo.flags = replace ? BCAST_FILE_REPLACE : 0;
    rc = bcast_writer_open_file_opts(st->path, capacity, &fo, NULL, &st->w);
    if (rc < 0) {
        st->w = NULL;
        tool_open_error(st->path, rc, TOOL_OPEN_WRITER, capacity);
        return TOOL_EXIT_ERROR;
    }
    st->mtu = bcast_writer_mtu(st->w);
    return 0;
}

/* end a fragment train the local channel has open: a writer that joins
   starts outside any train, so its next frame tells readers the train was
   cut (bcast_writer_send(3)) */
static int cut_train(struct sub_state *st)
{
    if (!st->local_open)
        return 0;
    bcast_writer_close(st->w);
    st->w = NULL;
    st->local_open = 0;
    return join_local(st, 0, 0);
}

static int gap(struct sub_state *st, unsigned kinds, uint64_t lost, uint64_t lost_bytes,
               uint64_t overruns, uint64_t at_seq)
{
    unsigned char notice[BRIDGE_GAP_SIZE];
    int rc;

    st->s.gaps++;
    st->s.lost_messages += lost;
    st->s.source_lost_bytes += lost_bytes;
    st->s.source_overruns += overruns;
    if (kinds & BRIDGE_GAP_RESTART)
        fprintf(stderr, "%s: sub %s: publisher restarted (epoch %016" PRIx64 ")%s\n", tool_name,
                st->path, st->epoch,
                st->final_seen ? "" : "; the old one did not stop cleanly: "
                                      "what it sent last may be lost uncounted");
    if (lost)
        fprintf(stderr, "%s: sub %s: gap: %" PRIu64 " messages lost in transit before "
                "message %" PRIu64 "\n", tool_name, st->path, lost, at_seq);
    if (overruns || lost_bytes)
        fprintf(stderr, "%s: sub %s: gap: the publisher was overrun %" PRIu64 " times, %" PRIu64
                " bytes of its channel lost\n", tool_name, st->path, overruns, lost_bytes);
    if ((rc = cut_train(st)) != 0)
        return rc;
    st->skip_cont = 1;
    /* the notice, a heartbeat with a reserved user_defined: "BCASTGAP",
       kinds, 0, lost messages, lost source bytes, source overruns */
    memcpy(notice, BRIDGE_GAP_MAGIC, 8);
    bridge_put32(notice + 8, kinds);
    bridge_put32(notice + 12, 0);
    bridge_put64(notice + 16, lost);
    bridge_put64(notice + 24, lost_bytes);
    bridge_put64(notice + 32, overruns);
    rc = bcast_writer_send(st->w, notice, sizeof notice, BRIDGE_GAP_USER_DEFINED,
                           BCAST_HEARTBEAT);
    if (rc < 0) {
        tool_error(st->path, rc);
        return TOOL_EXIT_ERROR;
    }
    return 0;
}

static int filter_index(const struct opts *o, uint32_t ud)
{
    for (size_t i = 0; i < o->nfilters; i++)
        if (o->filters[i] == ud)
            return (int)i;
    return -1;
}

/* one received ZeroMQ message; 0, or an exit status to stop with */
static int sub_message(struct sub_state *st, const unsigned char *p, size_t len)
{
    const struct opts *o = st->o;
    struct bridge_header h;
    unsigned kinds = 0;
    uint64_t lost = 0, lost_bytes = 0, overruns = 0;
    size_t plen;
    int rc, flags;

    if ((rc = bridge_decode(p, len, &h)) < 0) {
        if (st->s.foreign++ == 0 || (st->s.foreign & (st->s.foreign - 1)) == 0)
            fprintf(stderr, "%s: sub %s: %s (%zu bytes), dropped (%" PRIu64 " so far)\n",
                    tool_name, st->path,
                    rc == -EPROTONOSUPPORT ? "message of another bridge version"
                                           : "foreign message: not a bcast-bridge header",
                    len, st->s.foreign);
        return 0;
    }
    if (!st->have_epoch) {
        /* the first message: what came before it was not for us */
        st->have_epoch = 1;
        st->epoch = h.epoch;
        st->expected = h.seq;
        st->last_lost_bytes = h.lost_bytes;
        st->last_overruns = h.overruns;
    } else if (h.epoch != st->epoch) {
        /* a new publisher: it counts from 0 */
        kinds |= BRIDGE_GAP_RESTART;
        st->s.restarts++;
        st->epoch = h.epoch;
        st->expected = 0;
        st->last_lost_bytes = 0;
        st->last_overruns = 0;
        for (size_t i = 0; i < o->nfilters; i++) {
            st->value_expected[i] = 0;
            st->value_known[i] = 1;
        }
    }
    if (!o->nfilters) {
        if (h.seq > st->expected)
            lost = h.seq - st->expected;
        if (h.seq >= st->expected)
            st->expected = h.seq + (h.kind == BRIDGE_KIND_DATA);
    } else if (h.kind == BRIDGE_KIND_DATA) {
        int i = filter_index(o, h.user_defined);

        if (i < 0)
            return 0; /* a prefix of another subscription of the socket */
        if (st->value_known[i] && h.value_seq > st->value_expected[i])
            lost = h.value_seq - st->value_expected[i];
        st->value_expected[i] = h.value_seq + 1;
        st->value_known[i] = 1;
    }
    if (h.lost_bytes > st->last_lost_bytes)
        lost_bytes = h.lost_bytes - st->last_lost_bytes;
    if (h.overruns > st->last_overruns)
        overruns = h.overruns - st->last_overruns;
    st->last_lost_bytes = h.lost_bytes;
    st->last_overruns = h.overruns;
    if (lost)
        kinds |= BRIDGE_GAP_LOST;
    if (lost_bytes || overruns)
        kinds |= BRIDGE_GAP_OVERRUN;
    if (kinds) {
        if ((rc = gap(st, kinds, lost, lost_bytes, overruns, h.seq)) != 0)
            return rc;
        st->final_seen = 0;
    }
    if (h.kind == BRIDGE_KIND_BEAT) {
        st->s.beats++;
        if (h.flags & BRIDGE_FINAL) {
            st->final_seen = 1;
            fprintf(stderr, "%s: sub %s: the publisher stopped after %" PRIu64 " messages\n",
                    tool_name, st->path, h.seq);
        }
        return 0;
    }

    st->s.received++;
    plen = len - BRIDGE_HEADER_SIZE;
    p += BRIDGE_HEADER_SIZE;
    st->s.bytes += plen;
    flags = h.flags;
    if (plen > st->mtu) {
        if (st->s.too_big++ == 0)
            fprintf(stderr, "%s: sub %s: a message of %zu bytes does not fit the channel's "
                    "MTU of %zu, dropped\n", tool_name, st->path, plen, st->mtu);
        if (flags & BCAST_HEARTBEAT)
            return 0;
        /* the message it belongs to cannot arrive whole */
        if ((rc = cut_train(st)) != 0)
            return rc;
        st->skip_cont = 1;
        return 0;
    }
    if (flags & BCAST_HEARTBEAT) {
        rc = bcast_writer_send(st->w, p, plen, h.user_defined, BCAST_HEARTBEAT);
        st->s.heartbeats++;
    } else {
        if (flags & BCAST_CONTINUATION) {
            if (st->skip_cont || !st->local_open) {
                st->s.torn_dropped++;
                return 0;
            }
        } else {
            /* a new message while a train is open: the source cut it */
            if ((rc = cut_train(st)) != 0)
                return rc;
            st->skip_cont = 0;
        }
        rc = bcast_writer_send(st->w, p, plen, h.user_defined, flags & BCAST_MORE);
        if (rc == 0)
            st->local_open = !!(flags & BCAST_MORE);
    }
    if (rc < 0) {
        tool_error(st->path, rc);
        return TOOL_EXIT_ERROR;
    }
    st->s.written++;
    return 0;
}

static int run_sub(const struct opts *o, char **endpoints, int nend, const char *path)
{
    struct sub_state st;
    void *ctx = NULL, *sock = NULL;
    zmq_msg_t m;
    int status = 0, timeout = 200;
    double start, elapsed;

    memset(&st, 0, sizeof st);
    st.o = o;
    st.path = path;
    if ((status = join_local(&st, o->capacity, o->replace)) != 0)
        return status;
    tool_catch_sigbus(path);
    if (!(ctx = zmq_ctx_new())) {
        status = zmq_fail("zmq_ctx_new");
        goto out;
    }
    if (!(sock = open_socket(ctx, ZMQ_SUB, o, &status)))
        goto out;
    if (zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) < 0) {
        status = zmq_fail("zmq_setsockopt");
        goto out;
    }
    if (!o->nfilters) {
        if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) < 0) {
            status = zmq_fail("zmq_setsockopt");
            goto out;
        }
    } else {
        unsigned char topic[BRIDGE_TOPIC_SIZE] = {BRIDGE_KIND_BEAT};

        if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic, 1) < 0) {
            status = zmq_fail("zmq_setsockopt");
            goto out;
        }
        for (size_t i = 0; i < o->nfilters; i++) {
            bridge_topic(topic, o->filters[i]);
            if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, topic, sizeof topic) < 0) {
                status = zmq_fail("zmq_setsockopt");
                goto out;
            }
        }
    }
    if ((status = attach(sock, endpoints, nend, o->bind)) != 0)
        goto out;
    tool_catch_signals();

    zmq_msg_init(&m);
    start = tool_now();
    while (!tool_stop && (!o->count || st.s.received < o->count)) {
        int n = zmq_msg_recv(&m, sock, 0);

        if (n < 0) {
            if (zmq_errno() == EAGAIN || zmq_errno() == EINTR)
                continue;
            status = zmq_fail("zmq_msg_recv");
            break;
        }
        if ((status = sub_message(&st, zmq_msg_data(&m), zmq_msg_size(&m))) != 0)
            break;
    }
    zmq_msg_close(&m);
    elapsed = tool_now() - start;
    fprintf(stderr, "%s: sub %s: %" PRIu64 " messages (%" PRIu64 " bytes, %" PRIu64
            " heartbeats) in %.1f s, %" PRIu64 " gaps: %" PRIu64 " messages lost in transit, %"
            PRIu64 " source overruns (%" PRIu64 " bytes), %" PRIu64 " publisher restarts, %"
            PRIu64 " torn fragments dropped, %" PRIu64 " foreign messages\n", tool_name, path,
            st.s.received, st.s.bytes, st.s.heartbeats, elapsed, st.s.gaps, st.s.lost_messages,
            st.s.source_overruns, st.s.source_lost_bytes, st.s.restarts, st.s.torn_dropped,
            st.s.foreign);
    if (o->stats) {
        printf("{\"role\":\"sub\",\"channel\":\"%s\",\"epoch\":\"%016" PRIx64 "\","
               "\"received\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"heartbeats\":%" PRIu64
               ",\"written\":%" PRIu64 ",\"beats\":%" PRIu64 ",\"gaps\":%" PRIu64
               ",\"lost_messages\":%" PRIu64 ",\"source_overruns\":%" PRIu64
               ",\"source_lost_bytes\":%" PRIu64 ",\"restarts\":%" PRIu64
               ",\"torn_dropped\":%" PRIu64 ",\"too_big\":%" PRIu64 ",\"foreign\":%" PRIu64
               ",\"seconds\":%.3f}\n",
               path, st.epoch, st.s.received, st.s.bytes, st.s.heartbeats, st.s.written,
               st.s.beats, st.s.gaps, st.s.lost_messages, st.s.source_overruns,
               st.s.source_lost_bytes, st.s.restarts, st.s.torn_dropped, st.s.too_big,
               st.s.foreign, elapsed);
        if (tool_finish_stdout() != 0 && status == 0)
            status = TOOL_EXIT_ERROR;
    }
out:
    zmq_teardown(ctx, sock);
    bcast_writer_close(st.w);
    return status;
}

/* ------------------------------------------------------------------------- */
/* keygen                                                                     */

static int write_key(const char *prefix, const char *suffix, const char *key, mode_t mode)
{
    size_t n = strlen(prefix);
    char *path = malloc(n + 5);
    FILE *f;
    int fd;

    if (!path)
        return TOOL_EXIT_ERROR;
    memcpy(path, prefix, n);
    memcpy(path + n, suffix, 5);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "%s: %s: %s\n", tool_name, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return TOOL_EXIT_ERROR;
    }
    fprintf(f, "%s\n", key);
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: %s: %s\n", tool_name, path, strerror(errno));
        free(path);
        return TOOL_EXIT_ERROR;
    }
    free(path);
    return 0;
}

static int run_keygen(const char *prefix)
{
    char pub[41], sec[41];
    int rc;

    if (!zmq_has("curve")) {
        fprintf(stderr, "%s: this libzmq was built without CURVE\n", tool_name);
        return TOOL_EXIT_ERROR;
    }
    if (zmq_curve_keypair(pub, sec) < 0)
        return zmq_fail("zmq_curve_keypair");
    if ((rc = write_key(prefix, ".key", sec, 0600)) != 0)
        return rc;
    return write_key(prefix, ".pub", pub, 0644);
}

/* ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct opts o;
    const char *cmd;
    int opt, nops;
    char **ops;

    tool_name = "bcast-bridge";
    memset(&o, 0, sizeof o);
    o.hwm = DEFAULT_HWM;
    o.beat_ms = DEFAULT_BEAT_MS;
    if (argc < 2)
        return tool_usage_error("missing command: pub, sub or keygen");
    cmd = argv[1];
    if (strcmp(cmd, "pub") == 0)
        o.pub = 1;
    else if (strcmp(cmd, "sub") != 0 && strcmp(cmd, "keygen") != 0 && cmd[0] != '-')
        return tool_usage_error("unknown command '%s' (pub, sub or keygen)", cmd);
    if (cmd[0] == '-') {
        /* --help, --version or an option before the command */
        tool_getopt_n(argc, argv, TOOL_OPTSTRING(""), longopts, usage, 0, 0);
        return tool_usage_error("missing command: pub, sub or keygen");
    }
    argc--;
    argv++;
    while ((opt = tool_getopt_n(argc, argv, TOOL_OPTSTRING(""), longopts, usage, 0, -1)) !=
           -1) {
        const char *name = NULL;
        int rc = 0;
        uint64_t v;

        switch (opt) {
        case OPT_LAST_LAP: o.last_lap = 1; name = o.pub ? NULL : "--last-lap"; break;
        case OPT_CONNECT: o.connect = 1; name = o.pub ? NULL : "--connect"; break;
        case OPT_SPIN: o.spin = 1; name = o.pub ? NULL : "--spin"; break;
        case OPT_BEAT:
            name = o.pub ? NULL : "--beat-interval";
            if ((rc = tool_parse_u64(optarg, &o.beat_ms)) == 0 &&
                (o.beat_ms == 0 || o.beat_ms > 3600000))
                rc = -ERANGE;
            if (rc < 0)
                return tool_usage_error("--beat-interval: '%s' is not 1 to 3600000 ms", optarg);
            break;
        case OPT_CURVE_SECRET: o.curve_secret = optarg; name = o.pub ? NULL : "--curve-secret-key"; break;
        case OPT_BIND: o.bind = 1; name = o.pub ? "--bind" : NULL; break;
        case OPT_REPLACE: o.replace = 1; name = o.pub ? "--replace" : NULL; break;
        case OPT_CURVE_SERVER: o.curve_server = optarg; name = o.pub ? "--curve-server-key" : NULL; break;
        case OPT_CAPACITY:
            name = o.pub ? "--capacity" : NULL;
            rc = tool_parse_size(optarg, &o.capacity);
            if (rc < 0 || o.capacity < 16 || (o.capacity & (o.capacity - 1)))
                return tool_usage_error("--capacity: '%s' is not a power of two of at least 16",
                                        optarg);
            break;
        case OPT_MODE: {
            char *end;
            unsigned long m;

            name = o.pub ? "--mode" : NULL;
            errno = 0;
            m = strtoul(optarg, &end, 8);
            if (!*optarg || *end || errno || m > 0777)
                return tool_usage_error("--mode: '%s' is not an octal mode up to 0777", optarg);
            o.mode = (mode_t)m;
            break;
        }
        case OPT_FILTER:
            name = o.pub ? "--filter" : NULL;
            if (o.nfilters == MAX_FILTERS)
                return tool_usage_error("--filter: at most %d values", MAX_FILTERS);
            if (tool_parse_u32(optarg, &o.filters[o.nfilters]) < 0)
                return tool_usage_error("--filter: '%s' is not a number up to 4294967295",
                                        optarg);
            if (filter_index(&o, o.filters[o.nfilters]) < 0)
                o.nfilters++;
            break;
        case OPT_COUNT:
            name = o.pub ? "--count" : NULL;
            if (tool_parse_u64(optarg, &o.count) < 0)
                return tool_usage_error("--count: '%s' is not a number", optarg);
            break;
        case OPT_HWM:
            if (tool_parse_u64(optarg, &v) < 0 || v > 0x7fffffff)
                return tool_usage_error("--hwm: '%s' is not a number up to 2147483647", optarg);
            o.hwm = v;
            break;
        case OPT_STATS: o.stats = 1; break;
        default:
            return tool_usage_error("unknown option");
        }
        if (name)
            return tool_usage_error("%s is not an option of %s", name, cmd);
    }
    ops = argv + optind;
    nops = argc - optind;
    if (strcmp(cmd, "keygen") == 0) {
        if (nops != 1)
            return tool_usage_error("keygen takes one PREFIX");
        return run_keygen(ops[0]);
    }
    if (nops < 2)
        return tool_usage_error(o.pub ? "pub needs CHANNEL and at least one ENDPOINT"
                                      : "sub needs at least one ENDPOINT and CHANNEL");
    if (o.replace && !o.capacity)
        return tool_usage_error("--replace needs --capacity");
    if (o.pub)
        return run_pub(&o, ops[0], ops + 1, nops - 1);
    return run_sub(&o, ops, nops - 1, ops[nops - 1]);
}
