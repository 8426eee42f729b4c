/*
 * check_writer: the writer handle over caller memory: create, join, close,
 * the getters, claim/commit/abort, send, heartbeat and set_reserve, with
 * every flag and error code their man pages give them.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core-helpers.h"

#include <limits.h>

/* a valid pointer that no test function may store into *out on failure */
#define SENTINEL ((struct bcast_writer *)(uintptr_t)0x5a5a5a5a)

static uint8_t header_copy[OFF_DATA];

/* the header did not change since snap() */
static void snap(const struct chan *c)
{
    memcpy(header_copy, c->mem, sizeof header_copy);
}

static void assert_unchanged(const struct chan *c)
{
    ck_assert_mem_eq(c->mem, header_copy, sizeof header_copy);
}

START_TEST(test_create_einval)
{
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = SENTINEL;
    uint8_t meta[BCAST_METADATA_SIZE + 1] = {0};
    /* memory that is 8-, 16- and 64-aligned but not 128-aligned */
    uint8_t *big = aligned_alloc(BCAST_ALIGNMENT, 2 * c.size + 256);
    static const size_t bad_sizes[] = {
        0, 1, 8, BCAST_HEADER_SIZE, BCAST_HEADER_SIZE + 8, BCAST_HEADER_SIZE + 15,
        BCAST_HEADER_SIZE + 24, BCAST_HEADER_SIZE + 1000, BCAST_HEADER_SIZE + 1023,
        BCAST_HEADER_SIZE + 1025, BCAST_HEADER_SIZE + 1536, 1024, 2048, SIZE_MAX,
    };

    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, NULL, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_create(NULL, c.size, NULL, 0, &w), -EINVAL);
    for (size_t off = 8; off < BCAST_ALIGNMENT; off += 8)
        ck_assert_int_eq(bcast_writer_create(big + off, c.size, NULL, 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_create(big + 1, c.size, NULL, 0, &w), -EINVAL);
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++)
        ck_assert_msg(bcast_writer_create(big, bad_sizes[i], NULL, 0, &w) == -EINVAL,
                      "size %zu accepted", bad_sizes[i]);
    /* metadata longer than BCAST_METADATA_SIZE, or a length without bytes */
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, meta, sizeof meta, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, meta, SIZE_MAX, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, NULL, 1, &w), -EINVAL);
    /* *out untouched, the memory untouched */
    ck_assert_ptr_eq(w, SENTINEL);
    for (size_t i = 0; i < c.size; i++)
        ck_assert_uint_eq(c.mem[i], 0);
    /* exactly BCAST_METADATA_SIZE is fine */
    ck_assert_int_eq(bcast_writer_create(c.mem, c.size, meta, BCAST_METADATA_SIZE, &w), 0);
    bcast_writer_close(w);
    free(big);
    chan_free(&c);
}
END_TEST

START_TEST(test_create_capacities)
{
    for (size_t cap = 16; cap <= (size_t)1 << 22; cap *= 2) {
        struct chan c = chan_alloc(cap, 0xff);
        struct bcast_writer *w = chan_writer(&c);

        ck_assert_uint_eq(bcast_writer_capacity(w), cap);
        ck_assert_uint_eq(bcast_writer_mtu(w), cap / 2 - 8);
        ck_assert_uint_eq(bcast_writer_position(w), 0);
        bcast_writer_close(w);
        chan_free(&c);
    }
}
END_TEST

START_TEST(test_stack_and_static_memory)
{
    static _Alignas(BCAST_ALIGNMENT) uint8_t stat[BCAST_HEADER_SIZE + 256];
    _Alignas(BCAST_ALIGNMENT) uint8_t stack[BCAST_HEADER_SIZE + 128];
    const struct {
        uint8_t *mem;
        size_t size, cap;
        const char *name; /* also the message */
    } mems[] = {{stat, sizeof stat, 256, "static"}, {stack, sizeof stack, 128, "stack"}};

    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++) {
        const char *name = mems[i].name;
        size_t len = strlen(name);
        struct bcast_writer *w;
        struct bcast_reader *r;
        char buf[8];
        int rc;

        rc = bcast_writer_create(mems[i].mem, mems[i].size, NULL, 0, &w);
        ck_assert_msg(rc == 0, "%s memory: create gave %d", name, rc);
        ck_assert_msg(bcast_writer_capacity(w) == mems[i].cap, "%s memory: capacity %zu, not %zu",
                      name, bcast_writer_capacity(w), mems[i].cap);
        ck_assert_int_eq(bcast_writer_send(w, name, len, 1, 0), 0);
        rc = bcast_reader_open_at(mems[i].mem, mems[i].size, 0, &r);
        ck_assert_msg(rc == 0, "%s memory: open_at gave %d", name, rc);
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), (ssize_t)len);
        ck_assert_mem_eq(buf, name, len);
        bcast_reader_close(r);
        bcast_writer_close(w);
    }
}
END_TEST

START_TEST(test_null_handles)
{
    void *p = NULL;

    bcast_writer_close(NULL);
    ck_assert_uint_eq(bcast_writer_mtu(NULL), 0);
    ck_assert_uint_eq(bcast_writer_capacity(NULL), 0);
    ck_assert_uint_eq(bcast_writer_position(NULL), 0);
    ck_assert_int_eq(bcast_writer_claim(NULL, 1, 0, 0, &p), -EINVAL);
    ck_assert_int_eq(bcast_writer_commit(NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_abort(NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_send(NULL, "x", 1, 0, 0), -EINVAL);
    ck_assert_int_eq(bcast_writer_heartbeat(NULL, 0), -EINVAL);
    ck_assert_int_eq(bcast_writer_set_reserve(NULL, 8), -EINVAL);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_null_arguments)
{
    struct rig t = rig_writer(1024);

    snap(&t.c);
    ck_assert_int_eq(bcast_writer_claim(t.w, 1, 0, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 1, 0, 0), -EINVAL);
    assert_unchanged(&t.c);
    /* no payload and no length is a zero-length message */
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 4, 0), 0);
    ck_assert_uint_eq(bcast_writer_position(t.w), 8);
    rig_close(&t);
}
END_TEST

START_TEST(test_mtu_values)
{
    static const struct {
        unsigned shift;
        size_t mtu;
    } t[] = {
        {4, 0}, {5, 8}, {6, 24}, {7, 56}, {10, 504}, {16, 32760}, {20, 524280},
        {28, ((size_t)1 << 27) - 8}, {29, ((size_t)1 << 28) - 8},
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t cap = (size_t)1 << t[i].shift;
        struct chan c;
        struct bcast_writer *w;
        struct bcast_reader *r;

        /* only the header and a frame header are touched */
        c.cap = cap;
        c.size = bcast_channel_size(cap);
        c.mem = aligned_alloc(BCAST_ALIGNMENT, round_up(c.size, BCAST_ALIGNMENT));
        ck_assert_ptr_nonnull(c.mem);
        memset(c.mem, 0, BCAST_HEADER_SIZE);
        w = chan_writer(&c);
        r = chan_reader(&c);
        ck_assert_uint_eq(bcast_writer_mtu(w), t[i].mtu);
        ck_assert_uint_eq(bcast_reader_mtu(r), t[i].mtu);
        ck_assert_uint_eq(bcast_writer_mtu(w), cap / 2 - 8);
        bcast_reader_close(r);
        bcast_writer_close(w);
        free(c.mem);
    }
}
END_TEST

/*
 * bcast-format(5): MTU = min(capacity/2 - 8, 2^28 - 8), so from 2^30 on it is
 * 2^28 - 8 and not capacity/2 - 8.  Only the header and one frame header of
 * the gigabyte are touched, so the memory is not committed.
 */
START_TEST(test_mtu_large_capacity)
{
    const size_t cap = (size_t)1 << 30, mtu = ((size_t)1 << 28) - 8;
    size_t size = bcast_channel_size(cap);
    uint8_t *mem;
    struct bcast_writer *w;
    struct bcast_reader *r;
    void *p;

    ck_assert_uint_eq(size, cap + 1664);
    mem = aligned_alloc(BCAST_ALIGNMENT, round_up(size, BCAST_ALIGNMENT));
    if (!mem) {
        fprintf(stderr, "test_mtu_large_capacity: no memory for %zu bytes, skipped\n", size);
        return;
    }
    memset(mem, 0, BCAST_HEADER_SIZE);
    ck_assert_int_eq(bcast_writer_create(mem, size, NULL, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_capacity(w), cap);
    ck_assert_uint_eq(bcast_writer_mtu(w), mtu);
    ck_assert_int_eq(bcast_reader_open(mem, size, &r), 0);
    ck_assert_uint_eq(bcast_reader_mtu(r), mtu);
    ck_assert_uint_eq(bcast_reader_capacity(r), cap);
    ck_assert_int_eq(bcast_writer_claim(w, mtu + 1, 0, 0, &p), -EMSGSIZE);
    ck_assert_int_eq(bcast_writer_claim(w, mtu + 8, 0, 0, &p), -EMSGSIZE);
    ck_assert_int_eq(bcast_writer_claim(w, (size_t)1 << 28, 0, 0, &p), -EMSGSIZE);
    ck_assert_int_eq(bcast_writer_send(w, mem, mtu + 1, 0, 0), -EMSGSIZE);
    ck_assert_uint_eq(get64(mem + OFF_CLAIMED), 0);
    ck_assert_int_eq(bcast_writer_claim(w, mtu, 0, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_abort(w), 0);
    /* the length field holds the largest MTU: 2^28 - 8 fits in 28 bits */
    ck_assert_uint_eq(get32(mem + OFF_DATA), F_FIN | F_PAD | mtu);
    ck_assert_uint_eq(get64(mem + OFF_PRODUCER), 8 + mtu);
    ck_assert_int_eq(bcast_reader_next(r, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_skip(r), -EAGAIN);
    ck_assert_uint_eq(bcast_reader_position(r), 8 + mtu);
    bcast_reader_close(r);
    bcast_writer_close(w);
    free(mem);
}
END_TEST

START_TEST(test_emsgsize)
{
    for (size_t cap = 16; cap <= 65536; cap *= 4) {
        struct rig t = rig_writer(cap);
        size_t mtu = bcast_writer_mtu(t.w);
        uint8_t *buf = calloc(1, mtu + 48);
        void *p = NULL;

        ck_assert_ptr_nonnull(buf);
        snap(&t.c);
        ck_assert_int_eq(bcast_writer_send(t.w, buf, mtu + 1, 0, 0), -EMSGSIZE);
        ck_assert_int_eq(bcast_writer_send(t.w, buf, mtu + 8, 0, BCAST_MORE), -EMSGSIZE);
        ck_assert_int_eq(bcast_writer_send(t.w, buf, mtu + 1, 0, BCAST_HEARTBEAT), -EMSGSIZE);
        ck_assert_int_eq(bcast_writer_claim(t.w, mtu + 1, 0, 0, &p), -EMSGSIZE);
        ck_assert_int_eq(bcast_writer_claim(t.w, SIZE_MAX, 0, 0, &p), -EMSGSIZE);
        ck_assert_int_eq(bcast_writer_claim(t.w, (size_t)1 << 28, 0, 0, &p), -EMSGSIZE);
        ck_assert_ptr_null(p);
        assert_unchanged(&t.c);
        ck_assert_uint_eq(bcast_writer_position(t.w), 0);
        /* the MTU itself goes through, however full the lap is */
        for (int i = 0; i < 5; i++) {
            ck_assert_int_eq(bcast_writer_send(t.w, buf, mtu, 1, 0), 0);
            ck_assert_int_eq(bcast_writer_claim(t.w, mtu, 2, 0, &p), 0);
            ck_assert_int_eq(bcast_writer_commit(t.w), 0);
            ck_assert_int_eq(bcast_writer_send(t.w, buf, 0, 1, 0), 0);
        }
        /* and mid-lap, inside the frontier, where small sends take the
           fast path: every size class past the MTU is still refused */
        for (size_t extra = 1; extra <= 40; extra++) {
            uint64_t pos;

            do {
                ck_assert_int_eq(bcast_writer_send(t.w, buf, 0, 1, 0), 0);
                pos = bcast_writer_position(t.w);
            } while (pos % cap == 0);
            ck_assert_int_eq(bcast_writer_send(t.w, buf, mtu + extra, 0, 0), -EMSGSIZE);
            ck_assert_uint_eq(bcast_writer_position(t.w), pos);
        }
        free(buf);
        rig_close(&t);
    }
}
END_TEST

START_TEST(test_flags_einval)
{
    static const int bad[] = {
        BCAST_CONTINUATION, BCAST_CONTINUATION | BCAST_MORE, BCAST_CONTINUATION | BCAST_HEARTBEAT,
        BCAST_MORE | BCAST_HEARTBEAT, 0x8, 0x10, 0x100, 0x40000000, INT_MIN, -1,
        BCAST_MORE | 0x8,
    };
    struct rig t = rig_writer(1024);

    snap(&t.c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = NULL;

        ck_assert_msg(bcast_writer_send(t.w, "x", 1, 0, bad[i]) == -EINVAL, "send flags %#x",
                      bad[i]);
        ck_assert_msg(bcast_writer_send(t.w, NULL, 0, 0, bad[i]) == -EINVAL, "send flags %#x",
                      bad[i]);
        ck_assert_msg(bcast_writer_claim(t.w, 1, 0, bad[i], &p) == -EINVAL, "claim flags %#x",
                      bad[i]);
        ck_assert_ptr_null(p);
        /* a refused claim leaves no claim open */
        ck_assert_int_eq(bcast_writer_commit(t.w), -EINVAL);
    }
    assert_unchanged(&t.c);
    ck_assert_uint_eq(bcast_writer_position(t.w), 0);
    /* the good ones */
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 0, 0), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 0, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 0, BCAST_HEARTBEAT), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 0, 0), 0);
    ck_assert_uint_eq(bcast_writer_position(t.w), 64);
    rig_close(&t);
}
END_TEST

START_TEST(test_claim_commit)
{
    struct rig t = rig_open(1024);
    uint8_t buf[64];
    void *p = NULL;

    ck_assert_ptr_nonnull(t.m);
    ck_assert_int_eq(bcast_writer_claim(t.w, 20, 42, 0, &p), 0);
    ck_assert_ptr_eq(p, t.c.mem + OFF_DATA + 8);
    seq_fill(5, p, 20);
    /* nothing is visible before the commit */
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), -EAGAIN);
    ck_assert_uint_eq(bcast_reader_pending(t.r), 0);
    ck_assert_uint_eq(bcast_writer_position(t.w), 0);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_uint_eq(bcast_writer_position(t.w), 32);
    ck_assert_uint_eq(bcast_reader_pending(t.r), 32);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 20);
    ck_assert_uint_eq(seq_check(5, buf, 20), 20);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 42);
    ck_assert_uint_eq(bcast_message_position(t.m), 0);
    ck_assert_int_eq(bcast_message_flags(t.m), 0);
    /* a zero-length claim */
    ck_assert_int_eq(bcast_writer_claim(t.w, 0, 43, 0, &p), 0);
    ck_assert_ptr_eq(p, t.c.mem + OFF_DATA + 32 + 8);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_int_eq(bcast_reader_receive(t.r, NULL, 0, t.m), 0);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 43);
    ck_assert_uint_eq(bcast_writer_position(t.w), 40);

    /* claims across many laps, each committed at once */
    for (uint64_t seq = 0; seq < 2000; seq++) {
        size_t len = seq_len(seq, bcast_writer_mtu(t.w));
        ck_assert_int_eq(bcast_writer_claim(t.w, len, (uint32_t)seq, 0, &p), 0);
        ck_assert((uint8_t *)p >= t.c.mem + OFF_DATA + 8);
        ck_assert((uint8_t *)p + len <= t.c.mem + t.c.size);
        seq_fill(seq, p, len);
        ck_assert_int_eq(bcast_writer_commit(t.w), 0);
        ck_assert_int_eq(bcast_reader_receive(t.r, buf, 0, t.m), len ? -ERANGE : 0);
        if (len) {
            uint8_t big[504];
            ck_assert_int_eq(bcast_reader_receive(t.r, big, sizeof big, t.m), (int)len);
            ck_assert_uint_eq(seq_check(seq, big, len), len);
        }
        ck_assert_uint_eq(bcast_message_user_defined(t.m), seq);
    }
    rig_close(&t);
}
END_TEST

START_TEST(test_ebusy)
{
    struct rig t = rig_open(1024);
    uint8_t buf[16];
    void *p = NULL, *q = NULL;

    ck_assert_int_eq(bcast_writer_claim(t.w, 5, 1, 0, &p), 0);
    snap(&t.c);
    ck_assert_int_eq(bcast_writer_claim(t.w, 5, 2, 0, &q), -EBUSY);
    ck_assert_ptr_null(q);
    ck_assert_int_eq(bcast_writer_claim(t.w, 0, 2, BCAST_MORE, &q), -EBUSY);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 2, 0), -EBUSY);
    ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 2, 0), -EBUSY);
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 2), -EBUSY);
    ck_assert_int_eq(bcast_writer_set_reserve(t.w, 64), -EBUSY);
    ck_assert_int_eq(bcast_writer_set_reserve(t.w, 0), -EBUSY);
    assert_unchanged(&t.c);
    /* the open claim is still the first one */
    memcpy(p, "first", 5);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, NULL), 5);
    ck_assert_mem_eq(buf, "first", 5);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, NULL), -EAGAIN);
    /* and everything works again */
    ck_assert_int_eq(bcast_writer_set_reserve(t.w, 64), 0);
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 2), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 2, 0), 0);
    /* the same after an abort */
    ck_assert_int_eq(bcast_writer_claim(t.w, 5, 1, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 2, 0), -EBUSY);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "y", 1, 2, 0), 0);
    rig_close(&t);
}
END_TEST

START_TEST(test_commit_abort_without_claim)
{
    struct rig t = rig_writer(1024);
    void *p;

    snap(&t.c);
    ck_assert_int_eq(bcast_writer_commit(t.w), -EINVAL);
    ck_assert_int_eq(bcast_writer_abort(t.w), -EINVAL);
    assert_unchanged(&t.c);
    ck_assert_int_eq(bcast_writer_claim(t.w, 3, 0, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    snap(&t.c);
    ck_assert_int_eq(bcast_writer_commit(t.w), -EINVAL);
    ck_assert_int_eq(bcast_writer_abort(t.w), -EINVAL);
    ck_assert_int_eq(bcast_writer_claim(t.w, 3, 0, 0, &p), 0);
    ck_assert_int_eq(bcast_writer_abort(t.w), 0);
    ck_assert_int_eq(bcast_writer_abort(t.w), -EINVAL);
    ck_assert_int_eq(bcast_writer_commit(t.w), -EINVAL);
    ck_assert_int_eq(bcast_writer_send(t.w, "a", 1, 0, 0), 0);
    ck_assert_int_eq(bcast_writer_commit(t.w), -EINVAL);
    ck_assert_uint_eq(bcast_writer_position(t.w), 16 + 16 + 16);
    rig_close(&t);
}
END_TEST

START_TEST(test_set_reserve)
{
    struct rig t = rig_writer(1024);
    static const size_t bad[] = {1, 4, 7, 12, 520, 1024, 2048, SIZE_MAX};
    static const size_t good[] = {0, 8, 16, 504, 512};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(bcast_writer_set_reserve(t.w, bad[i]) == -EINVAL, "reserve %zu", bad[i]);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t before = hdr_claimed(&t.c), pos = bcast_writer_position(t.w);

        ck_assert_int_eq(bcast_writer_set_reserve(t.w, good[i]), 0);
        /* setting it publishes nothing */
        ck_assert_uint_eq(hdr_claimed(&t.c), before);
        /* the next frame past the frontier publishes end + reserve */
        while (hdr_claimed(&t.c) == before) {
            ck_assert_int_eq(bcast_writer_send(t.w, NULL, 0, 0, 0), 0);
            pos += 8;
        }
        ck_assert_uint_eq(hdr_claimed(&t.c), pos + good[i]);
    }
    rig_close(&t);
}
END_TEST

START_TEST(test_close_commits_claim)
{
    struct rig t = rig_open(1024);
    uint8_t buf[32];
    void *p;

    ck_assert_int_eq(bcast_writer_send(t.w, "a", 1, 1, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_claim(t.w, 9, 77, 0, &p), 0);
    memcpy(p, "committed", 9);
    bcast_writer_close(t.w);
    t.w = NULL;
    ck_assert_uint_eq(hdr_producer(&t.c), 16 + 24);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 1);
    ck_assert_int_eq(bcast_message_flags(t.m), BCAST_MORE);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 9);
    ck_assert_mem_eq(buf, "committed", 9);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 77);
    ck_assert_int_eq(bcast_message_flags(t.m), BCAST_CONTINUATION);
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), -EAGAIN);
    rig_close(&t);
}
END_TEST

/* send the messages from seq to end (sizes seq_len(seq, max)), each read
   back by r right after its send, every byte checked */
static void send_read_back(struct bcast_writer *w, struct bcast_reader *r, uint64_t seq,
                           uint64_t end, size_t max)
{
    uint8_t buf[512];

    ck_assert_uint_le(max, sizeof buf);
    for (; seq < end; seq++) {
        size_t len = seq_len(seq, max);
        send_seq(w, seq, len);
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), (ssize_t)len);
        ck_assert_uint_eq(seq_check(seq, buf, len), len);
    }
}

START_TEST(test_join_resumes)
{
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = chan_writer(&c), *w2 = SENTINEL;
    struct bcast_reader *r;
    uint8_t buf[512];
    uint64_t seq, claimed;

    ck_assert_int_eq(bcast_reader_open_at(c.mem, c.size, 0, &r), 0);
    for (seq = 0; seq < 5; seq++)
        send_seq(w, seq, 30 + seq);
    bcast_writer_close(w);
    claimed = hdr_claimed(&c);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w2), 0);
    ck_assert_ptr_ne(w2, SENTINEL);
    ck_assert_uint_eq(bcast_writer_position(w2), hdr_producer(&c));
    ck_assert_uint_eq(bcast_writer_capacity(w2), 1024);
    ck_assert_uint_eq(bcast_writer_mtu(w2), 504);
    for (; seq < 10; seq++) {
        send_seq(w2, seq, 30 + seq);
        /* the published frontier never goes back */
        ck_assert_uint_ge(hdr_claimed(&c), claimed);
        claimed = hdr_claimed(&c);
        ck_assert_uint_le(hdr_producer(&c), claimed);
    }
    for (seq = 0; seq < 10; seq++) {
        struct bcast_message *m = bcast_message_new();
        ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), (int)(30 + seq));
        ck_assert_uint_eq(seq_check(seq, buf, 30 + seq), 30 + seq);
        ck_assert_uint_eq(bcast_message_user_defined(m), seq);
        bcast_message_free(m);
    }
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    bcast_writer_close(w2);

    /* join after many laps, then keep going across more laps */
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
    for (; seq < 500; seq++)
        send_seq(w, seq, seq_len(seq, 200));
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), hdr_producer(&c));
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    send_read_back(w, r, seq, seq + 100, 200);
    bcast_writer_close(w);
    bcast_reader_close(r);
    chan_free(&c);
}
END_TEST

/*
 * A claimed frontier that no writer can leave (more than capacity +
 * capacity/2 past the producer, or behind it) is corrupt.  A joining writer
 * sets it back to the producer, so readers are not overrun for good: every
 * message sent after the join reaches a reader at the producer, and a
 * reader reset there reads on.  A frontier at the legal bound is kept.
 */
START_TEST(test_join_repairs_claimed)
{
    static const int64_t past[] = {1024 + 512 + 8, 1 << 20, INT64_MAX & ~7, -8, -1024};

    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        struct chan c = chan_alloc(1024, 0);
        struct bcast_writer *w = chan_writer(&c);
        struct bcast_reader *r;
        uint64_t p;

        for (uint64_t seq = 0; seq < 40; seq++)
            send_seq(w, seq, seq_len(seq, 100));
        bcast_writer_close(w);
        p = hdr_producer(&c);
        put64(c.mem + OFF_CLAIMED, p + (uint64_t)past[i]);
        ck_assert_int_eq(bcast_reader_open(c.mem, c.size, &r), 0);
        ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
        ck_assert_uint_eq(hdr_claimed(&c), p);
        send_read_back(w, r, 100, 1100, 300);
        bcast_writer_close(w);
        bcast_reader_close(r);
        chan_free(&c);
    }
    {
        /* at the bound: kept (a writer with padding, a frame and the reserve) */
        struct chan c = chan_alloc(1024, 0);
        struct bcast_writer *w = chan_writer(&c);
        uint64_t p;

        send_seq(w, 0, 40);
        bcast_writer_close(w);
        p = hdr_producer(&c);
        put64(c.mem + OFF_CLAIMED, p + 1024 + 512);
        ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
        ck_assert_uint_eq(hdr_claimed(&c), p + 1024 + 512);
        bcast_writer_close(w);
        chan_free(&c);
    }
}
END_TEST

START_TEST(test_join_einval)
{
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = chan_writer(&c), *w2 = SENTINEL;
    uint8_t *moved = aligned_alloc(BCAST_ALIGNMENT, c.size + 128);

    ck_assert_ptr_nonnull(moved);
    bcast_writer_close(w);
    memcpy(moved + 64, c.mem, c.size);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_join(NULL, c.size, &w2), -EINVAL);
    ck_assert_int_eq(bcast_writer_join(moved + 64, c.size, &w2), -EINVAL);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size - 1, &w2), -EINVAL);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size + 8, &w2), -EINVAL);
    ck_assert_int_eq(bcast_writer_join(c.mem, BCAST_HEADER_SIZE + 8, &w2), -EINVAL);
    ck_assert_int_eq(bcast_writer_join(c.mem, 0, &w2), -EINVAL);
    ck_assert_ptr_eq(w2, SENTINEL);
    free(moved);
    chan_free(&c);
}
END_TEST

START_TEST(test_join_bad_header)
{
    struct chan c;
    const char *what;
    int want;

    for (unsigned k = 0; (want = bad_channel(&c, k, 9, &what)) != 1; k++) {
        struct bcast_writer *w2 = SENTINEL;
        int rc;

        snap(&c);
        rc = bcast_writer_join(c.mem, c.size, &w2);
        ck_assert_msg(rc == want, "%s: join gave %d, not %d", what, rc, want);
        ck_assert_ptr_eq(w2, SENTINEL);
        assert_unchanged(&c);
        chan_free(&c);
    }
}
END_TEST

START_TEST(test_join_ready_again)
{
    /* a header still being initialised: -EAGAIN, then fine once ready is 1 */
    struct chan c = chan_alloc(1024, 0);
    struct bcast_writer *w = chan_writer(&c);

    bcast_writer_close(w);
    c.mem[OFF_READY] = 0;
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), -EAGAIN);
    c.mem[OFF_READY] = 1;
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), 0);
    ck_assert_int_eq(bcast_writer_send(w, "x", 1, 0, 0), 0);
    bcast_writer_close(w);
    /* zeroed memory is not a channel yet */
    memset(c.mem, 0, c.size);
    ck_assert_int_eq(bcast_writer_join(c.mem, c.size, &w), -EAGAIN);
    chan_free(&c);
}
END_TEST

START_TEST(test_create_replaces_channel)
{
    /* create over a live channel starts it again at 0 */
    struct rig t = rig_writer(1024);
    struct bcast_reader *r;
    uint8_t buf[8];

    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(bcast_writer_send(t.w, "abcdefgh", 8, 0, 0), 0);
    bcast_writer_close(t.w);
    t.w = chan_writer(&t.c);
    ck_assert_uint_eq(hdr_producer(&t.c), 0);
    ck_assert_uint_eq(hdr_claimed(&t.c), 0);
    ck_assert_uint_eq(hdr_lap(&t.c), 0);
    r = chan_reader(&t.c);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "new", 3, 0, 0), 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), 3);
    ck_assert_mem_eq(buf, "new", 3);
    bcast_reader_close(r);
    rig_close(&t);
}
END_TEST

START_TEST(test_position)
{
    struct rig t = rig_writer(256);
    uint64_t pos = 0;
    void *p;

    for (uint64_t seq = 0; seq < 1000; seq++) {
        size_t len = seq_len(seq, bcast_writer_mtu(t.w));
        uint64_t end = frame_place(pos, frame_len(len), t.c.cap) + frame_len(len);

        switch (seq % 4) {
        case 0:
            send_seq(t.w, seq, len);
            break;
        case 1:
            ck_assert_int_eq(bcast_writer_claim(t.w, len, 0, 0, &p), 0);
            ck_assert_uint_eq(bcast_writer_position(t.w), pos); /* not before the commit */
            ck_assert_int_eq(bcast_writer_commit(t.w), 0);
            break;
        case 2:
            ck_assert_int_eq(bcast_writer_claim(t.w, len, 0, 0, &p), 0);
            ck_assert_uint_eq(bcast_writer_position(t.w), pos);
            ck_assert_int_eq(bcast_writer_abort(t.w), 0);
            break;
        default:
            ck_assert_int_eq(bcast_writer_heartbeat(t.w, 1), 0);
            end = frame_place(pos, 8, t.c.cap) + 8;
            break;
        }
        pos = end;
        ck_assert_uint_eq(bcast_writer_position(t.w), pos);
        ck_assert_uint_eq(hdr_producer(&t.c), pos);
    }
    rig_close(&t);
}
END_TEST

SUITE(writer)
{
    TCase *tc = suite_case(s, "create", 0);

    tcase_add_test(tc, test_create_einval);
    tcase_add_test(tc, test_create_capacities);
    tcase_add_test(tc, test_stack_and_static_memory);
    tcase_add_test(tc, test_create_replaces_channel);
    tcase_add_test(tc, test_null_handles);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_mtu_values);
    tcase_add_test(tc, test_mtu_large_capacity);

    tc = suite_case(s, "claim", 0);
    tcase_add_test(tc, test_emsgsize);
    tcase_add_test(tc, test_flags_einval);
    tcase_add_test(tc, test_claim_commit);
    tcase_add_test(tc, test_ebusy);
    tcase_add_test(tc, test_commit_abort_without_claim);
    tcase_add_test(tc, test_set_reserve);
    tcase_add_test(tc, test_close_commits_claim);
    tcase_add_test(tc, test_position);

    tc = suite_case(s, "join", 0);
    tcase_add_test(tc, test_join_resumes);
    tcase_add_test(tc, test_join_repairs_claimed);
    tcase_add_test(tc, test_join_einval);
    tcase_add_test(tc, test_join_bad_header);
    tcase_add_test(tc, test_join_ready_again);
}
