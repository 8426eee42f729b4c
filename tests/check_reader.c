/*
 * check_reader: the reader handle over caller memory: open, open_at,
 * open_last_lap, the getters, next/receive/skip/poll, filters, overruns
 * and corrupt frames, at every capacity from 16 bytes to 8 MiB and at
 * stream positions on both sides of 2^64.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core-helpers.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#define SENTINEL ((struct bcast_reader *)(uintptr_t)0x5a5a5a5a)

/* ------------------------------------------------------------------ */
/* a writer and a reader driven in lockstep against a model             */

enum read_mode { M_NEXT, M_RECEIVE, M_POLL, M_SKIP, M_MODES };

struct expect {
    uint64_t pos; /* stream position of the frame header */
    uint64_t seq;
    size_t len;
    int flags;
};

#define QCAP 4096

struct traffic {
    struct chan *c;
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_message *m;
    uint8_t *buf;       /* receive buffer, MTU bytes */
    size_t mtu;
    uint64_t wpos;      /* where the writer is, by the model */
    uint64_t lap;       /* lap_count, by the model */
    uint64_t seq;
    struct expect q[QCAP];
    size_t head, count; /* written, not yet read */
    uint64_t delivered, overruns, paddings;
};

struct poll_one {
    struct bcast_message *copy;
    uint8_t *buf;
    size_t cap;
    ssize_t got;
    int calls;
};

static int poll_copy(const struct bcast_message *m, void *ctx)
{
    struct poll_one *p = ctx;

    p->calls++;
    ck_assert_int_eq(bcast_message_copy(p->copy, m), 0);
    p->got = bcast_message_read(m, p->buf, p->cap);
    return 0;
}

static void traffic_init(struct traffic *t, struct chan *c, struct bcast_writer *w)
{
    memset(t, 0, sizeof *t);
    t->c = c;
    t->w = w;
    t->r = chan_reader(c);
    t->m = bcast_message_new();
    ck_assert_ptr_nonnull(t->m);
    t->mtu = bcast_writer_mtu(w);
    t->buf = malloc(t->mtu + 1);
    ck_assert_ptr_nonnull(t->buf);
    t->wpos = bcast_writer_position(w);
    t->lap = hdr_lap(c);
    ck_assert_uint_eq(bcast_reader_position(t->r), t->wpos);
}

static void traffic_fini(struct traffic *t)
{
    free(t->buf);
    bcast_message_free(t->m);
    bcast_reader_close(t->r);
}

static void check_payload(const struct expect *e, const uint8_t *buf, ssize_t got)
{
    ck_assert_int_eq(got, (ssize_t)e->len);
    ck_assert_msg(seq_check(e->seq, buf, e->len) == e->len, "payload of %llu differs at %zu",
                  (unsigned long long)e->seq, seq_check(e->seq, buf, e->len));
}

static void check_msg(const struct expect *e, const struct bcast_message *m)
{
    ck_assert_uint_eq(bcast_message_len(m), e->len);
    ck_assert_uint_eq(bcast_message_user_defined(m), (uint32_t)e->seq);
    ck_assert_uint_eq(bcast_message_position(m), e->pos);
    ck_assert_int_eq(bcast_message_flags(m), e->flags);
    ck_assert_ptr_null(bcast_message_data(m));
}

/* read the oldest written frame with one of the four read calls */
static void read_one(struct traffic *t)
{
    const struct expect *e = &t->q[t->head];
    enum read_mode mode = (enum read_mode)((e->seq / 3) % M_MODES);
    struct poll_one p = {t->m, t->buf, t->mtu, -1, 0};

    ck_assert_uint_gt(t->count, 0);
    switch (mode) {
    case M_NEXT:
        ck_assert_int_eq(bcast_reader_next(t->r, t->m), 0);
        check_msg(e, t->m);
        check_payload(e, t->buf, bcast_message_read(t->m, t->buf, t->mtu));
        break;
    case M_RECEIVE:
        check_payload(e, t->buf, bcast_reader_receive(t->r, t->buf, t->mtu, t->m));
        check_msg(e, t->m);
        break;
    case M_POLL:
        ck_assert_int_eq(bcast_reader_poll(t->r, poll_copy, &p, 1), 1);
        ck_assert_int_eq(p.calls, 1);
        check_msg(e, t->m);
        check_payload(e, t->buf, p.got);
        break;
    default:
        ck_assert_int_eq(bcast_reader_skip(t->r), 0);
        break;
    }
    ck_assert_uint_eq(bcast_reader_position(t->r), e->pos + frame_len(e->len));
    t->head = (t->head + 1) % QCAP;
    t->count--;
    t->delivered++;
}

/* read everything the writer wrote, padding included */
static void drain(struct traffic *t)
{
    while (t->count)
        read_one(t);
    ck_assert_int_eq(bcast_reader_next(t->r, t->m), -EAGAIN);
    ck_assert_uint_eq(bcast_reader_position(t->r), t->wpos);
    ck_assert_uint_eq(bcast_reader_pending(t->r), 0);
}

/*
 * Write the next frame of the stream: a message (by send or by claim and
 * commit), a heartbeat or an aborted claim, sized from seq up to max.
 * Before it, the reader reads as much as it must so that the new claimed
 * frontier does not overrun it; when the frame alone is enough to overrun
 * even a reader that has read everything (a lap-end padding frame, the
 * frame and the reserve together pass one capacity), the reader must see
 * -ENOBUFS and recover with bcast_reader_reset.
 */
static void write_one(struct traffic *t, size_t max)
{
    const size_t cap = t->c->cap;
    uint64_t seq = t->seq++;
    int kind = seq % 11 == 5 ? 1 : seq % 13 == 7 ? 2 : 0; /* heartbeat, abort */
    size_t len = kind == 1 ? 0 : seq_len(seq, max);
    uint64_t flen = frame_len(len), at = frame_place(t->wpos, flen, cap);
    uint64_t claimed = hdr_claimed(t->c), end = at + flen, reserve;
    void *p;

    reserve = default_reserve(cap);
    if ((int64_t)(end - claimed) > 0)
        claimed = end + reserve;
    while (t->count && (claimed - bcast_reader_position(t->r) > cap || t->count == QCAP))
        read_one(t);
    if (!t->count && claimed - bcast_reader_position(t->r) > cap)
        drain(t); /* past trailing padding frames */

    if (at != t->wpos)
        t->paddings++;
    if ((at & (cap - 1)) == 0)
        t->lap = at / cap;
    if (kind == 1) {
        ck_assert_int_eq(bcast_writer_heartbeat(t->w, (uint32_t)seq), 0);
    } else if (kind == 2) {
        ck_assert_int_eq(bcast_writer_claim(t->w, len, (uint32_t)seq, 0, &p), 0);
        ck_assert_int_eq(bcast_writer_abort(t->w), 0);
    } else if (seq & 1) {
        send_seq(t->w, seq, len);
    } else {
        ck_assert_int_eq(bcast_writer_claim(t->w, len, (uint32_t)seq, 0, &p), 0);
        seq_fill(seq, p, len);
        ck_assert_int_eq(bcast_writer_commit(t->w), 0);
    }
    t->wpos = end;
    ck_assert_uint_eq(hdr_producer(t->c), end);
    ck_assert_uint_eq(hdr_claimed(t->c), claimed);
    ck_assert_uint_eq(hdr_lap(t->c), t->lap);
    ck_assert_uint_eq(bcast_writer_position(t->w), end);
    if (kind != 2) {
        struct expect *e = &t->q[(t->head + t->count) % QCAP];
        e->pos = at;
        e->seq = seq;
        e->len = len;
        e->flags = kind == 1 ? BCAST_HEARTBEAT : 0;
        t->count++;
    }
    if (claimed - bcast_reader_position(t->r) > cap) {
        uint64_t rpos = bcast_reader_position(t->r);

        ck_assert_int_eq(bcast_reader_next(t->r, t->m), -ENOBUFS);
        ck_assert_int_eq(bcast_reader_receive(t->r, t->buf, t->mtu, t->m), -ENOBUFS);
        ck_assert_uint_eq(bcast_reader_position(t->r), rpos);
        ck_assert_int_eq(bcast_reader_reset(t->r), 0);
        ck_assert_uint_eq(bcast_reader_position(t->r), end);
        t->count = 0;
        t->overruns++;
    }
}

/* wrap-around with padding at every capacity from 16 B to 8 MiB */
START_TEST(test_wrap_capacities)
{
    const size_t cap = (size_t)1 << _i;
    struct chan c = chan_alloc(cap, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct traffic t;
    size_t small;

    traffic_init(&t, &c, w);
    small = t.mtu < 300 ? t.mtu : 300;
    while (t.wpos < 4 * (uint64_t)cap || t.seq < 600)
        write_one(&t, t.seq % 16 == 0 ? t.mtu : small);
    drain(&t);
    ck_assert_uint_ge(t.delivered, 500);
    ck_assert_uint_ge(hdr_lap(&c), 3);
    if (cap > 16)
        ck_assert_uint_gt(t.paddings, 0);
    /*
     * Overruns of a reader that had read everything come only from a frame
     * that needs a lap-end padding frame and is so big that padding, frame
     * and reserve pass the capacity: here only the MTU-sized ones can.
     */
    ck_assert_uint_le(t.overruns, t.seq / 16 + 1);
    traffic_fini(&t);
    bcast_writer_close(w);
    chan_free(&c);
}
END_TEST

START_TEST(test_wrap_2_64)
{
    static const size_t caps[] = {16, 64, 1024, 65536};
    const size_t cap = caps[_i / 3];
    /* start one and a half laps, a few frames, or 8 bytes before 2^64 */
    const uint64_t back[] = {cap + cap / 2, 64, 8};
    const uint64_t start = (uint64_t)0 - back[_i % 3];
    struct chan c = chan_alloc(cap, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *old;
    struct traffic t;

    bcast_writer_close(w);
    poke_positions(&c, start);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), start);
    ck_assert_int_eq(bcast_reader_open(c.mem, c.size, &old), 0);
    ck_assert_uint_eq(bcast_reader_position(old), start);
    traffic_init(&t, &c, w);
    ck_assert_uint_eq(t.lap, start / cap);
    while (t.wpos >= start || t.wpos < 3 * (uint64_t)cap || t.seq < 200)
        write_one(&t, t.seq % 8 == 0 ? t.mtu : (t.mtu < 100 ? t.mtu : 100));
    drain(&t);
    ck_assert_uint_lt(t.wpos, start); /* it went round */
    ck_assert_uint_ge(t.delivered, 20);
    ck_assert_uint_le(hdr_lap(&c), t.wpos / cap); /* frame_start / capacity after the wrap */
    ck_assert_uint_eq(hdr_lap(&c), t.lap);
    /* a reader left at the start was lapped across the wrap */
    ck_assert_int_eq(bcast_reader_next(old, t.m), -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_pending(old), t.wpos - start);
    ck_assert_uint_eq(bcast_reader_position(old), start);
    ck_assert_int_eq(bcast_reader_reset(old), 0);
    ck_assert_uint_eq(bcast_reader_position(old), t.wpos);
    ck_assert_int_eq(bcast_reader_next(old, t.m), -EAGAIN);
    bcast_reader_close(old);
    traffic_fini(&t);
    bcast_writer_close(w);
    chan_free(&c);
}
END_TEST

START_TEST(test_open_at_across_2_64)
{
    /* a reader opened just before 2^64 reads on past it */
    const size_t cap = 1024;
    const uint64_t start = (uint64_t)0 - 192; /* six 32-byte frames before 2^64 */
    struct rig t = rig_writer(cap);
    struct bcast_reader *r, *last;
    uint8_t buf[64];
    uint64_t pos[30];

    bcast_writer_close(t.w);
    poke_positions(&t.c, start);
    ck_assert_int_eq(bcast_writer_join(t.c.mem, t.c.size, &t.w), 0);
    ck_assert_uint_eq(hdr_lap(&t.c), ((uint64_t)1 << 54) - 1);
    for (uint64_t seq = 0; seq < 30; seq++) {
        pos[seq] = bcast_writer_position(t.w);
        ck_assert_uint_eq(pos[seq], start + seq * 32);
        send_seq(t.w, seq, 17); /* 32-byte frames */
    }
    ck_assert_uint_eq(bcast_writer_position(t.w), 30 * 32 - 192);
    ck_assert_uint_eq(hdr_lap(&t.c), 0); /* the frame at 2^64 started lap 0 again */
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, pos[3], &r), 0);
    for (uint64_t seq = 3; seq < 30; seq++) {
        struct bcast_message *m = bcast_message_new();
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), 17);
        ck_assert_uint_eq(seq_check(seq, buf, 17), 17);
        ck_assert_uint_eq(bcast_message_position(m), pos[seq]);
        bcast_message_free(m);
    }
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    /* the last lap starts at 0 now, which is after 2^64 - 192 */
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &last), 0);
    ck_assert_uint_eq(bcast_reader_position(last), 0);
    ck_assert_uint_eq(bcast_reader_pending(last), 30 * 32 - 192);
    ck_assert_int_eq(bcast_reader_receive(last, buf, sizeof buf, NULL), 17);
    ck_assert_uint_eq(seq_check(6, buf, 17), 17);
    bcast_reader_close(last);
    bcast_reader_close(r);
    rig_close(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* open                                                                */

START_TEST(test_open_einval)
{
    struct rig t = rig_writer(1024);
    struct bcast_reader *r = SENTINEL;
    uint8_t *moved = aligned_alloc(BCAST_ALIGNMENT, t.c.size + 128);
    static const size_t bad_sizes[] = {0, 8, BCAST_HEADER_SIZE, BCAST_HEADER_SIZE + 8,
                                       BCAST_HEADER_SIZE + 1000, BCAST_HEADER_SIZE + 1025,
                                       SIZE_MAX};

    ck_assert_ptr_nonnull(moved);
    memcpy(moved + 8, t.c.mem, t.c.size);
    ck_assert_int_eq(bcast_reader_open(t.c.mem, t.c.size, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_open(NULL, t.c.size, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_at(NULL, t.c.size, 0, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_last_lap(NULL, t.c.size, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open(moved + 8, t.c.size, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_at(moved + 8, t.c.size, 0, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_last_lap(moved + 8, t.c.size, &r), -EINVAL);
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        ck_assert_int_eq(bcast_reader_open(t.c.mem, bad_sizes[i], &r), -EINVAL);
        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, bad_sizes[i], 0, &r), -EINVAL);
        ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, bad_sizes[i], &r), -EINVAL);
    }
    /* open_at: any position that is not 8-aligned */
    for (uint64_t pos = 1; pos < 8; pos++)
        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, pos, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, 1028, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, UINT64_MAX, &r), -EINVAL);
    ck_assert_ptr_eq(r, SENTINEL);
    free(moved);
    rig_close(&t);
}
END_TEST

START_TEST(test_open_bad_header)
{
    struct chan c;
    const char *what;
    int want;

    for (unsigned k = 0; (want = bad_channel(&c, k, 5, &what)) != 1; k++) {
        struct bcast_reader *r = SENTINEL;
        int rc = bcast_reader_open(c.mem, c.size, &r);

        ck_assert_msg(rc == want, "%s: open gave %d, not %d", what, rc, want);
        rc = bcast_reader_open_at(c.mem, c.size, 0, &r);
        ck_assert_msg(rc == want, "%s: open_at gave %d, not %d", what, rc, want);
        rc = bcast_reader_open_last_lap(c.mem, c.size, &r);
        ck_assert_msg(rc == want, "%s: open_last_lap gave %d, not %d", what, rc, want);
        ck_assert_ptr_eq(r, SENTINEL);
        chan_free(&c);
    }
}
END_TEST

START_TEST(test_open_getters)
{
    struct chan c = chan_alloc(4096, 0);
    struct bcast_writer *w = NULL;
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();

    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, "channel-meta", 12, &w), 0);
    r = chan_reader(&c);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    ck_assert_uint_eq(bcast_reader_capacity(r), 4096);
    ck_assert_uint_eq(bcast_reader_mtu(r), 2040);
    ck_assert_uint_eq(bcast_reader_pending(r), 0);
    ck_assert_mem_eq(bcast_reader_metadata(r), "channel-meta", 12);
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    bcast_reader_close(r);
    for (uint64_t seq = 0; seq < 10; seq++)
        send_seq(w, seq, 100);
    /* open: at the producer, nothing to read */
    r = chan_reader(&c);
    ck_assert_uint_eq(bcast_reader_position(r), 10 * 112);
    ck_assert_uint_eq(bcast_reader_pending(r), 0);
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    ck_assert_int_eq(bcast_reader_skip(r), -EAGAIN);
    send_seq(w, 10, 5);
    ck_assert_uint_eq(bcast_reader_pending(r), 16);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 10);
    ck_assert_uint_eq(bcast_reader_pending(r), 0);
    bcast_reader_close(r);
    /* a reader outlives its writer */
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_reader_open_at(c.mem, c.size, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_pending(r), 10 * 112 + 16);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 0);
    bcast_reader_close(r);
    bcast_message_free(m);
    chan_free(&c);
}
END_TEST

START_TEST(test_null_reader)
{
    struct rig t = rig_open(1024);
    uint64_t start;
    uint8_t buf[8];

    bcast_reader_close(NULL);
    ck_assert_uint_eq(bcast_reader_position(NULL), 0);
    ck_assert_uint_eq(bcast_reader_capacity(NULL), 0);
    ck_assert_uint_eq(bcast_reader_mtu(NULL), 0);
    ck_assert_uint_eq(bcast_reader_pending(NULL), 0);
    ck_assert_ptr_null(bcast_reader_metadata(NULL));
    ck_assert_int_eq(bcast_reader_reset(NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_next(NULL, t.m), -EINVAL);
    ck_assert_int_eq(bcast_reader_receive(NULL, buf, sizeof buf, t.m), -EINVAL);
    ck_assert_int_eq(bcast_reader_skip(NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_poll(NULL, poll_copy, NULL, 1), -EINVAL);
    ck_assert_int_eq(bcast_reader_read_bulk(NULL, buf, sizeof buf, &start), -EINVAL);
    bcast_reader_set_filter(NULL, NULL, NULL);

    ck_assert_int_eq(bcast_writer_send(t.w, "abc", 3, 0, 0), 0);
    ck_assert_int_eq(bcast_reader_next(t.r, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_receive(t.r, NULL, 8, t.m), -EINVAL);
    ck_assert_int_eq(bcast_reader_poll(t.r, NULL, NULL, 1), -EINVAL);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, NULL, 64, &start), -EINVAL);
    /* nothing was consumed */
    ck_assert_uint_eq(bcast_reader_position(t.r), 0);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, NULL), 3);
    rig_close(&t);
}
END_TEST

/* frames of 32 bytes (payload 24) with user_defined = seq, from position 0 */
static void send_fixed(struct bcast_writer *w, uint64_t from, uint64_t to)
{
    for (uint64_t seq = from; seq < to; seq++)
        send_seq(w, seq, 24);
}

START_TEST(test_open_at)
{
    struct rig t = rig_writer(1024);
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    uint64_t producer, claimed;

    send_fixed(t.w, 0, 100); /* 3200 bytes: three laps and a bit */
    producer = hdr_producer(&t.c);
    claimed = hdr_claimed(&t.c);
    ck_assert_uint_eq(producer, 3200);

    /* the oldest frame still intact: claimed - position <= capacity */
    for (uint64_t pos = 0; pos < producer; pos += 32) {
        int rc;

        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, pos, &r), 0);
        ck_assert_uint_eq(bcast_reader_position(r), pos);
        rc = bcast_reader_next(r, m);
        if (claimed - pos > 1024) {
            /* a lap old: -ENOBUFS, and it stays so until reset */
            ck_assert_int_eq(rc, -ENOBUFS);
            ck_assert_int_eq(bcast_reader_next(r, m), -ENOBUFS);
            ck_assert_uint_eq(bcast_reader_position(r), pos);
            ck_assert_int_eq(bcast_reader_reset(r), 0);
            ck_assert_uint_eq(bcast_reader_position(r), producer);
            ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(bcast_message_user_defined(m), pos / 32);
            for (uint64_t seq = pos / 32 + 1; seq < 100; seq++) {
                ck_assert_int_eq(bcast_reader_next(r, m), 0);
                ck_assert_uint_eq(bcast_message_user_defined(m), seq);
            }
            ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
        }
        bcast_reader_close(r);
    }
    /* at the producer: open_at is open */
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, producer, &r), 0);
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    bcast_reader_close(r);
    bcast_message_free(m);
    rig_close(&t);
}
END_TEST

START_TEST(test_open_at_ahead)
{
    struct rig t = rig_writer(1024);
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();

    send_fixed(t.w, 0, 5); /* producer 160 */
    /* three frames ahead of the producer: -EAGAIN until the producer passes it */
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, 160 + 3 * 32, &r), 0);
    for (uint64_t seq = 5; seq < 8; seq++) {
        ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
        ck_assert_int_eq(bcast_reader_skip(r), -EAGAIN);
        ck_assert_int_eq(bcast_reader_poll(r, poll_copy, NULL, 10), 0);
        ck_assert_uint_eq(bcast_reader_pending(r), 0);
        ck_assert_uint_eq(bcast_reader_position(r), 256);
        send_fixed(t.w, seq, seq + 1);
    }
    /* the producer is at 256 == the position: still nothing */
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    send_fixed(t.w, 8, 10);
    ck_assert_uint_eq(bcast_reader_pending(r), 64);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 8);
    ck_assert_uint_eq(bcast_message_position(m), 256);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 9);
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    bcast_reader_close(r);
    bcast_message_free(m);
    rig_close(&t);
}
END_TEST

START_TEST(test_open_last_lap)
{
    struct rig t = rig_writer(1024);
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();

    /* a new channel: lap 0 starts at 0 */
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    bcast_reader_close(r);
    /* less than a lap: everything */
    send_fixed(t.w, 0, 10);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    ck_assert_uint_eq(bcast_reader_pending(r), 320);
    bcast_reader_close(r);
    /* three laps and a half: lap_count 3, from 3072 */
    send_fixed(t.w, 10, 112);
    ck_assert_uint_eq(hdr_lap(&t.c), 3);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 3072);
    for (uint64_t seq = 96; seq < 112; seq++) {
        ck_assert_int_eq(bcast_reader_next(r, m), 0);
        ck_assert_uint_eq(bcast_message_user_defined(m), seq);
    }
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(t.w);

    /*
     * With reserve 8 and 16-byte frames, claimed = producer + 8.  At
     * producer 1008 the lap start 0 is still intact (claimed 1016); at 1024
     * claimed is 1032 and lap_count is still 0 (no frame started at 1024
     * yet): reading from 0 would be -ENOBUFS, so the reader starts at the
     * producer.
     */
    t.w = chan_writer(&t.c);
    ck_assert_int_eq(bcast_writer_set_reserve(t.w, 8), 0);
    for (int i = 0; i < 63; i++)
        ck_assert_int_eq(bcast_writer_send(t.w, "12345678", 8, (uint32_t)i, 0), 0);
    ck_assert_uint_eq(hdr_producer(&t.c), 1008);
    ck_assert_uint_eq(hdr_claimed(&t.c), 1016);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 0);
    bcast_reader_close(r);
    ck_assert_int_eq(bcast_writer_send(t.w, "12345678", 8, 63, 0), 0);
    ck_assert_uint_eq(hdr_producer(&t.c), 1024);
    ck_assert_uint_eq(hdr_claimed(&t.c), 1032);
    ck_assert_uint_eq(hdr_lap(&t.c), 0);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 1024);
    ck_assert_int_eq(bcast_reader_next(r, m), -EAGAIN);
    bcast_reader_close(r);
    /* the next frame starts lap 1 */
    ck_assert_int_eq(bcast_writer_send(t.w, "12345678", 8, 64, 0), 0);
    ck_assert_uint_eq(hdr_lap(&t.c), 1);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 1024);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 64);
    bcast_reader_close(r);

    /* a lap_count that points past the producer or a lap back: the producer */
    put64(t.c.mem + OFF_LAP, 2);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 1040);
    bcast_reader_close(r);
    put64(t.c.mem + OFF_LAP, 0);
    ck_assert_int_eq(bcast_reader_open_last_lap(t.c.mem, t.c.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 1040);
    bcast_reader_close(r);
    bcast_message_free(m);
    rig_close(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* overruns                                                            */

START_TEST(test_lapped_reader)
{
    struct rig t = rig_open(1024);
    struct poll_one p = {t.m, NULL, 0, 0, 0};
    uint8_t buf[1024];
    uint64_t start;

    send_fixed(t.w, 0, 3);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    send_fixed(t.w, 3, 70); /* 2240 bytes */
    ck_assert_uint_eq(bcast_reader_pending(t.r), 2240 - 32);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, NULL), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_skip(t.r), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_poll(t.r, poll_copy, &p, 10), -ENOBUFS);
    ck_assert_int_eq(p.calls, 0);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, buf, sizeof buf, &start), -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(t.r), 32);
    ck_assert_uint_eq(bcast_reader_pending(t.r), 2240 - 32);
    ck_assert_int_eq(bcast_reader_reset(t.r), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), 2240);
    ck_assert_uint_eq(bcast_reader_pending(t.r), 0);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), -EAGAIN);
    send_fixed(t.w, 70, 71);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 24);
    ck_assert_uint_eq(seq_check(70, buf, 24), 24);
    ck_assert_uint_eq(bcast_message_position(t.m), 2240);
    /* reset when nothing was lost is harmless */
    ck_assert_int_eq(bcast_reader_reset(t.r), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), 2272);
    rig_close(&t);
}
END_TEST

/* the reader rule of bcast-format(5): the frame at p is good while claimed - p <= capacity */
START_TEST(test_overrun_rule_exact)
{
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new(), *keep = bcast_message_new();
    uint8_t buf[64];

    send_fixed(w, 0, 2); /* frames at 0 and 32 */
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_reader_open_at(c.mem, c.size, 32, &r), 0);
    put64(c.mem + OFF_CLAIMED, 32 + 1024);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), 24);
    bcast_reader_close(r);
    ck_assert_int_eq(bcast_reader_open_at(c.mem, c.size, 32, &r), 0);
    put64(c.mem + OFF_CLAIMED, 32 + 1024 + 8);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_next(r, m), -ENOBUFS);
    /* the payload at 32 + 8 is checked on its own when it is read later */
    put64(c.mem + OFF_CLAIMED, 32 + 1024);
    ck_assert_int_eq(bcast_reader_next(r, m), 0);
    ck_assert_int_eq(bcast_message_copy(keep, m), 0);
    put64(c.mem + OFF_CLAIMED, 40 + 1024);
    ck_assert_int_eq(bcast_message_read(keep, buf, sizeof buf), 24);
    ck_assert_uint_eq(seq_check(1, buf, 24), 24);
    put64(c.mem + OFF_CLAIMED, 40 + 1024 + 8);
    ck_assert_int_eq(bcast_message_read(keep, buf, sizeof buf), -ENOBUFS);
    ck_assert_int_eq(bcast_message_read(m, buf, sizeof buf), -ENOBUFS);
    bcast_reader_close(r);
    bcast_message_free(keep);
    bcast_message_free(m);
    chan_free(&c);
}
END_TEST

/* real writes: a reader left at p is overrun exactly when claimed - p > capacity */
START_TEST(test_overrun_follows_claimed)
{
    const size_t cap = 1024;
    struct rig t = rig_writer(cap);
    struct bcast_message *m = bcast_message_new();
    int seen_ok = 0, seen_overrun = 0;

    send_fixed(t.w, 0, 4); /* the watched frame is at 96 */
    for (uint64_t seq = 4; seq < 80; seq++) {
        struct bcast_reader *r;
        int rc;

        send_seq(t.w, seq, seq_len(seq, 60));
        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, 96, &r), 0);
        rc = bcast_reader_next(r, m);
        if (hdr_claimed(&t.c) - 96 > cap) {
            ck_assert_int_eq(rc, -ENOBUFS);
            seen_overrun++;
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(bcast_message_user_defined(m), 3);
            seen_ok++;
        }
        bcast_reader_close(r);
    }
    ck_assert_int_gt(seen_ok, 10);
    ck_assert_int_gt(seen_overrun, 10);
    bcast_message_free(m);
    rig_close(&t);
}
END_TEST

/*
 * A reader that has read everything is never overrun by the next send.  A
 * send that needs a lap-end padding frame, where padding, frame and
 * reserve together pass the capacity, must not publish a frontier more
 * than a lap past the reader, which sits on the padding frame it has yet
 * to read: the frontier stops at one lap past the position before the
 * send (the plain end + reserve overran that reader).
 */
START_TEST(test_caught_up_reader_not_overrun_by_padding)
{
    struct rig t = rig_open(1024);
    uint8_t buf[504];

    send_seq(t.w, 0, 504);
    send_seq(t.w, 1, 0);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 504);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), 520);
    /* 504 bytes of padding, a 512-byte frame, 16 of reserve: 1032 > 1024 */
    send_seq(t.w, 2, 504);
    ck_assert_uint_eq(hdr_producer(&t.c), 1536);
    ck_assert_uint_eq(hdr_claimed(&t.c), 520 + 1024);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 504);
    ck_assert_uint_eq(seq_check(2, buf, 504), 504);
    ck_assert_uint_eq(bcast_message_position(t.m), 1024);
    /* the next frontier is end + reserve again */
    send_seq(t.w, 3, 8);
    ck_assert_uint_eq(hdr_claimed(&t.c), 1536 + 16 + 16);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 8);
    ck_assert_uint_eq(seq_check(3, buf, 8), 8);
    rig_close(&t);
}
END_TEST

/*
 * The same reader, for every frame size that needs padding at every lap
 * position, with the default reserve: a reader that reads each message
 * right after its send never sees -ENOBUFS.
 */
START_TEST(test_caught_up_reader_never_overrun)
{
    static const size_t caps[] = {1024, 65536};
#if defined(__SANITIZE_THREAD__)
    /* one thread, nothing for ThreadSanitizer to find, at its slowdown */
    static const uint32_t count[] = {100000, 2000};
#else
    static const uint32_t count[] = {1000000, 20000};
#endif

    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        struct rig t = rig_open(caps[c]);
        size_t mtu = bcast_writer_mtu(t.w);
        uint8_t *buf = malloc(mtu);
        uint64_t state = 88172645463325252ull;

        ck_assert_ptr_nonnull(buf);
        for (uint32_t i = 0; i < count[c]; i++) {
            size_t len;

            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            len = (size_t)(state % (mtu + 1));
            send_seq(t.w, i, len);
            ck_assert_int_eq(bcast_reader_receive(t.r, buf, mtu, t.m), (ssize_t)len);
            ck_assert_uint_eq(seq_check(i, buf, len), len);
        }
        free(buf);
        rig_close(&t);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* -ERANGE, -EBADMSG                                                   */

START_TEST(test_erange)
{
    struct rig t = rig_open(1024);
    uint8_t buf[128];

    ck_assert_int_eq(bcast_writer_send(t.w, "ab", 2, 1, 0), 0);
    send_seq(t.w, 9, 100);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, 2, NULL), 2);
    memset(buf, 0xcc, sizeof buf);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, 99, t.m), -ERANGE);
    /* the message stays unread; its length is in the message */
    ck_assert_uint_eq(bcast_message_len(t.m), 100);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 9);
    ck_assert_uint_eq(bcast_message_position(t.m), 16);
    ck_assert_uint_eq(bcast_reader_position(t.r), 16);
    ck_assert_uint_eq(buf[0], 0xcc);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, 0, t.m), -ERANGE);
    ck_assert_int_eq(bcast_reader_receive(t.r, NULL, 0, t.m), -ERANGE);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, 1, NULL), -ERANGE);
    ck_assert_uint_eq(bcast_reader_position(t.r), 16);
    ck_assert_uint_eq(bcast_reader_pending(t.r), 112);
    /* a buffer of the length it said */
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, bcast_message_len(t.m), t.m), 100);
    ck_assert_uint_eq(seq_check(9, buf, 100), 100);
    ck_assert_uint_eq(bcast_reader_position(t.r), 128);
    /* the reader's MTU always suffices */
    send_seq(t.w, 10, 504);
    {
        uint8_t *big = malloc(bcast_reader_mtu(t.r));
        ck_assert_int_eq(bcast_reader_receive(t.r, big, bcast_reader_mtu(t.r), t.m), 504);
        ck_assert_uint_eq(seq_check(10, big, 504), 504);
        free(big);
    }
    rig_close(&t);
}
END_TEST

/*
 * A frame longer than the MTU is corrupt however it fits: a buffer of
 * bcast_reader_mtu() bytes, one of the whole ring and a bulk window of
 * capacity/2 (which always holds a frame) all get -EBADMSG, never -ERANGE
 * or the frame as good.
 */
START_TEST(test_frame_over_mtu_is_ebadmsg)
{
    struct rig t = rig_writer(1024);
    size_t mtu;
    uint8_t big[1024];
    uint64_t start = 7;

    ck_assert_int_eq(bcast_writer_set_reserve(t.w, 0), 0);
    send_fixed(t.w, 0, 32);
    t.r = NULL;
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, 0, &t.r), 0);
    t.m = bcast_message_new();
    mtu = bcast_reader_mtu(t.r);
    ck_assert_uint_eq(mtu, 504);
    put32(frame_at(&t.c, 0), F_FIN | (uint32_t)(mtu + 1));
    ck_assert_int_eq(bcast_reader_receive(t.r, big, mtu, t.m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_receive(t.r, big, sizeof big, t.m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, big, 512, &start), -EBADMSG);
    ck_assert_uint_eq(start, 7);
    /* exactly the MTU is a good frame */
    put32(frame_at(&t.c, 0), F_FIN | (uint32_t)mtu);
    put64(t.c.mem + OFF_PRODUCER, frame_len(mtu));
    put64(t.c.mem + OFF_CLAIMED, frame_len(mtu));
    ck_assert_int_eq(bcast_reader_receive(t.r, big, mtu, t.m), (ssize_t)mtu);
    rig_close(&t);
}
END_TEST

/* every read call says -EBADMSG and stays on the frame */
static void assert_badmsg(struct bcast_reader *r, uint64_t pos)
{
    struct bcast_message *m = bcast_message_new();
    struct poll_one p = {m, NULL, 0, 0, 0};
    uint8_t buf[2048];
    uint64_t start = 12345;

    ck_assert_int_eq(bcast_reader_next(r, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_next(r, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EBADMSG);
    ck_assert_int_eq(bcast_reader_skip(r), -EBADMSG);
    ck_assert_int_eq(bcast_reader_poll(r, poll_copy, &p, 5), -EBADMSG);
    ck_assert_int_eq(p.calls, 0);
    ck_assert_int_eq(bcast_reader_read_bulk(r, buf, sizeof buf, &start), -EBADMSG);
    ck_assert_uint_eq(start, 12345);
    ck_assert_uint_eq(bcast_reader_position(r), pos);
    bcast_message_free(m);
}

/* a frame of the fast receive's size class (16 to 32 bytes) at the last
   ring offset, its length damaged so that it runs past the ring end while
   the producer is a lap further: committed, no longer than the MTU, and
   still -EBADMSG on every read call */
START_TEST(test_fast_frame_past_ring_end)
{
    static const uint32_t lens[] = {25, 28, 32};

    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct rig t = rig_writer(1024);
        struct bcast_reader *r;
        struct bcast_message *m = bcast_message_new();
        const uint64_t pos = 992;
        uint32_t saved;
        uint8_t buf[64];

        ck_assert_int_eq(bcast_writer_set_reserve(t.w, 0), 0);
        send_fixed(t.w, 0, 40);
        ck_assert_uint_eq(hdr_producer(&t.c), 40 * 32);
        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, pos, &r), 0);
        saved = frame_fields(&t.c, pos);
        put32(frame_at(&t.c, pos), F_FIN | lens[i]);
        assert_badmsg(r, pos);
        put32(frame_at(&t.c, pos), saved);
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), 24);
        ck_assert_uint_eq(bcast_message_user_defined(m), 31);
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), 24);
        bcast_message_free(m);
        bcast_reader_close(r);
        rig_close(&t);
    }
}
END_TEST

START_TEST(test_ebadmsg)
{
    static const struct {
        uint64_t frame;  /* which 32-byte frame to damage */
        uint32_t fields; /* with this fields word */
        uint64_t frames; /* of how many sent */
    } bad[] = {
        {0, F_FIN | 1024, 32},          /* runs past the end of the ring */
        {0, F_FIN | 1017, 20},
        {31, F_FIN | 32, 32},           /* the last frame of the lap, 8 bytes too long */
        {19, F_FIN | 32, 20},           /* inside the ring, past the producer */
        {10, F_FIN | 400, 20},
        {0, F_FIN | F_LEN, 20},         /* the largest length there is */
        {0, F_FIN | F_PAD | 1024, 32},  /* padding frames are checked too */
        {31, F_FIN | F_PAD | 32, 32},
        {19, F_FIN | F_PAD | 408, 20},  /* to the lap end, but past the producer */
        {5, F_HB | F_FIN | 2000, 20},
        {0, 0xffffffffu, 20},
        /* inside the ring and the committed data, but longer than the MTU
           (504 here): no writer makes such a frame */
        {0, F_FIN | 505, 32},
        {0, F_FIN | 600, 32},
        {2, F_HB | F_FIN | 512, 32},
        {4, F_CONT | 505, 32},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rig t = rig_writer(1024);
        struct bcast_reader *r;
        struct bcast_message *m = bcast_message_new();
        uint64_t pos = bad[i].frame * 32, producer = bad[i].frames * 32;
        uint32_t saved;
        uint8_t buf[64];

        ck_assert_int_eq(bcast_writer_set_reserve(t.w, 0), 0);
        send_fixed(t.w, 0, bad[i].frames);
        ck_assert_uint_eq(hdr_producer(&t.c), producer);
        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, pos, &r), 0);
        saved = frame_fields(&t.c, pos);
        put32(frame_at(&t.c, pos), bad[i].fields);
        assert_badmsg(r, pos);
        /* the frame mended, the reader is still there to read it */
        put32(frame_at(&t.c, pos), saved);
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), 24);
        ck_assert_uint_eq(bcast_message_user_defined(m), bad[i].frame);
        /* the next frame damaged: reset skips to the producer */
        if (pos + 32 < producer) {
            put32(frame_at(&t.c, pos + 32), bad[i].fields);
            assert_badmsg(r, pos + 32);
            ck_assert_int_eq(bcast_reader_reset(r), 0);
            ck_assert_uint_eq(bcast_reader_position(r), producer);
            send_fixed(t.w, bad[i].frames, bad[i].frames + 1);
            ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), 24);
            ck_assert_uint_eq(bcast_message_user_defined(m), bad[i].frames);
        }
        bcast_message_free(m);
        bcast_reader_close(r);
        rig_close(&t);
    }
}
END_TEST

/*
 * A producer word damaged to a position that is not 8-aligned, after the
 * reader opened: reset must not leave the reader where a frame header
 * read would straddle the end of the ring.  The channel ends at a
 * PROT_NONE page, so a read past it faults.
 */
START_TEST(test_misaligned_producer_after_open)
{
    struct chan c = chan_alloc_guarded(1024, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r = chan_reader(&c);
    struct bcast_message *m = bcast_message_new();
    uint8_t buf[64], bulk[1024];
    struct poll_one p = {m, buf, sizeof buf, 0, 0};
    uint64_t start;
    ssize_t n;

    send_fixed(w, 0, 31); /* producer 992 */
    put64(c.mem + OFF_PRODUCER, 1020); /* 4 bytes before the end of the ring */
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_uint_eq(bcast_reader_position(r) % 8, 0);
    send_fixed(w, 31, 32); /* the writer publishes its own producer, 1024 */
    ck_assert_uint_eq(hdr_producer(&c), 1024);
    ck_assert_int_eq(bcast_reader_next(r, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), -EBADMSG);
    ck_assert_int_eq(bcast_reader_skip(r), -EBADMSG);
    ck_assert_int_eq(bcast_reader_poll(r, poll_copy, &p, 1), -EBADMSG);
    ck_assert_int_eq(p.calls, 0);
    n = bcast_reader_read_bulk(r, bulk, sizeof bulk, &start);
    ck_assert(n == -EBADMSG || n == 8);
    /* mended: the reader goes on from the producer */
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 1024);
    send_fixed(w, 32, 33);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), 24);
    ck_assert_uint_eq(bcast_message_user_defined(m), 32);
    bcast_message_free(m);
    bcast_reader_close(r);
    bcast_writer_close(w);
    chan_free_guarded(&c);
}
END_TEST

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* a 64-bit value near v, or anywhere */
static uint64_t damaged(uint64_t *rng, uint64_t v)
{
    switch (rng_next(rng) % 4) {
    case 0:
        return v + rng_next(rng) % 64 - 32;
    case 1:
        return v + (rng_next(rng) % 4096) * 8 - 16384;
    case 2:
        return rng_next(rng);
    default:
        return v ^ ((uint64_t)1 << (rng_next(rng) % 64));
    }
}

/*
 * Damaged channel memory: random frame headers and random producer,
 * claimed and lap words, at random moments between reads.  Whatever the
 * reader says, it says it with a documented code, never reads past the
 * channel (it ends at a PROT_NONE page) and never hands out more bytes
 * than the MTU.
 */
START_TEST(test_damaged_memory)
{
    const size_t cap = 256;
    uint64_t rng = 0x9e3779b97f4a7c15ull + (uint64_t)_i;

    for (int round = 0; round < 200; round++) {
        struct chan c = chan_alloc_guarded(cap, 0);
        struct bcast_writer *w = chan_writer(&c);
        struct bcast_reader *r = NULL;
        struct bcast_message *m = bcast_message_new(), *d = bcast_message_new();
        uint8_t buf[256], bulk[512];
        uint64_t start;
        int rc;

        for (uint64_t seq = 0; seq < rng_next(&rng) % 60; seq++)
            send_seq(w, seq, seq_len(seq ^ rng, bcast_writer_mtu(w)));
        switch (rng_next(&rng) % 3) {
        case 0:
            rc = bcast_reader_open(c.mem, c.size, &r);
            break;
        case 1:
            rc = bcast_reader_open_at(c.mem, c.size, hdr_producer(&c) - (rng_next(&rng) % 64) * 8,
                                      &r);
            break;
        default:
            rc = bcast_reader_open_last_lap(c.mem, c.size, &r);
            break;
        }
        ck_assert_int_eq(rc, 0);
        for (int step = 0; step < 60; step++) {
            ssize_t n;
            size_t off = 0;

            switch (rng_next(&rng) % 8) {
            case 0:
                put32(frame_at(&c, rng_next(&rng) % cap & ~(uint64_t)7), (uint32_t)rng_next(&rng));
                break;
            case 1:
                put64(c.mem + OFF_PRODUCER, damaged(&rng, hdr_producer(&c)));
                break;
            case 2:
                put64(c.mem + OFF_CLAIMED, damaged(&rng, hdr_claimed(&c)));
                break;
            case 3:
                put64(c.mem + OFF_LAP, damaged(&rng, hdr_lap(&c)));
                break;
            case 4:
                ck_assert_int_eq(bcast_reader_reset(r), 0);
                break;
            default:
                break;
            }
            (void)bcast_reader_pending(r);
            rc = bcast_reader_next(r, m);
            ck_assert(rc == 0 || rc == -EAGAIN || rc == -ENOBUFS || rc == -EBADMSG);
            if (rc == 0) {
                ck_assert_uint_le(bcast_message_len(m), bcast_reader_mtu(r));
                ck_assert_int_eq(bcast_message_copy(d, m), 0);
                n = bcast_message_read(d, buf, sizeof buf);
                ck_assert(n == (ssize_t)bcast_message_len(m) || n == -ENOBUFS);
            }
            n = bcast_reader_receive(r, buf, rng_next(&rng) % sizeof buf, m);
            ck_assert(n >= 0 || n == -EAGAIN || n == -ENOBUFS || n == -EBADMSG || n == -ERANGE);
            ck_assert(n <= (ssize_t)bcast_reader_mtu(r));
            rc = bcast_reader_skip(r);
            ck_assert(rc == 0 || rc == -EAGAIN || rc == -ENOBUFS || rc == -EBADMSG);
            rc = bcast_reader_poll(r, poll_copy, &(struct poll_one){d, buf, sizeof buf, 0, 0}, 3);
            ck_assert(rc >= 0 || rc == -ENOBUFS || rc == -EBADMSG);
            n = bcast_reader_read_bulk(r, bulk, rng_next(&rng) % sizeof bulk, &start);
            ck_assert(n > 0 || n == -EAGAIN || n == -ENOBUFS || n == -EBADMSG || n == -ERANGE);
            ck_assert(n <= (ssize_t)cap);
            if (n > 0) {
                ck_assert_uint_eq(n % 8, 0);
                while ((rc = bcast_bulk_next(bulk, (size_t)n, &off, start, m)) == 0)
                    ck_assert_uint_le(bcast_message_len(m), (size_t)n);
                ck_assert(rc == -EAGAIN || rc == -EBADMSG);
            }
            ck_assert_uint_eq(bcast_reader_position(r) % 8, 0);
            if (rng_next(&rng) % 4 == 0)
                send_seq(w, (uint64_t)step, seq_len(rng, bcast_writer_mtu(w)));
        }
        bcast_message_free(d);
        bcast_message_free(m);
        bcast_reader_close(r);
        bcast_writer_close(w);
        chan_free_guarded(&c);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* filters                                                             */

struct frec {
    uint32_t seen[512];
    unsigned n;
    unsigned calls;
};

static int keep_even(uint32_t user, void *ctx)
{
    struct frec *f = ctx;

    ck_assert_uint_lt(f->n, 512);
    f->seen[f->n++] = user;
    return user % 2 == 0;
}

static int keep_none(uint32_t user, void *ctx)
{
    struct frec *f = ctx;

    (void)user;
    f->calls++;
    return 0;
}

static int count_calls(const struct bcast_message *m, void *ctx)
{
    uint32_t *users = ctx;

    users[++users[0]] = bcast_message_user_defined(m);
    return 0;
}

/* the filtered read of loop iteration api: 0 next, 1 receive, 2 receive
   with a message, 3 poll of one; the kept message's user_defined in *user,
   its payload checked against its sequence number (= user_defined) */
static int filtered_read(struct rig *t, int api, uint32_t *user, size_t *len_out)
{
    uint8_t buf[64];
    uint32_t users[2] = {0};
    ssize_t len;
    int rc;

    switch (api) {
    case 0:
        if ((rc = bcast_reader_next(t->r, t->m)) == 0) {
            *user = bcast_message_user_defined(t->m);
            *len_out = bcast_message_len(t->m);
        }
        return rc;
    case 1:
    case 2:
        len = bcast_reader_receive(t->r, buf, sizeof buf, api == 2 ? t->m : NULL);
        if (len < 0)
            return (int)len;
        *len_out = (size_t)len;
        if (api == 2) {
            ck_assert_uint_eq(bcast_message_len(t->m), (size_t)len);
            *user = bcast_message_user_defined(t->m);
            /* a heartbeat's payload is empty; others carry their sequence */
            if (*user < 1000)
                ck_assert_uint_eq(seq_check(*user, buf, (size_t)len), (size_t)len);
        } else {
            *user = UINT32_MAX; /* receive without a message: matched by length */
        }
        return 0;
    default:
        rc = bcast_reader_poll(t->r, count_calls, users, 1);
        if (rc == 1) {
            *user = users[1];
            *len_out = SIZE_MAX; /* the handler records user_defined only */
        }
        return rc == 1 ? 0 : rc == 0 ? -EAGAIN : rc;
    }
}

/* every read API, sizes 0 to 40 bytes: the filter decides for each of them */
START_TEST(test_filter_sees_every_frame_but_padding)
{
    const size_t cap = 256;
    struct rig t = rig_open(cap);
    struct frec f = {{0}, 0, 0};
    uint32_t sent[512], kept[512], user;
    size_t sent_len[512], kept_len[512], len_read;
    unsigned nsent = 0, nkept = 0, got = 0, paddings = 0;
    uint64_t pos = 0;
    void *p;

    bcast_reader_set_filter(t.r, keep_even, &f);
    for (uint32_t i = 1; i < 300; i++) {
        size_t len = seq_len(i, 40);
        uint64_t at = frame_place(pos, frame_len(len), cap);

        if (at != pos)
            paddings++;
        if (i % 5 == 0) {
            ck_assert_int_eq(bcast_writer_heartbeat(t.w, 1000 + i), 0);
            at = frame_place(pos, 8, cap);
            len = 0;
            sent_len[nsent] = 0;
            sent[nsent++] = 1000 + i;
        } else if (i % 7 == 0) {
            /* aborted: a padding frame that must not reach the filter */
            ck_assert_int_eq(bcast_writer_claim(t.w, len, 555, 0, &p), 0);
            ck_assert_int_eq(bcast_writer_abort(t.w), 0);
        } else {
            send_seq(t.w, i, len);
            sent_len[nsent] = len;
            sent[nsent++] = i;
        }
        pos = at + frame_len(len);
        if (i % 2 == 0) { /* never more than a lap behind */
            int rc;
            while ((rc = filtered_read(&t, _i, &user, &len_read)) == 0) {
                kept_len[got] = len_read;
                kept[got++] = user;
            }
            ck_assert_int_eq(rc, -EAGAIN);
        }
    }
    while (filtered_read(&t, _i, &user, &len_read) == 0) {
        kept_len[got] = len_read;
        kept[got++] = user;
    }
    ck_assert_uint_gt(paddings, 5);
    /* the filter saw each non-padding frame once, in order, heartbeats included */
    ck_assert_uint_eq(f.n, nsent);
    for (unsigned i = 0; i < nsent; i++)
        ck_assert_uint_eq(f.seen[i], sent[i]);
    for (unsigned i = 0; i < nsent; i++)
        if (sent[i] % 2 == 0) {
            if (kept[nkept] != UINT32_MAX)
                ck_assert_uint_eq(kept[nkept], sent[i]);
            if (kept_len[nkept] != SIZE_MAX)
                ck_assert_uint_eq(kept_len[nkept], sent_len[i]);
            nkept++;
        }
    ck_assert_uint_eq(got, nkept);
    ck_assert_uint_eq(bcast_reader_position(t.r), pos);
    rig_close(&t);
}
END_TEST

START_TEST(test_filter_calls)
{
    struct rig t = rig_open(4096);
    struct frec f = {{0}, 0, 0};
    uint32_t users[16] = {0};
    uint8_t buf[64];

    /* users 1..8: the filter keeps 2, 4, 6, 8 */
    for (uint32_t u = 1; u <= 8; u++)
        send_seq(t.w, u, u);
    bcast_reader_set_filter(t.r, keep_even, &f);
    /* receive */
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 2);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 2);
    ck_assert_uint_eq(seq_check(2, buf, 2), 2);
    /* skip: the next message the filter keeps */
    ck_assert_int_eq(bcast_reader_skip(t.r), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), 4 * 16);
    /* poll */
    ck_assert_int_eq(bcast_reader_poll(t.r, count_calls, users, 10), 2);
    ck_assert_uint_eq(users[0], 2);
    ck_assert_uint_eq(users[1], 6);
    ck_assert_uint_eq(users[2], 8);
    ck_assert_uint_eq(f.n, 8);
    /* -ERANGE on a kept message, then the filter asked again for it */
    send_seq(t.w, 10, 40);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, 8, t.m), -ERANGE);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 10);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 40);
    ck_assert_uint_eq(f.seen[f.n - 1], 10);

    /* NULL removes it */
    send_seq(t.w, 11, 1);
    send_seq(t.w, 13, 1);
    bcast_reader_set_filter(t.r, NULL, &f);
    f.n = 0;
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 11);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 13);
    ck_assert_uint_eq(f.n, 0);

    /* a filter that keeps nothing: the frames are consumed, -EAGAIN */
    send_fixed(t.w, 20, 30);
    bcast_reader_set_filter(t.r, keep_none, &f);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), -EAGAIN);
    ck_assert_uint_eq(f.calls, 10);
    ck_assert_uint_eq(bcast_reader_position(t.r), hdr_producer(&t.c));
    ck_assert_int_eq(bcast_reader_poll(t.r, count_calls, users, 10), 0);

    /* read_bulk ignores the filter */
    {
        uint8_t bulk[1024];
        uint64_t start;
        size_t off = 0;
        ssize_t n;

        send_fixed(t.w, 30, 33);
        f.calls = 0;
        n = bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start);
        ck_assert_int_eq(n, 3 * 32);
        for (uint64_t seq = 30; seq < 33; seq++) {
            ck_assert_int_eq(bcast_bulk_next(bulk, (size_t)n, &off, start, t.m), 0);
            ck_assert_uint_eq(bcast_message_user_defined(t.m), seq);
        }
        ck_assert_int_eq(bcast_bulk_next(bulk, (size_t)n, &off, start, t.m), -EAGAIN);
        ck_assert_uint_eq(f.calls, 0);
    }
    rig_close(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* poll                                                                */

struct pctx {
    uint32_t users[64];
    int n;
    int stop_at;                /* return non-zero for this message (1-based) */
    int lap_at;                 /* overrun the reader while handling this one */
    struct bcast_writer *w;
    uint8_t buf[64];
};

static int handler(const struct bcast_message *m, void *ctx)
{
    struct pctx *p = ctx;
    uint32_t user = bcast_message_user_defined(m);

    ck_assert_int_lt(p->n, 64);
    p->users[p->n++] = user;
    ck_assert_int_eq(bcast_message_read(m, p->buf, sizeof p->buf), (int)bcast_message_len(m));
    ck_assert_uint_eq(seq_check(user, p->buf, bcast_message_len(m)), bcast_message_len(m));
    if (p->n == p->lap_at)
        send_fixed(p->w, 1000, 1040);
    return p->n == p->stop_at ? 7 : 0;
}

START_TEST(test_poll)
{
    struct rig t = rig_open(1024);
    struct pctx p = {{0}, 0, 0, 0, t.w, {0}};

    /* nothing pending, or limit 0: 0, nothing consumed */
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), 0);
    send_fixed(t.w, 0, 10);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 0), 0);
    ck_assert_int_eq(p.n, 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), 0);
    /* the limit */
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 2), 2);
    ck_assert_int_eq(p.n, 2);
    ck_assert_uint_eq(bcast_reader_position(t.r), 64);
    /* non-zero from the handler: that message is consumed and counted */
    p.stop_at = 5;
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 100), 3);
    ck_assert_int_eq(p.n, 5);
    ck_assert_uint_eq(bcast_reader_position(t.r), 5 * 32);
    /* the next poll goes on after it, to the end */
    p.stop_at = 0;
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, SIZE_MAX), 5);
    ck_assert_int_eq(p.n, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(p.users[i], (uint32_t)i);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, SIZE_MAX), 0);
    /* a handler that stops on the only message */
    p.stop_at = 11;
    send_fixed(t.w, 10, 11);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 1), 1);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 1), 0);
    rig_close(&t);
}
END_TEST

/* a handler that works on the reader it is called from, on message `at` */
struct rctx {
    struct bcast_reader *r;
    struct frec f;
    int at, what, n;
    uint32_t users[64];
};

enum { DO_FILTER, DO_UNFILTER, DO_RESET, DO_NEXT };

static int changer(const struct bcast_message *m, void *ctx)
{
    struct rctx *x = ctx;
    struct bcast_message *other;

    ck_assert_int_lt(x->n, 64);
    x->users[x->n++] = bcast_message_user_defined(m);
    if (x->n != x->at)
        return 0;
    switch (x->what) {
    case DO_FILTER:
        bcast_reader_set_filter(x->r, keep_even, &x->f);
        break;
    case DO_UNFILTER:
        bcast_reader_set_filter(x->r, NULL, NULL);
        break;
    case DO_RESET:
        ck_assert_int_eq(bcast_reader_reset(x->r), 0);
        break;
    case DO_NEXT: /* consume the following message behind the poll's back */
        other = bcast_message_new();
        ck_assert_int_eq(bcast_reader_next(x->r, other), 0);
        ck_assert_uint_eq(bcast_message_user_defined(other), x->users[x->n - 1] + 1);
        bcast_message_free(other);
        break;
    }
    return 0;
}

START_TEST(test_poll_handler_changes_reader)
{
    struct rig t = rig_open(4096);
    struct rctx x;

    /* a filter set by the handler applies from the next message on */
    memset(&x, 0, sizeof x);
    x.r = t.r, x.at = 2, x.what = DO_FILTER;
    send_fixed(t.w, 0, 10);
    ck_assert_int_eq(bcast_reader_poll(t.r, changer, &x, 100), 6);
    ck_assert_uint_eq(x.users[0], 0);
    ck_assert_uint_eq(x.users[1], 1);
    ck_assert_uint_eq(x.users[2], 2);
    ck_assert_uint_eq(x.users[3], 4);
    ck_assert_uint_eq(x.users[5], 8);
    ck_assert_uint_eq(bcast_reader_position(t.r), bcast_writer_position(t.w));
    /* ... and removed by it, likewise */
    send_fixed(t.w, 10, 20);
    x.n = 0, x.at = 1, x.what = DO_UNFILTER;
    ck_assert_int_eq(bcast_reader_poll(t.r, changer, &x, 100), 10);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(x.users[i], 10 + (uint32_t)i);
    /* a reset jumps to the producer: the poll ends there */
    send_fixed(t.w, 20, 30);
    x.n = 0, x.at = 3, x.what = DO_RESET;
    ck_assert_int_eq(bcast_reader_poll(t.r, changer, &x, 100), 3);
    ck_assert_uint_eq(bcast_reader_position(t.r), bcast_writer_position(t.w));
    /* a message the handler takes itself is not handed again */
    send_fixed(t.w, 30, 36);
    x.n = 0, x.at = 2, x.what = DO_NEXT;
    ck_assert_int_eq(bcast_reader_poll(t.r, changer, &x, 100), 5);
    ck_assert_uint_eq(x.users[1], 31);
    ck_assert_uint_eq(x.users[2], 33);
    ck_assert_uint_eq(x.users[4], 35);
    rig_close(&t);
}
END_TEST

START_TEST(test_poll_error_after_messages)
{
    struct rig t = rig_open(1024);
    struct pctx p = {{0}, 0, 0, 0, t.w, {0}};
    uint32_t saved;

    /* a corrupt third frame: two handed, then -EBADMSG from the next call */
    send_fixed(t.w, 0, 5);
    saved = frame_fields(&t.c, 64);
    put32(frame_at(&t.c, 64), F_FIN | 900);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), 2);
    ck_assert_int_eq(p.n, 2);
    ck_assert_uint_eq(bcast_reader_position(t.r), 64);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), -EBADMSG);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), -EBADMSG);
    ck_assert_int_eq(p.n, 2);
    put32(frame_at(&t.c, 64), saved);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), 3);
    ck_assert_int_eq(p.n, 5);

    /* overrun while handling the second message: 2, then -ENOBUFS */
    send_fixed(t.w, 5, 10);
    p.n = 0;
    p.lap_at = 2;
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), 2);
    ck_assert_int_eq(p.n, 2);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), -ENOBUFS);
    ck_assert_int_eq(p.n, 2);
    ck_assert_int_eq(bcast_reader_reset(t.r), 0);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), 0);
    send_fixed(t.w, 10, 11);
    ck_assert_int_eq(bcast_reader_poll(t.r, handler, &p, 10), 1);
    ck_assert_uint_eq(p.users[2], 10);
    rig_close(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* message kinds                                                       */

START_TEST(test_zero_length_and_heartbeats)
{
    struct rig t = rig_open(64);

    for (uint32_t i = 0; i < 100; i++) {
        if (i % 2) {
            ck_assert_int_eq(bcast_writer_heartbeat(t.w, i), 0);
        } else {
            ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, i, 0), 0);
        }
        if (i % 3 == 0) {
            ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
            ck_assert_int_eq(bcast_message_read(t.m, NULL, 0), 0);
        } else {
            ck_assert_int_eq(bcast_reader_receive(t.r, NULL, 0, t.m), 0);
        }
        ck_assert_uint_eq(bcast_message_len(t.m), 0);
        ck_assert_uint_eq(bcast_message_user_defined(t.m), i);
        ck_assert_uint_eq(bcast_message_position(t.m), i * 8);
        ck_assert_int_eq(bcast_message_flags(t.m), i % 2 ? BCAST_HEARTBEAT : 0);
    }
    /* a heartbeat with a payload, sent as one */
    ck_assert_int_eq(bcast_writer_send(t.w, "hb", 2, 5, BCAST_HEARTBEAT), 0);
    {
        char buf[4];
        ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 2);
        ck_assert_mem_eq(buf, "hb", 2);
        ck_assert_int_eq(bcast_message_flags(t.m), BCAST_HEARTBEAT);
    }
    rig_close(&t);
}
END_TEST

START_TEST(test_deferred_message)
{
    struct rig t = rig_open(1024);
    struct bcast_message *a = bcast_message_new(), *b = bcast_message_new();
    uint8_t buf[64];

    send_fixed(t.w, 0, 3);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    ck_assert_int_eq(bcast_message_copy(a, t.m), 0);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    ck_assert_int_eq(bcast_message_copy(b, t.m), 0);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    /* read out of order, later, while the writer goes on (less than a lap) */
    send_fixed(t.w, 3, 20);
    ck_assert_int_eq(bcast_message_read(b, buf, sizeof buf), 24);
    ck_assert_uint_eq(seq_check(1, buf, 24), 24);
    ck_assert_int_eq(bcast_message_read(a, buf, sizeof buf), 24);
    ck_assert_uint_eq(seq_check(0, buf, 24), 24);
    ck_assert_int_eq(bcast_message_read(a, buf, sizeof buf), 24);
    ck_assert_uint_eq(bcast_message_user_defined(a), 0);
    ck_assert_uint_eq(bcast_message_position(b), 32);
    /* the writer laps them: -ENOBUFS, never the new bytes */
    send_fixed(t.w, 20, 40);
    ck_assert_int_eq(bcast_message_read(a, buf, sizeof buf), -ENOBUFS);
    ck_assert_int_eq(bcast_message_read(b, buf, sizeof buf), -ENOBUFS);
    ck_assert_int_eq(bcast_message_read(t.m, buf, sizeof buf), -ENOBUFS);
    /* -ERANGE is checked first and says nothing of overruns */
    ck_assert_int_eq(bcast_message_read(a, buf, 1), -ERANGE);
    bcast_message_free(a);
    bcast_message_free(b);
    rig_close(&t);
}
END_TEST

START_TEST(test_fragments)
{
    struct rig t = rig_open(1024);
    static const int want[] = {
        BCAST_MORE, BCAST_MORE | BCAST_CONTINUATION, BCAST_HEARTBEAT,
        BCAST_MORE | BCAST_CONTINUATION, BCAST_CONTINUATION, 0,
        BCAST_MORE, 0, /* a train cut by a writer that went away */
    };
    char buf[16];
    void *p;

    ck_assert_int_eq(bcast_writer_send(t.w, "f0", 2, 1, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "f1", 2, 1, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 2), 0);
    ck_assert_int_eq(bcast_writer_claim(t.w, 2, 1, BCAST_MORE, &p), 0);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_int_eq(bcast_writer_claim(t.w, 2, 1, BCAST_MORE, &p), 0);
    memcpy(p, "f2", 2);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "f3", 2, 1, 0), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "solo", 4, 3, 0), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "cut", 3, 4, BCAST_MORE), 0);
    bcast_writer_close(t.w);
    ck_assert_int_eq(bcast_writer_join(t.c.mem, t.c.size, &t.w), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "new", 3, 5, 0), 0);

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_int_ge(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 0);
        ck_assert_msg(bcast_message_flags(t.m) == want[i], "frame %zu: flags %d, not %d", i,
                      bcast_message_flags(t.m), want[i]);
        if (i == 4)
            ck_assert_mem_eq(buf, "f3", 2);
    }
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), -EAGAIN);
    rig_close(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* another process                                                     */

static int child_reads(const uint8_t *mem, size_t size, unsigned count)
{
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    uint8_t buf[512];
    int rc;

    /* the parent creates the channel after the fork: not ready yet */
    while ((rc = bcast_reader_open_at(mem, size, 0, &r)) == -EAGAIN)
        sched_yield();
    if (rc < 0 || !m)
        return 2;
    if (memcmp(bcast_reader_metadata(r), "xproc", 6) != 0)
        return 3;
    for (unsigned seq = 0; seq < count;) {
        ssize_t n = bcast_reader_receive(r, buf, sizeof buf, m);
        size_t len = seq_len(seq, 300);

        if (n == -EAGAIN) {
            sched_yield();
            continue;
        }
        if (n != (ssize_t)len || bcast_message_user_defined(m) != seq ||
            seq_check(seq, buf, len) != len)
            return 4;
        seq++;
    }
    rc = bcast_reader_next(r, m) == -EAGAIN ? 0 : 5;
    bcast_reader_close(r);
    bcast_message_free(m);
    return rc;
}

START_TEST(test_other_process)
{
    const size_t cap = 1 << 20, size = bcast_channel_size(cap);
    const unsigned count = 3000; /* about 480 KiB: no overrun is possible */
    uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct bcast_writer *w;
    pid_t pid;
    int status;

    ck_assert_ptr_ne(mem, MAP_FAILED);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_reads(mem, size, count));
    ck_assert_int_eq(bcast_writer_create(mem, size, "xproc", 6, &w), 0);
    for (unsigned seq = 0; seq < count; seq++)
        send_seq(w, seq, seq_len(seq, 300));
    bcast_writer_close(w);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    munmap(mem, size);
}
END_TEST

SUITE(reader)
{
    TCase *tc = suite_case(s, "open", 20);

    tcase_add_test(tc, test_open_einval);
    tcase_add_test(tc, test_open_bad_header);
    tcase_add_test(tc, test_open_getters);
    tcase_add_test(tc, test_null_reader);
    tcase_add_test(tc, test_open_at);
    tcase_add_test(tc, test_open_at_ahead);
    tcase_add_test(tc, test_open_last_lap);
    tcase_add_test(tc, test_other_process);

    tc = suite_case(s, "wrap", 60);
    tcase_add_loop_test(tc, test_wrap_capacities, 4, 24); /* 16 B .. 8 MiB */
    tcase_add_loop_test(tc, test_wrap_2_64, 0, 12);
    tcase_add_test(tc, test_open_at_across_2_64);

    tc = suite_case(s, "errors", 0);
    tcase_add_test(tc, test_lapped_reader);
    tcase_add_test(tc, test_overrun_rule_exact);
    tcase_add_test(tc, test_overrun_follows_claimed);
    tcase_add_test(tc, test_caught_up_reader_not_overrun_by_padding);
    tcase_add_test(tc, test_erange);
    tcase_add_test(tc, test_ebadmsg);
    tcase_add_test(tc, test_fast_frame_past_ring_end);
    tcase_add_test(tc, test_frame_over_mtu_is_ebadmsg);
    tcase_add_test(tc, test_misaligned_producer_after_open);
    tcase_add_loop_test(tc, test_damaged_memory, 0, 4);

    tc = suite_case(s, "caught_up", 120);
    tcase_add_test(tc, test_caught_up_reader_never_overrun);
    tc = suite_case(s, "delivery", 0);
    tcase_add_loop_test(tc, test_filter_sees_every_frame_but_padding, 0, 4);
    tcase_add_test(tc, test_filter_calls);
    tcase_add_test(tc, test_poll);
    tcase_add_test(tc, test_poll_error_after_messages);
    tcase_add_test(tc, test_poll_handler_changes_reader);
    tcase_add_test(tc, test_zero_length_and_heartbeats);
    tcase_add_test(tc, test_deferred_message);
    tcase_add_test(tc, test_fragments);
}
