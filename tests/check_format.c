/*
 * check_format: the bytes the writer puts in channel memory are the ones
 * doc/bcast-format.5 (the Rust crate's format, version 1) lays out.
 * Every expectation here is written from that page, not from src/ring.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core-helpers.h"

/* header bytes that bcast-format(5) lists; all others must be zero */
static int listed(size_t off)
{
    return off < 8 || (off >= OFF_PRODUCER && off < OFF_PRODUCER + 8) ||
           (off >= OFF_CLAIMED && off < OFF_CLAIMED + 8) || off == OFF_READY ||
           (off >= OFF_LAP && off < OFF_LAP + 8) || off >= OFF_METADATA;
}

static void assert_reserved_zero(const struct chan *c)
{
    for (size_t off = 0; off < OFF_DATA; off++)
        if (!listed(off))
            ck_assert_msg(c->mem[off] == 0, "header byte %zu is 0x%02x, not 0", off, c->mem[off]);
}

START_TEST(test_hello_world_example)
{
    /* bcast-format(5) EXAMPLE: 1 KiB channel, "hello" and "world" with user_defined 7 */
    static const uint8_t magic[8] = {0x42, 0x43, 0x53, 0x54, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t pos32[8] = {0x20, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t hello[16] = {0x05, 0x00, 0x00, 0x80, 0x07, 0x00, 0x00, 0x00,
                                      0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00};
    static const uint8_t world[16] = {0x05, 0x00, 0x00, 0x80, 0x07, 0x00, 0x00, 0x00,
                                      0x77, 0x6f, 0x72, 0x6c, 0x64, 0x00, 0x00, 0x00};
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = chan_writer(&c);

    ck_assert_uint_eq(c.size, 0x680 + 1024);
    ck_assert_int_eq(bcast_writer_send(w, "hello", 5, 7, 0), 0);
    ck_assert_int_eq(bcast_writer_send(w, "world", 5, 7, 0), 0);

    ck_assert_mem_eq(c.mem + 0x0000, magic, sizeof magic);
    ck_assert_mem_eq(c.mem + 0x0080, pos32, sizeof pos32);
    ck_assert_mem_eq(c.mem + 0x0100, pos32, sizeof pos32);
    ck_assert_uint_eq(c.mem[0x0180], 1);
    ck_assert_mem_eq(c.mem + 0x0680, hello, sizeof hello);
    ck_assert_mem_eq(c.mem + 0x0690, world, sizeof world);
    assert_reserved_zero(&c);
    for (size_t off = OFF_LAP; off < OFF_DATA; off++)
        ck_assert_uint_eq(c.mem[off], 0); /* lap 0, no metadata */
    for (size_t off = 0x6a0; off < c.size; off++)
        ck_assert_uint_eq(c.mem[off], 0); /* nothing written past the frames */
    ck_assert_uint_eq(bcast_writer_position(w), 32);

    bcast_writer_close(w);
    /* closing without a claim open writes nothing */
    ck_assert_mem_eq(c.mem + 0x0080, pos32, sizeof pos32);
    ck_assert_mem_eq(c.mem + 0x0100, pos32, sizeof pos32);
    chan_free(&c);
}
END_TEST

START_TEST(test_create_over_garbage)
{
    /* create over memory full of garbage: every header byte is defined */
    struct chan c = chan_alloc(4096, 0xa5);
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, "meta", 4, &w), 0);
    ck_assert_mem_eq(c.mem, "BCST", 4);
    ck_assert_uint_eq(get32(c.mem + OFF_VERSION) & 0xffff, 1);
    ck_assert_uint_eq(c.mem[OFF_FLAGS], 0);
    ck_assert_uint_eq(c.mem[OFF_FLAGS + 1], 0);
    ck_assert_uint_eq(hdr_producer(&c), 0);
    ck_assert_uint_eq(hdr_claimed(&c), 0);
    ck_assert_uint_eq(c.mem[OFF_READY], 1);
    ck_assert_uint_eq(hdr_lap(&c), 0);
    ck_assert_mem_eq(c.mem + OFF_METADATA, "meta", 4);
    for (size_t off = OFF_METADATA + 4; off < OFF_DATA; off++)
        ck_assert_uint_eq(c.mem[off], 0);
    assert_reserved_zero(&c);
    /* the data section is not the header's business: create leaves it */
    for (size_t off = OFF_DATA; off < c.size; off++)
        ck_assert_uint_eq(c.mem[off], 0xa5);
    bcast_writer_close(w);
    chan_free(&c);
}
END_TEST

START_TEST(test_metadata_bytes)
{
    struct chan c = chan_alloc(1024, 0x5a);
    struct bcast_writer *w = NULL;
    struct bcast_reader *r;
    uint8_t meta[BCAST_METADATA_SIZE];

    for (size_t i = 0; i < sizeof meta; i++)
        meta[i] = (uint8_t)(i * 7 + 1);
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, meta, sizeof meta, &w), 0);
    ck_assert_mem_eq(c.mem + OFF_METADATA, meta, sizeof meta);
    r = chan_reader(&c);
    ck_assert_ptr_eq(bcast_reader_metadata(r), c.mem + OFF_METADATA);
    ck_assert_mem_eq(bcast_reader_metadata(r), meta, sizeof meta);
    /* traffic never touches the metadata */
    for (int i = 0; i < 100; i++)
        send_seq(w, (uint64_t)i, seq_len((uint64_t)i, bcast_writer_mtu(w)));
    ck_assert_mem_eq(c.mem + OFF_METADATA, meta, sizeof meta);
    bcast_reader_close(r);
    bcast_writer_close(w);

    /* a new channel in the same memory without metadata: all zero */
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, NULL, 0, &w), 0);
    for (size_t off = OFF_METADATA; off < OFF_DATA; off++)
        ck_assert_uint_eq(c.mem[off], 0);
    bcast_writer_close(w);
    /* metadata_len 0 with a pointer: nothing copied */
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, meta, 0, &w), 0);
    for (size_t off = OFF_METADATA; off < OFF_DATA; off++)
        ck_assert_uint_eq(c.mem[off], 0);
    bcast_writer_close(w);
    chan_free(&c);
}
END_TEST

START_TEST(test_frame_header_fields)
{
    struct rig t = rig_writer(1024);
    uint8_t big[504];
    uint64_t pos = 0;

    /* zero-length message: an 8-byte frame, FIN, length 0 */
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 3, 0), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN);
    ck_assert_uint_eq(frame_user(&t.c, pos), 3);
    pos += 8;
    ck_assert_uint_eq(hdr_producer(&t.c), pos);

    /* user_defined is the whole second word */
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 0xfedcba98u, 0), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | 1);
    ck_assert_uint_eq(frame_user(&t.c, pos), 0xfedcba98u);
    ck_assert_uint_eq(frame_at(&t.c, pos)[8], 'x');
    pos += 16;

    /* lengths round up to 8 in the frame, not in the length field */
    for (size_t len = 1; len <= 24; len++) {
        seq_fill(len, big, len);
        ck_assert_int_eq(bcast_writer_send(t.w, big, len, (uint32_t)len, 0), 0);
        ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | len);
        ck_assert_mem_eq(frame_at(&t.c, pos) + 8, big, len);
        pos += frame_len(len);
        ck_assert_uint_eq(hdr_producer(&t.c), pos);
        ck_assert_uint_eq(bcast_writer_position(t.w), pos);
    }
    bcast_writer_close(t.w);

    /* an MTU message: 504 bytes in a 512-byte frame */
    t.w = chan_writer(&t.c);
    seq_fill(99, big, sizeof big);
    ck_assert_int_eq(bcast_writer_send(t.w, big, sizeof big, 1, 0), 0);
    ck_assert_uint_eq(frame_fields(&t.c, 0), F_FIN | 504);
    ck_assert_mem_eq(frame_at(&t.c, 0) + 8, big, sizeof big);
    ck_assert_uint_eq(hdr_producer(&t.c), 512);
    rig_close(&t);
}
END_TEST

START_TEST(test_claim_commit_bytes)
{
    struct rig t = rig_writer(1024);
    void *p = NULL;

    ck_assert_int_eq(bcast_writer_send(t.w, "abc", 3, 1, 0), 0); /* frame at 0..16 */
    ck_assert_uint_eq(hdr_claimed(&t.c), 32);
    ck_assert_int_eq(bcast_writer_claim(t.w, 10, 5, 0, &p), 0);
    ck_assert_ptr_eq(p, t.c.mem + OFF_DATA + 16 + 8);
    /* the claim's end (16 + 24) passed the frontier: it is published first */
    ck_assert_uint_eq(hdr_claimed(&t.c), 40 + 16);
    /* the frame is not committed yet */
    ck_assert_uint_eq(hdr_producer(&t.c), 16);
    ck_assert_uint_eq(bcast_writer_position(t.w), 16);
    memcpy(p, "0123456789", 10);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_uint_eq(frame_fields(&t.c, 16), F_FIN | 10);
    ck_assert_uint_eq(frame_user(&t.c, 16), 5);
    ck_assert_mem_eq(frame_at(&t.c, 16) + 8, "0123456789", 10);
    ck_assert_uint_eq(hdr_producer(&t.c), 40);
    ck_assert_uint_eq(bcast_writer_position(t.w), 40);
    rig_close(&t);
}
END_TEST

/* a padding frame fills the rest of the lap when a frame would not fit */
START_TEST(test_padding_at_lap_end)
{
    const size_t cap = 256;

    /* from every 8-aligned index where a padding frame can be needed */
    for (uint64_t idx = 136; idx < cap; idx += 8) {
        struct rig t = rig_writer(cap);
        size_t len = cap - idx; /* frame 8 + len > cap - idx */
        uint8_t buf[128];

        for (uint64_t p = 0; p < idx; p += 8)
            ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 1, 0), 0);
        ck_assert_uint_eq(hdr_producer(&t.c), idx);
        ck_assert_uint_eq(hdr_lap(&t.c), 0);
        seq_fill(idx, buf, len);
        ck_assert_int_eq(bcast_writer_send(t.w, buf, len, 77, 0), 0);
        /* FIN|PADDING, length = bytes to the end of the lap - 8, user 0 */
        ck_assert_uint_eq(frame_fields(&t.c, idx), F_FIN | F_PAD | (uint32_t)(cap - idx - 8));
        ck_assert_uint_eq(frame_user(&t.c, idx), 0);
        /* the message starts the next lap */
        ck_assert_uint_eq(frame_fields(&t.c, cap), F_FIN | len);
        ck_assert_uint_eq(frame_user(&t.c, cap), 77);
        ck_assert_mem_eq(frame_at(&t.c, cap) + 8, buf, len);
        ck_assert_uint_eq(hdr_producer(&t.c), cap + frame_len(len));
        ck_assert_uint_eq(bcast_writer_position(t.w), cap + frame_len(len));
        ck_assert_uint_eq(hdr_lap(&t.c), 1);
        rig_close(&t);
    }
}
END_TEST

START_TEST(test_padding_example_1k)
{
    struct rig t = rig_writer(1024);
    uint8_t buf[504];

    seq_fill(1, buf, sizeof buf);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 504, 1, 0), 0); /* 0..512 */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 480, 2, 0), 0); /* 512..1000 */
    ck_assert_uint_eq(hdr_producer(&t.c), 1000);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 40, 3, 0), 0);  /* 48 bytes: no room */
    ck_assert_uint_eq(get64(t.c.mem + OFF_DATA + 1000), (uint64_t)(F_FIN | F_PAD | 16));
    ck_assert_uint_eq(get64(t.c.mem + OFF_DATA), (uint64_t)3 << 32 | F_FIN | 40);
    ck_assert_uint_eq(hdr_producer(&t.c), 1024 + 48);
    ck_assert_uint_eq(hdr_lap(&t.c), 1);
    /* a zero-length padding frame when 8 bytes are left */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 504, 4, 0), 0); /* 1072..1584 */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 448, 5, 0), 0); /* 1584..2040 */
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 6, 0), 0);  /* fits exactly: 2040..2048 */
    ck_assert_uint_eq(frame_fields(&t.c, 2040), F_FIN);
    ck_assert_uint_eq(frame_user(&t.c, 2040), 6);
    ck_assert_uint_eq(hdr_lap(&t.c), 1);
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 7, 0), 0); /* 2048: lap 2, no padding */
    ck_assert_uint_eq(frame_fields(&t.c, 2048), F_FIN);
    ck_assert_uint_eq(frame_user(&t.c, 2048), 7);
    ck_assert_uint_eq(hdr_lap(&t.c), 2);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 504, 8, 0), 0); /* 2056..2568 */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 456, 9, 0), 0); /* 2568..3032 */
    ck_assert_uint_eq(hdr_producer(&t.c), 3032);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 16, 10, 0), 0); /* 3032..3056 */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 8, 11, 0), 0);  /* 3056..3072, the lap end */
    ck_assert_uint_eq(hdr_producer(&t.c), 3072);
    ck_assert_uint_eq(hdr_lap(&t.c), 2);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 504, 12, 0), 0); /* 3072..3584 */
    ck_assert_uint_eq(hdr_lap(&t.c), 3);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 496, 13, 0), 0); /* 3584..4088 */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 1, 14, 0), 0);   /* 16 > 8 left: pad len 0 */
    ck_assert_uint_eq(get64(t.c.mem + OFF_DATA + (4088 & 1023)), (uint64_t)(F_FIN | F_PAD));
    ck_assert_uint_eq(frame_fields(&t.c, 4096), F_FIN | 1);
    ck_assert_uint_eq(frame_user(&t.c, 4096), 14);
    ck_assert_uint_eq(hdr_lap(&t.c), 4);
    ck_assert_uint_eq(hdr_producer(&t.c), 4096 + 16);
    rig_close(&t);
}
END_TEST

/* an aborted claim is a padding frame of the claim's length rounded up to 8 */
START_TEST(test_abort_is_padding)
{
    struct rig t = rig_writer(4096);
    uint64_t pos = 0;

    for (size_t len = 0; len <= 40; len++) {
        void *p;

        ck_assert_int_eq(bcast_writer_claim(t.w, len, 1234, 0, &p), 0);
        memset(p, 0xee, len);
        ck_assert_int_eq(bcast_writer_abort(t.w), 0);
        ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_PAD | (uint32_t)round_up(len, 8));
        ck_assert_uint_eq(frame_user(&t.c, pos), 0);
        pos += frame_len(len);
        ck_assert_uint_eq(hdr_producer(&t.c), pos);
        ck_assert_uint_eq(bcast_writer_position(t.w), pos);
    }
    rig_close(&t);
}
END_TEST

START_TEST(test_abort_after_lap_end_padding)
{
    struct rig t = rig_writer(1024);
    uint8_t buf[504] = {0};
    void *p;

    ck_assert_int_eq(bcast_writer_send(t.w, buf, 504, 1, 0), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 480, 2, 0), 0); /* at 1000 */
    ck_assert_int_eq(bcast_writer_claim(t.w, 100, 3, 0, &p), 0);
    ck_assert_ptr_eq(p, t.c.mem + OFF_DATA + 8);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_uint_eq(frame_fields(&t.c, 1000), F_FIN | F_PAD | 16);
    ck_assert_uint_eq(frame_fields(&t.c, 1024), F_FIN | F_PAD | 104);
    ck_assert_uint_eq(frame_user(&t.c, 1024), 0);
    ck_assert_uint_eq(hdr_producer(&t.c), 1024 + 112);
    ck_assert_uint_eq(hdr_lap(&t.c), 1);
    rig_close(&t);
}
END_TEST

/* claimed_position after one empty message on a new channel of capacity cap */
static uint64_t first_frontier(size_t cap)
{
    struct rig t = rig_writer(cap);
    uint64_t claimed;

    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 0, 0), 0);
    claimed = hdr_claimed(&t.c);
    rig_close(&t);
    return claimed;
}

START_TEST(test_default_reserve)
{
    static const struct {
        size_t cap;
        uint64_t reserve;
    } named[] = {
        {1024, 16}, {64 * 1024, 1024}, {8 * 1024 * 1024, 128 * 1024}, /* bcast-format(5) */
        {16, 8}, {32, 8}, {512, 8}, {1024 * 1024, 16 * 1024},
    };

    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        ck_assert_uint_eq(first_frontier(named[i].cap), 8 + named[i].reserve);
    /* every capacity: the next power of two >= 1% of it, at least 8 */
    for (size_t cap = 16; cap <= 8 * 1024 * 1024; cap *= 2) {
        uint64_t r = default_reserve(cap);

        ck_assert_uint_ge(r * 100, cap);
        ck_assert(r == 8 || r * 50 < cap);
        ck_assert_uint_eq(first_frontier(cap), 8 + r);
    }
}
END_TEST

/* the frontier moves once per reserve: claimed = end + reserve when passed */
START_TEST(test_reserve_publication)
{
    static const size_t reserves[] = {0, 8, 16, 64, 512};

    for (size_t k = 0; k < sizeof reserves / sizeof reserves[0]; k++) {
        struct rig t = rig_writer(1024);
        uint64_t pos = 0, frontier = 0;
        unsigned moves = 0;

        ck_assert_int_eq(bcast_writer_set_reserve(t.w, reserves[k]), 0);
        for (uint64_t seq = 0; seq < 500; seq++) {
            size_t len = seq_len(seq, 200);
            uint64_t at = frame_place(pos, frame_len(len), t.c.cap);
            uint64_t end = at + frame_len(len);

            if (end > frontier) {
                frontier = end + reserves[k];
                moves++;
            }
            if (seq % 7 == 3) {
                void *p;
                ck_assert_int_eq(bcast_writer_claim(t.w, len, 0, 0, &p), 0);
                ck_assert_uint_eq(hdr_claimed(&t.c), frontier); /* before the commit */
                ck_assert_int_eq(bcast_writer_abort(t.w), 0);
            } else {
                send_seq(t.w, seq, len);
            }
            pos = end;
            ck_assert_uint_eq(hdr_producer(&t.c), pos);
            ck_assert_uint_eq(hdr_claimed(&t.c), frontier);
            if (reserves[k] == 0)
                ck_assert_uint_eq(hdr_claimed(&t.c), hdr_producer(&t.c));
        }
        if (reserves[k] >= 64)
            ck_assert_uint_lt(moves, 500);
        rig_close(&t);
    }
}
END_TEST

START_TEST(test_lap_count)
{
    static const size_t caps[] = {16, 32, 64, 1024, 4096};

    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        struct rig t = rig_writer(caps[k]);
        size_t mtu = bcast_writer_mtu(t.w);
        uint64_t pos = 0, lap = 0;

        for (uint64_t seq = 0; seq < 3000; seq++) {
            int hb = seq % 5 == 0;
            size_t len = hb ? 0 : seq_len(seq, mtu);
            uint64_t at = frame_place(pos, frame_len(len), t.c.cap);

            /* frame_start / capacity of the latest frame that started at index 0 */
            if ((at & (t.c.cap - 1)) == 0)
                lap = at / t.c.cap;
            if (hb)
                ck_assert_int_eq(bcast_writer_heartbeat(t.w, 9), 0);
            else
                send_seq(t.w, seq, len);
            pos = at + frame_len(len);
            ck_assert_uint_eq(hdr_producer(&t.c), pos);
            ck_assert_uint_eq(hdr_lap(&t.c), lap);
        }
        ck_assert_uint_gt(lap, 10);
        rig_close(&t);
    }
}
END_TEST

START_TEST(test_fragment_flags)
{
    struct rig t = rig_writer(4096);
    uint64_t pos = 0;
    void *p;

    /* first fragment: not FIN, not CONTINUATION */
    ck_assert_int_eq(bcast_writer_send(t.w, "aa", 2, 1, BCAST_MORE), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), 2);
    pos += 16;
    /* a middle fragment: CONTINUATION without FIN */
    ck_assert_int_eq(bcast_writer_send(t.w, "bb", 2, 1, BCAST_MORE), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_CONT | 2);
    pos += 16;
    /* a heartbeat in the train: FIN|HEARTBEAT, never CONTINUATION */
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 5), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_HB);
    ck_assert_uint_eq(frame_user(&t.c, pos), 5);
    pos += 8;
    /* an aborted claim leaves the train as it was */
    ck_assert_int_eq(bcast_writer_claim(t.w, 3, 1, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_PAD | 8);
    pos += 16;
    ck_assert_int_eq(bcast_writer_claim(t.w, 3, 1, BCAST_MORE, &p), 0);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    pos += 16;
    /* the next frame continues; a claim takes the same flags as a send */
    ck_assert_int_eq(bcast_writer_claim(t.w, 3, 1, BCAST_MORE, &p), 0);
    memcpy(p, "ccc", 3);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_CONT | 3);
    pos += 16;
    /* the last fragment: FIN|CONTINUATION */
    ck_assert_int_eq(bcast_writer_send(t.w, "d", 1, 1, 0), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_CONT | 1);
    pos += 16;
    /* the train is over */
    ck_assert_int_eq(bcast_writer_send(t.w, "e", 1, 1, 0), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | 1);
    pos += 16;
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 6), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_HB);
    pos += 8;
    /* a two-frame train built from claims, then a heartbeat-flagged send */
    ck_assert_int_eq(bcast_writer_claim(t.w, 0, 2, BCAST_MORE, &p), 0);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), 0);
    pos += 8;
    ck_assert_int_eq(bcast_writer_send(t.w, "hb", 2, 8, BCAST_HEARTBEAT), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_HB | 2);
    ck_assert_uint_eq(frame_user(&t.c, pos), 8);
    pos += 16;
    ck_assert_int_eq(bcast_writer_claim(t.w, 0, 2, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_uint_eq(frame_fields(&t.c, pos), F_FIN | F_CONT);
    pos += 8;
    ck_assert_uint_eq(hdr_producer(&t.c), pos);
    rig_close(&t);
}
END_TEST

START_TEST(test_join_starts_outside_train)
{
    struct rig t = rig_writer(1024);

    ck_assert_int_eq(bcast_writer_send(t.w, "a", 1, 1, BCAST_MORE), 0);
    bcast_writer_close(t.w);
    ck_assert_int_eq(bcast_writer_join(t.c.mem, t.c.size, &t.w), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "b", 1, 1, 0), 0);
    ck_assert_uint_eq(frame_fields(&t.c, 16), F_FIN | 1); /* no CONTINUATION */
    rig_close(&t);
}
END_TEST

START_TEST(test_heartbeat_bits)
{
    struct rig t = rig_writer(1024);

    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 0xdeadbeefu), 0);
    ck_assert_uint_eq(frame_fields(&t.c, 0), F_FIN | F_HB);
    ck_assert_uint_eq(frame_user(&t.c, 0), 0xdeadbeefu);
    ck_assert_uint_eq(hdr_producer(&t.c), 8);
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 0), 0);
    ck_assert_uint_eq(get64(frame_at(&t.c, 8)), (uint64_t)(F_FIN | F_HB));
    ck_assert_uint_eq(hdr_producer(&t.c), 16);
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 1, BCAST_HEARTBEAT), 0);
    ck_assert_uint_eq(frame_fields(&t.c, 16), F_FIN | F_HB);
    ck_assert_uint_eq(hdr_producer(&t.c), 24);
    rig_close(&t);
}
END_TEST

START_TEST(test_join_leaves_header)
{
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = NULL;
    uint8_t before[OFF_DATA];

    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, "m", 1, &w), 0);
    for (uint64_t seq = 0; seq < 40; seq++)
        send_seq(w, seq, seq_len(seq, 300));
    bcast_writer_close(w);
    memcpy(before, c.mem, sizeof before);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
    ck_assert_mem_eq(c.mem, before, sizeof before);
    bcast_writer_close(w);
    ck_assert_mem_eq(c.mem, before, sizeof before);
    chan_free(&c);
}
END_TEST

SUITE(format)
{
    TCase *tc = suite_case(s, "header", 0);

    tcase_add_test(tc, test_hello_world_example);
    tcase_add_test(tc, test_create_over_garbage);
    tcase_add_test(tc, test_metadata_bytes);
    tcase_add_test(tc, test_join_leaves_header);

    tc = suite_case(s, "frames", 0);
    tcase_add_test(tc, test_frame_header_fields);
    tcase_add_test(tc, test_claim_commit_bytes);
    tcase_add_test(tc, test_padding_at_lap_end);
    tcase_add_test(tc, test_padding_example_1k);
    tcase_add_test(tc, test_abort_is_padding);
    tcase_add_test(tc, test_abort_after_lap_end_padding);
    tcase_add_test(tc, test_fragment_flags);
    tcase_add_test(tc, test_join_starts_outside_train);
    tcase_add_test(tc, test_heartbeat_bits);

    tc = suite_case(s, "positions", 30);
    tcase_add_test(tc, test_default_reserve);
    tcase_add_test(tc, test_reserve_publication);
    tcase_add_test(tc, test_lap_count);
}
