/*
 * check_message: the message handle, bulk reads (bcast_reader_read_bulk and
 * bcast_bulk_next), and the library-wide calls: bcast_strerror,
 * bcast_version and bcast_channel_size.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core-helpers.h"

#include <limits.h>

/* ------------------------------------------------------------------ */
/* the message handle                                                  */

START_TEST(test_new_message)
{
    struct bcast_message *m = bcast_message_new(), *d = bcast_message_new();
    uint8_t buf[8];

    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(bcast_message_len(m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 0);
    ck_assert_uint_eq(bcast_message_position(m), 0);
    ck_assert_int_eq(bcast_message_flags(m), 0);
    ck_assert_ptr_null(bcast_message_data(m));
    /* never filled: -EINVAL, even with room for anything */
    ck_assert_int_eq(bcast_message_read(m, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(bcast_message_read(m, NULL, 0), -EINVAL);
    /* a copy of an empty message is empty */
    ck_assert_int_eq(bcast_message_copy(d, m), 0);
    ck_assert_int_eq(bcast_message_read(d, buf, sizeof buf), -EINVAL);
    bcast_message_free(d);
    bcast_message_free(m);
    bcast_message_free(NULL);
}
END_TEST

START_TEST(test_null_message)
{
    struct bcast_message *m = bcast_message_new();
    uint8_t buf[8];

    ck_assert_uint_eq(bcast_message_len(NULL), 0);
    ck_assert_uint_eq(bcast_message_user_defined(NULL), 0);
    ck_assert_uint_eq(bcast_message_position(NULL), 0);
    ck_assert_int_eq(bcast_message_flags(NULL), -EINVAL);
    ck_assert_ptr_null(bcast_message_data(NULL));
    ck_assert_int_eq(bcast_message_read(NULL, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(bcast_message_copy(NULL, m), -EINVAL);
    ck_assert_int_eq(bcast_message_copy(m, NULL), -EINVAL);
    ck_assert_int_eq(bcast_message_copy(NULL, NULL), -EINVAL);
    bcast_message_free(m);
}
END_TEST

START_TEST(test_ring_message)
{
    struct rig t = rig_open(1024);
    struct bcast_message *d = bcast_message_new();
    uint8_t buf[128];

    send_seq(t.w, 1, 8);
    send_seq(t.w, 0xabcdef01u, 77);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    ck_assert_int_eq(bcast_message_copy(d, t.m), 0);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
    /* the copy still describes the first message */
    ck_assert_uint_eq(bcast_message_len(d), 8);
    ck_assert_uint_eq(bcast_message_user_defined(d), 1);
    ck_assert_uint_eq(bcast_message_position(d), 0);
    ck_assert_uint_eq(bcast_message_len(t.m), 77);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 0xabcdef01u);
    ck_assert_uint_eq(bcast_message_position(t.m), 16);
    ck_assert_int_eq(bcast_message_flags(t.m), 0);
    /* a ring message has no data pointer: it must be read, with the check */
    ck_assert_ptr_null(bcast_message_data(t.m));
    ck_assert_int_eq(bcast_message_read(t.m, buf, 76), -ERANGE);
    ck_assert_int_eq(bcast_message_read(t.m, NULL, 0), -ERANGE);
    ck_assert_int_eq(bcast_message_read(t.m, NULL, 77), -EINVAL);
    memset(buf, 0, sizeof buf);
    ck_assert_int_eq(bcast_message_read(t.m, buf, 77), 77);
    ck_assert_uint_eq(seq_check(0xabcdef01u, buf, 77), 77);
    ck_assert_uint_eq(buf[77], 0); /* not a byte more */
    /* read as often as wanted */
    ck_assert_int_eq(bcast_message_read(t.m, buf, sizeof buf), 77);
    ck_assert_int_eq(bcast_message_read(d, buf, sizeof buf), 8);
    ck_assert_uint_eq(seq_check(1, buf, 8), 8);
    bcast_message_free(d);
    rig_close(&t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* bulk reads                                                          */

struct sent {
    uint64_t pos;
    uint64_t seq;
    size_t len;
    int flags;
};

/* the frame header length at a stream position, from the ring */
static uint64_t flen_at(const struct chan *c, uint64_t pos)
{
    return frame_len(frame_fields(c, pos) & F_LEN);
}

/*
 * Bulk windows over mixed traffic: messages, fragments, heartbeats and
 * aborted claims, read with caps that vary from window to window.  Every
 * window ends on a frame boundary, holds as many whole frames as fit in
 * cap, and bcast_bulk_next hands back exactly the messages sent.  Loop 1
 * starts the stream 5000 bytes before 2^64.
 */
/*
 * A message belongs to the channel that filled it.  A read that fails on
 * another channel leaves it as it was: afterwards it is still checked
 * against its own channel's frontier, so once its frame is overwritten
 * bcast_message_read says -ENOBUFS instead of handing the new bytes over
 * as the message.
 */
START_TEST(test_failed_read_keeps_message)
{
    struct rig a = rig_open(1024), b = rig_open(1024);
    uint8_t buf[64];
    send_seq(a.w, 1, 24);
    ck_assert_int_eq(bcast_reader_next(a.r, a.m), 0);
    ck_assert_uint_eq(bcast_message_position(a.m), 0);
    /* channel b has nothing: every read fails, the message stays a's */
    ck_assert_int_eq(bcast_reader_next(b.r, a.m), -EAGAIN);
    ck_assert_int_eq(bcast_reader_receive(b.r, buf, sizeof buf, a.m), -EAGAIN);
    ck_assert_int_eq(bcast_reader_receive(b.r, buf, 8, a.m), -EAGAIN);
    ck_assert_uint_eq(bcast_message_position(a.m), 0);
    ck_assert_int_eq(bcast_message_read(a.m, buf, sizeof buf), 24);
    ck_assert_uint_eq(seq_check(1, buf, 24), 24);
    /* a's writer laps the message; b's frontier is still 0 */
    for (uint64_t seq = 2; seq < 80; seq++)
        send_seq(a.w, seq, 24);
    ck_assert_int_eq(bcast_reader_next(b.r, a.m), -EAGAIN);
    ck_assert_int_eq(bcast_message_read(a.m, buf, sizeof buf), -ENOBUFS);
    /* an overrun on b leaves it too */
    for (uint64_t seq = 0; seq < 80; seq++)
        send_seq(b.w, seq, 24);
    ck_assert_int_eq(bcast_reader_next(b.r, a.m), -ENOBUFS);
    ck_assert_int_eq(bcast_message_read(a.m, buf, sizeof buf), -ENOBUFS);
    rig_close(&a);
    rig_close(&b);
}
END_TEST

START_TEST(test_bulk_windows)
{
    static const uint64_t starts[] = {0, (uint64_t)0 - 5000};
    const size_t cap = 4096, reserve = 64;
    struct rig t = rig_writer(cap);
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    struct sent q[512];
    size_t nq = 0, head = 0;
    /* big messages stay 64 bytes under the MTU: with the padding frame in
       front of one and the reserve, a reader that read everything is never
       overrun (test_overrun_by_padding_and_reserve in check_reader) */
    const size_t big = bcast_writer_mtu(t.w) - reserve;
    uint8_t *bulk = malloc(cap);
    uint8_t out[2048];
    uint64_t pos, seq = 0, windows = 0, erange = 0, paddings = 0;

    ck_assert_ptr_nonnull(bulk);
    ck_assert_uint_eq(default_reserve(cap), reserve);
    bcast_writer_close(t.w);
    poke_positions(&t.c, starts[_i]);
    ck_assert_int_eq(bcast_writer_join(t.c.mem, t.c.size, &t.w), 0);
    r = chan_reader(&t.c);
    pos = starts[_i];

    for (int round = 0; round < 300; round++) {
        const uint64_t rpos = pos; /* the reader has read everything */

        /* write until the next frame would let the frontier pass the reader */
        for (;;) {
            int kind = (int)(seq % 7);
            size_t len = kind == 5 ? 0 : seq_len(seq, seq % 9 == 0 ? big : 120);
            uint64_t at = frame_place(pos, frame_len(len), cap), end = at + frame_len(len);
            void *p;

            if (end + reserve - rpos > cap)
                break;
            if (kind == 3) { /* aborted claim */
                ck_assert_int_eq(bcast_writer_claim(t.w, len, 0, 0, &p), 0);
                ck_assert_int_eq(bcast_writer_abort(t.w), 0);
            } else if (kind == 5) {
                ck_assert_int_eq(bcast_writer_heartbeat(t.w, (uint32_t)seq), 0);
                q[(head + nq++) % 512] = (struct sent){at, seq, 0, BCAST_HEARTBEAT};
            } else if (kind == 1) { /* the first of two fragments */
                ck_assert_int_eq(bcast_writer_claim(t.w, len, (uint32_t)seq, BCAST_MORE, &p), 0);
                seq_fill(seq, p, len);
                ck_assert_int_eq(bcast_writer_commit(t.w), 0);
                q[(head + nq++) % 512] = (struct sent){at, seq, len, BCAST_MORE};
            } else {
                send_seq(t.w, seq, len);
                q[(head + nq++) % 512] =
                    (struct sent){at, seq, len, kind == 2 ? BCAST_CONTINUATION : 0};
            }
            ck_assert_uint_lt(nq, 512);
            if (at != pos)
                paddings++;
            pos = end;
            seq++;
        }
        ck_assert_uint_eq(hdr_producer(&t.c), pos);

        /* read it all back in windows */
        for (;;) {
            size_t wcap = 16 + (size_t)((windows * 7919) % 2100) / 8 * 8;
            uint64_t before = bcast_reader_position(r), start = 0;
            ssize_t n = bcast_reader_read_bulk(r, bulk, wcap, &start);
            size_t off = 0;

            if (n == -EAGAIN) {
                ck_assert_uint_eq(bcast_reader_position(r), pos);
                break;
            }
            if (n == -ERANGE) {
                /* the next frame (after a lap-end padding frame) is bigger than wcap */
                uint64_t at = bcast_reader_position(r);

                ck_assert(at == before || (at & (cap - 1)) == 0);
                ck_assert_uint_gt(flen_at(&t.c, at), wcap);
                erange++;
                wcap = cap / 2; /* always enough */
                n = bcast_reader_read_bulk(r, bulk, wcap, &start);
            }
            ck_assert_int_gt(n, 0);
            windows++;
            ck_assert_uint_le((size_t)n, wcap);
            ck_assert_uint_eq(n % 8, 0);
            ck_assert_uint_eq(bcast_reader_position(r), start + (uint64_t)n);
            /* the start is the reader's position, or the next lap after a padding frame */
            ck_assert(start == before || (start & (cap - 1)) == 0);
            /* whole frames, as many as fit */
            if (start + (uint64_t)n != pos)
                ck_assert_uint_gt((uint64_t)n + flen_at(&t.c, start + (uint64_t)n), wcap);
            while (bcast_bulk_next(bulk, (size_t)n, &off, start, m) == 0) {
                const struct sent *e = &q[head];

                ck_assert_uint_gt(nq, 0);
                ck_assert_uint_eq(bcast_message_position(m), e->pos);
                ck_assert_uint_eq(bcast_message_len(m), e->len);
                ck_assert_uint_eq(bcast_message_user_defined(m), (uint32_t)e->seq);
                ck_assert_int_eq(bcast_message_flags(m), e->flags);
                ck_assert_ptr_eq(bcast_message_data(m),
                                 bulk + (bcast_message_position(m) - start) + 8);
                ck_assert_uint_eq(seq_check(e->seq, bcast_message_data(m), e->len), e->len);
                ck_assert_int_eq(bcast_message_read(m, out, sizeof out), (ssize_t)e->len);
                ck_assert_uint_eq(seq_check(e->seq, out, e->len), e->len);
                head = (head + 1) % 512;
                nq--;
            }
            ck_assert_uint_eq(off, (size_t)n);
        }
        ck_assert_uint_eq(nq, 0);
    }
    ck_assert_uint_gt(paddings, 20);
    ck_assert_uint_gt(erange, 10);
    ck_assert_uint_gt(windows, 300);
    free(bulk);
    bcast_message_free(m);
    bcast_reader_close(r);
    rig_close(&t);
}
END_TEST

START_TEST(test_bulk_erange)
{
    struct rig t = rig_open(1024);
    uint8_t bulk[1024];
    uint64_t start = 77;

    send_seq(t.w, 1, 504); /* a 512-byte frame */
    send_seq(t.w, 2, 0);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 511, &start), -ERANGE);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 8, &start), -ERANGE);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 7, &start), -ERANGE);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 0, &start), -ERANGE);
    ck_assert_uint_eq(bcast_reader_position(t.r), 0);
    ck_assert_uint_eq(start, 77);
    /* capacity / 2 always suffices */
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 512, &start), 512);
    ck_assert_uint_eq(start, 0);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 8, NULL), 8);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 8, &start), -EAGAIN);
    ck_assert_uint_eq(bcast_reader_position(t.r), 520);
    rig_close(&t);
}
END_TEST

/*
 * The worst case for cap = capacity / 2: the biggest lap-end padding frame
 * there is (capacity/2 - 8 bytes of it) and then an MTU frame.  The padding
 * frame is not copied; the window is the MTU frame and starts the lap.
 */
START_TEST(test_bulk_half_capacity_after_padding)
{
    for (size_t cap = 32; cap <= 65536; cap *= 2) {
        struct rig t = rig_writer(cap);
        struct bcast_reader *r;
        struct bcast_message *m = bcast_message_new();
        uint8_t *bulk = malloc(cap / 2);
        size_t mtu = bcast_writer_mtu(t.w), off = 0;
        uint64_t start;

        /* with a larger reserve the padding, frame and reserve would overrun the reader */
        ck_assert_int_eq(bcast_writer_set_reserve(t.w, 8), 0);
        send_seq(t.w, 0, mtu);   /* 0 .. cap/2 */
        send_seq(t.w, 1, 0);     /* cap/2 .. cap/2 + 8 */
        ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, cap / 2 + 8, &r), 0);
        send_seq(t.w, 2, mtu);   /* padding of cap/2 - 8, then the frame at cap */
        ck_assert_uint_eq(frame_fields(&t.c, cap / 2 + 8), F_FIN | F_PAD | (uint32_t)(cap / 2 - 16));
        ck_assert_int_eq(bcast_reader_read_bulk(r, bulk, cap / 2, &start), (ssize_t)(cap / 2));
        ck_assert_uint_eq(start, cap);
        ck_assert_uint_eq(bcast_reader_position(r), cap + cap / 2);
        ck_assert_int_eq(bcast_bulk_next(bulk, cap / 2, &off, start, m), 0);
        ck_assert_uint_eq(bcast_message_len(m), mtu);
        ck_assert_uint_eq(bcast_message_user_defined(m), 2);
        ck_assert_uint_eq(bcast_message_position(m), cap);
        ck_assert_uint_eq(seq_check(2, bcast_message_data(m), mtu), mtu);
        ck_assert_int_eq(bcast_bulk_next(bulk, cap / 2, &off, start, m), -EAGAIN);
        free(bulk);
        bcast_message_free(m);
        bcast_reader_close(r);
        rig_close(&t);
    }
}
END_TEST

START_TEST(test_bulk_eagain)
{
    struct rig t = rig_open(1024);
    uint8_t bulk[1024];
    uint64_t start = 99;
    size_t off = 0;
    void *p;

    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -EAGAIN);
    ck_assert_uint_eq(start, 99);
    ck_assert_uint_eq(bcast_reader_position(t.r), 0);
    /* only an aborted claim pending: a window of one padding frame, no message */
    ck_assert_int_eq(bcast_writer_claim(t.w, 10, 1, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), 24);
    ck_assert_uint_eq(start, 0);
    ck_assert_int_eq(bcast_bulk_next(bulk, 24, &off, start, t.m), -EAGAIN);
    ck_assert_uint_eq(off, 24);
    ck_assert_uint_eq(bcast_reader_position(t.r), 24);
    /* an aborted claim that ends the lap is skipped like lap-end padding */
    send_seq(t.w, 1, 504);                          /* 24 .. 536 */
    send_seq(t.w, 2, 448);                          /* 536 .. 992 */
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), 968);
    ck_assert_int_eq(bcast_writer_claim(t.w, 24, 1, 0, &p), 0); /* 992 .. 1024 */
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -EAGAIN);
    ck_assert_uint_eq(bcast_reader_position(t.r), 1024);
    send_seq(t.w, 3, 5);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), 16);
    ck_assert_uint_eq(start, 1024);
    rig_close(&t);
}
END_TEST

START_TEST(test_bulk_enobufs)
{
    struct rig t = rig_open(1024);
    uint8_t bulk[2048];
    uint64_t start = 5;

    for (uint64_t seq = 0; seq < 3; seq++)
        send_seq(t.w, seq, 100);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 112, &start), 112);
    for (uint64_t seq = 3; seq < 30; seq++)
        send_seq(t.w, seq, 100);
    start = 5;
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, 16, &start), -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(t.r), 112);
    ck_assert_uint_eq(start, 5);
    ck_assert_int_eq(bcast_reader_reset(t.r), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), hdr_producer(&t.c));
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -EAGAIN);
    send_seq(t.w, 30, 1);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), 16);
    ck_assert_uint_eq(start, hdr_producer(&t.c) - 16);
    rig_close(&t);
}
END_TEST

/*
 * A channel that ends where a PROT_NONE page begins: any read past the
 * data section faults.  A lapped reader may be many laps behind the
 * producer; a bulk window bigger than the ring must still not copy more
 * than one ring's worth of bytes out of it.
 */
START_TEST(test_bulk_lapped_stays_in_ring)
{
    const size_t cap = 1024;
    struct chan c = chan_alloc_guarded(cap, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r = chan_reader(&c);
    uint8_t bulk[8192];
    uint64_t start = 3;
    ssize_t n;

    for (uint64_t seq = 0; seq < 200; seq++)
        send_seq(w, seq, 100);
    for (size_t cap_bulk = 16; cap_bulk <= sizeof bulk; cap_bulk *= 2)
        ck_assert_int_eq(bcast_reader_read_bulk(r, bulk, cap_bulk, &start), -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    ck_assert_uint_eq(start, 3);
    /* a frontier that does not say so (damaged): still no read out of the ring */
    put64(c.mem + OFF_CLAIMED, 0);
    n = bcast_reader_read_bulk(r, bulk, sizeof bulk, &start);
    ck_assert(n == -EBADMSG || (n > 0 && (size_t)n <= cap));
    bcast_reader_close(r);
    bcast_writer_close(w);
    chan_free_guarded(&c);
}
END_TEST

START_TEST(test_bulk_ebadmsg)
{
    struct rig t = rig_open(1024);
    uint8_t bulk[1024];
    uint64_t start = 5;
    uint32_t saved;
    size_t off = 0;

    for (uint64_t seq = 0; seq < 5; seq++)
        send_seq(t.w, seq, 24); /* 32-byte frames */
    /* a corrupt first frame */
    saved = frame_fields(&t.c, 0);
    put32(frame_at(&t.c, 0), F_FIN | 2000);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -EBADMSG);
    put32(frame_at(&t.c, 0), F_FIN | 200); /* inside the ring, past the producer */
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -EBADMSG);
    ck_assert_uint_eq(bcast_reader_position(t.r), 0);
    ck_assert_uint_eq(start, 5);
    put32(frame_at(&t.c, 0), saved);
    /* a corrupt third frame: the window stops before it, then -EBADMSG */
    put32(frame_at(&t.c, 64), F_FIN | 2000);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), 64);
    ck_assert_uint_eq(start, 0);
    ck_assert_int_eq(bcast_bulk_next(bulk, 64, &off, start, t.m), 0);
    ck_assert_int_eq(bcast_bulk_next(bulk, 64, &off, start, t.m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 1);
    ck_assert_int_eq(bcast_bulk_next(bulk, 64, &off, start, t.m), -EAGAIN);
    ck_assert_int_eq(bcast_reader_read_bulk(t.r, bulk, sizeof bulk, &start), -EBADMSG);
    ck_assert_uint_eq(bcast_reader_position(t.r), 64);
    ck_assert_int_eq(bcast_reader_reset(t.r), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), 160);
    rig_close(&t);
}
END_TEST

START_TEST(test_bulk_next)
{
    struct bcast_message *m = bcast_message_new();
    uint64_t buf64[16];
    uint8_t *buf = (uint8_t *)buf64, out[16];
    size_t off = 0;

    /* a hand-made window at stream position 4096: "abc" user 9 with MORE,
       a padding frame, a heartbeat user 3, "z" FIN|CONTINUATION */
    memset(buf64, 0, sizeof buf64);
    put32(buf, 3);
    put32(buf + 4, 9);
    memcpy(buf + 8, "abc", 3);
    put32(buf + 16, F_FIN | F_PAD | 8);
    put32(buf + 32, F_FIN | F_HB);
    put32(buf + 36, 3);
    put32(buf + 40, F_FIN | F_CONT | 1);
    buf[48] = 'z';

    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 4096, m), 0);
    ck_assert_uint_eq(off, 16);
    ck_assert_uint_eq(bcast_message_len(m), 3);
    ck_assert_uint_eq(bcast_message_user_defined(m), 9);
    ck_assert_uint_eq(bcast_message_position(m), 4096);
    ck_assert_int_eq(bcast_message_flags(m), BCAST_MORE);
    ck_assert_ptr_eq(bcast_message_data(m), buf + 8);
    ck_assert_int_eq(bcast_message_read(m, out, 2), -ERANGE);
    ck_assert_int_eq(bcast_message_read(m, out, 3), 3);
    ck_assert_mem_eq(out, "abc", 3);
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 4096, m), 0); /* past the padding */
    ck_assert_uint_eq(off, 40);
    ck_assert_uint_eq(bcast_message_len(m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(m), 3);
    ck_assert_uint_eq(bcast_message_position(m), 4096 + 32);
    ck_assert_int_eq(bcast_message_flags(m), BCAST_HEARTBEAT);
    ck_assert_int_eq(bcast_message_read(m, NULL, 0), 0);
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 4096, m), 0);
    ck_assert_int_eq(bcast_message_flags(m), BCAST_CONTINUATION);
    ck_assert_ptr_eq(bcast_message_data(m), buf + 48);
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 4096, m), -EAGAIN);
    ck_assert_uint_eq(off, 56);
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 4096, m), -EAGAIN);

    /* a window that ends in padding: -EAGAIN at its end */
    off = 0;
    ck_assert_int_eq(bcast_bulk_next(buf, 32, &off, 0, m), 0);
    ck_assert_int_eq(bcast_bulk_next(buf, 32, &off, 0, m), -EAGAIN);
    ck_assert_uint_eq(off, 32);

    /* -EINVAL */
    off = 0;
    ck_assert_int_eq(bcast_bulk_next(NULL, 56, &off, 0, m), -EINVAL);
    ck_assert_int_eq(bcast_bulk_next(buf, 56, NULL, 0, m), -EINVAL);
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 0, NULL), -EINVAL);
    for (off = 1; off < 8; off++)
        ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 0, m), -EINVAL);
    off = 20;
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 0, m), -EINVAL);
    off = 64;
    ck_assert_int_eq(bcast_bulk_next(buf, 56, &off, 0, m), -EINVAL);
    ck_assert_uint_eq(off, 64);

    /* -EBADMSG: fewer than 8 bytes left, or a frame past the end */
    for (size_t len = 1; len < 8; len++) {
        off = 0;
        ck_assert_int_eq(bcast_bulk_next(buf, len, &off, 0, m), -EBADMSG);
        ck_assert_uint_eq(off, 0);
    }
    off = 16;
    ck_assert_int_eq(bcast_bulk_next(buf, 20, &off, 0, m), -EBADMSG);
    for (size_t len = 8; len < 16; len++) {
        off = 0;
        ck_assert_int_eq(bcast_bulk_next(buf, len, &off, 0, m), -EBADMSG);
        ck_assert_uint_eq(off, 0);
    }
    off = 16; /* the padding frame runs past a window cut at 24 */
    ck_assert_int_eq(bcast_bulk_next(buf, 24, &off, 0, m), -EBADMSG);
    off = 40;
    ck_assert_int_eq(bcast_bulk_next(buf, 48, &off, 0, m), -EBADMSG);
    put32(buf, F_FIN | F_LEN);
    off = 0;
    ck_assert_int_eq(bcast_bulk_next(buf, sizeof buf64, &off, 0, m), -EBADMSG);
    bcast_message_free(m);
}
END_TEST

START_TEST(test_bulk_message_outlives_reader)
{
    /* a bulk message refers to the caller's buffer only */
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r = chan_reader(&c);
    struct bcast_message *m = bcast_message_new(), *d = bcast_message_new();
    uint8_t bulk[512], out[64];
    uint64_t start;
    size_t off = 0;
    ssize_t n;

    send_seq(w, 4, 40);
    n = bcast_reader_read_bulk(r, bulk, sizeof bulk, &start);
    ck_assert_int_eq(n, 48);
    ck_assert_int_eq(bcast_bulk_next(bulk, (size_t)n, &off, start, m), 0);
    ck_assert_int_eq(bcast_message_copy(d, m), 0);
    bcast_reader_close(r);
    bcast_writer_close(w);
    memset(c.mem, 0, c.size);
    chan_free(&c);
    ck_assert_ptr_eq(bcast_message_data(d), bulk + 8);
    ck_assert_int_eq(bcast_message_read(d, out, sizeof out), 40);
    ck_assert_uint_eq(seq_check(4, out, 40), 40);
    bcast_message_free(d);
    bcast_message_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* library                                                             */

START_TEST(test_strerror)
{
    static const int codes[] = {0, -EAGAIN, -ENOBUFS, -EMSGSIZE, -ERANGE, -EBADMSG,
                                -EPROTO, -EPROTONOSUPPORT, -EBUSY, -EINVAL};
    const size_t n = sizeof codes / sizeof codes[0];
    const char *unknown = bcast_strerror(-123456);

    ck_assert_ptr_nonnull(unknown);
    for (size_t i = 0; i < n; i++) {
        const char *s = bcast_strerror(codes[i]);

        ck_assert_ptr_nonnull(s);
        ck_assert_uint_gt(strlen(s), 0);
        ck_assert_str_ne(s, unknown);
        /* static text: the same every time */
        ck_assert_ptr_eq(bcast_strerror(codes[i]), s);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, bcast_strerror(codes[j])) != 0, "%d and %d read the same",
                          codes[i], codes[j]);
    }
    /* OS codes passed through by the file calls are described too */
    ck_assert_ptr_nonnull(bcast_strerror(-ENOENT));
    ck_assert_str_ne(bcast_strerror(-ENOENT), bcast_strerror(-EINVAL));
    ck_assert_ptr_nonnull(bcast_strerror(INT_MIN));
    ck_assert_ptr_nonnull(bcast_strerror(INT_MAX));
}
END_TEST

START_TEST(test_version)
{
    char buf[64];

    ck_assert_ptr_nonnull(bcast_version());
    ck_assert_str_eq(bcast_version(), BCAST_VERSION_STRING);
    snprintf(buf, sizeof buf, "%d.%d.%d", BCAST_VERSION_MAJOR, BCAST_VERSION_MINOR,
             BCAST_VERSION_PATCH);
    ck_assert_str_eq(bcast_version(), buf);
    ck_assert_int_eq(BCAST_VERSION_NUMBER, BCAST_VERSION_AT(BCAST_VERSION_MAJOR,
                                                            BCAST_VERSION_MINOR,
                                                            BCAST_VERSION_PATCH));
    ck_assert_int_ge(BCAST_VERSION_NUMBER, BCAST_VERSION_AT(1, 0, 0));
}
END_TEST

START_TEST(test_channel_size)
{
    ck_assert_uint_eq(bcast_channel_size(16), 1664 + 16);
    ck_assert_uint_eq(bcast_channel_size(1024), 1664 + 1024);
    ck_assert_uint_eq(bcast_channel_size(1 << 20), 1664 + (1 << 20));
    ck_assert_uint_eq(bcast_channel_size((size_t)1 << 30), 1664 + ((size_t)1 << 30));
    for (size_t cap = 16; cap; cap <<= 1)
        if (cap <= SIZE_MAX - BCAST_HEADER_SIZE)
            ck_assert_uint_eq(bcast_channel_size(cap), BCAST_HEADER_SIZE + cap);
    /* not a power of two >= 16 */
    ck_assert_uint_eq(bcast_channel_size(0), 0);
    ck_assert_uint_eq(bcast_channel_size(1), 0);
    ck_assert_uint_eq(bcast_channel_size(8), 0);
    ck_assert_uint_eq(bcast_channel_size(15), 0);
    ck_assert_uint_eq(bcast_channel_size(24), 0);
    ck_assert_uint_eq(bcast_channel_size(1000), 0);
    ck_assert_uint_eq(bcast_channel_size(1025), 0);
    ck_assert_uint_eq(bcast_channel_size(SIZE_MAX), 0);
    ck_assert_uint_eq(bcast_channel_size(SIZE_MAX - BCAST_HEADER_SIZE), 0);
    /* what bcast_channel_size gives, create takes */
    for (size_t cap = 16; cap <= 4096; cap *= 2) {
        struct rig t = rig_writer(cap);
        ck_assert_uint_eq(bcast_writer_capacity(t.w), cap);
        rig_close(&t);
    }
}
END_TEST

SUITE(message)
{
    TCase *tc = suite_case(s, "message", 0);

    tcase_add_test(tc, test_new_message);
    tcase_add_test(tc, test_null_message);
    tcase_add_test(tc, test_ring_message);
    tcase_add_test(tc, test_failed_read_keeps_message);

    tc = suite_case(s, "bulk", 30);
    tcase_add_loop_test(tc, test_bulk_windows, 0, 2);
    tcase_add_test(tc, test_bulk_erange);
    tcase_add_test(tc, test_bulk_half_capacity_after_padding);
    tcase_add_test(tc, test_bulk_eagain);
    tcase_add_test(tc, test_bulk_enobufs);
    tcase_add_test(tc, test_bulk_lapped_stays_in_ring);
    tcase_add_test(tc, test_bulk_ebadmsg);
    tcase_add_test(tc, test_bulk_next);
    tcase_add_test(tc, test_bulk_message_outlives_reader);

    tc = suite_case(s, "library", 0);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_channel_size);
}
