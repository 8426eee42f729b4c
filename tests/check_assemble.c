/*
 * check_assemble: messages of any size.  bcast_writer_send_large (the
 * fragment trains it writes, byte for byte), bcast_writer_commit_len (a
 * claim that shrinks), and the reassembly helper bcast_assembler_* on every
 * read path (next, receive, poll): whole messages only, broken trains
 * dropped and reported (a train cut by a new message, by an overrun, by a
 * reset, by a writer killed in the middle of it with SIGKILL), heartbeats
 * and filters, trains in the Rust crate's layout built byte for byte and
 * the Rust crate's own channel file, and random sizes up to four MTUs
 * with a writer and a reader running at once on two CPUs.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "core-helpers.h"
#include "cpus.h"
#include "test-dirs.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

enum path { P_NEXT, P_RECEIVE, P_POLL, P_PATHS };
static const char *const path_names[] = {"next", "receive", "poll"};

static int copy_out(const struct bcast_message *m, void *ctx)
{
    ck_assert_int_eq(bcast_message_copy(ctx, m), 0);
    return 0;
}

/* one whole message through path: its length with m filled, or -errno */
static ssize_t asm_read(struct bcast_assembler *a, int path, struct bcast_message *m)
{
    int rc;

    switch (path) {
    case P_NEXT:
        rc = bcast_assembler_next(a, m);
        return rc < 0 ? rc : (ssize_t)bcast_message_len(m);
    case P_RECEIVE:
        return bcast_assembler_receive(a, m);
    default:
        rc = bcast_assembler_poll(a, copy_out, m, 1);
        if (rc < 0)
            return rc;
        ck_assert_int_eq(rc, 1);
        return (ssize_t)bcast_message_len(m);
    }
}

/* read one whole message through path and check it is message seq */
static void expect_msg(struct bcast_assembler *a, int path, struct bcast_message *m,
                       uint64_t seq, size_t len)
{
    ssize_t n = asm_read(a, path, m);

    ck_assert_msg(n == (ssize_t)len, "%s: seq %llu: got %zd, want %zu", path_names[path],
                  (unsigned long long)seq, n, len);
    ck_assert_uint_eq(bcast_message_user_defined(m), (uint32_t)seq);
    ck_assert_int_eq(bcast_message_flags(m), 0);
    ck_assert_ptr_nonnull(bcast_message_data(m));
    ck_assert_uint_eq(seq_check(seq, bcast_message_data(m), len), len);
}

static void send_seq_large(struct bcast_writer *w, uint64_t seq, size_t len)
{
    uint8_t *p = malloc(len + 1);

    ck_assert_ptr_nonnull(p);
    seq_fill(seq, p, len);
    ck_assert_int_eq(bcast_writer_send_large(w, p, len, (uint32_t)seq), 0);
    free(p);
}

/* the frame header at stream position pos (little-endian, as the format) */
static void raw_frame(const struct chan *c, uint64_t pos, uint32_t *fields, uint32_t *user)
{
    const uint8_t *f = c->mem + OFF_DATA + (pos & (c->cap - 1));

    *fields = get32(f);
    *user = get32(f + 4);
}

static uint64_t raw_word(const struct chan *c, size_t off)
{
    return get64(c->mem + off);
}

/* ---- bcast_writer_send_large ---- */

/* the frames of a train: FIN on the last only, CONTINUATION on all but
   the first, the same user_defined on each (what the Rust crate's readers
   look at), the payload in order, and cut at the lap end without padding */
START_TEST(test_send_large_layout)
{
    struct rig t = rig_writer(8192); /* MTU 4088 */
    uint64_t pos = 112, want[3] = {4088, 3976, 100}, off = 0;
    uint8_t *p = malloc(8164), small[100] = {0};
    uint32_t fields, user;
    int i;

    ck_assert_ptr_nonnull(p);
    seq_fill(9, p, 8164);
    ck_assert_int_eq(bcast_writer_send(t.w, small, 100, 1, 0), 0);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 8164, 77), 0);
    /* 112: 4088 bytes; 4208: 3976 bytes, ending the lap; 8192: the rest,
       over the first message only */
    for (i = 0; i < 3; i++) {
        raw_frame(&t.c, pos, &fields, &user);
        ck_assert_uint_eq(fields & F_LEN, want[i]);
        ck_assert_uint_eq(user, 77);
        ck_assert_uint_eq(!!(fields & F_FIN), i == 2);
        ck_assert_uint_eq(!!(fields & F_CONT), i > 0);
        ck_assert_uint_eq(fields & (F_PAD | F_HB), 0);
        ck_assert_int_eq(memcmp(t.c.mem + OFF_DATA + (pos & 8191) + 8, p + off, want[i]), 0);
        off += want[i];
        pos += frame_len(want[i]);
    }
    ck_assert_uint_eq(pos, 8192 + 112);
    ck_assert_uint_eq(raw_word(&t.c, OFF_PRODUCER), pos);
    ck_assert_uint_eq(bcast_writer_position(t.w), pos);
    /* a message that fits the MTU is one whole frame */
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 4088, 5), 0);
    raw_frame(&t.c, pos, &fields, &user);
    ck_assert_uint_eq(fields, F_FIN | 4088);
    ck_assert_uint_eq(user, 5);
    free(p);
    rig_close(&t);
}
END_TEST

/* readers see BCAST_MORE on all fragments but the last and
   BCAST_CONTINUATION on all but the first (a train of more than two is
   longer than the ring: the layout test looks at the middle ones) */
START_TEST(test_send_large_reader_flags)
{
    struct rig t = rig_open(1024); /* MTU 504 */
    uint8_t p[900];
    int want[] = {BCAST_MORE, BCAST_CONTINUATION};
    size_t got = 0;
    int i;

    seq_fill(3, p, sizeof p);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, sizeof p, 3), 0);
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(bcast_reader_next(t.r, t.m), 0);
        ck_assert_int_eq(bcast_message_flags(t.m), want[i]);
        ck_assert_uint_eq(bcast_message_user_defined(t.m), 3);
        got += bcast_message_len(t.m);
    }
    ck_assert_uint_eq(got, sizeof p);
    ck_assert_int_eq(bcast_reader_next(t.r, t.m), -EAGAIN);
    rig_close(&t);
}
END_TEST

START_TEST(test_send_large_errors)
{
    struct rig t = rig_writer(1024);
    static uint8_t p[2048];
    void *claim;

    ck_assert_int_eq(bcast_writer_send_large(NULL, p, 10, 0), -EINVAL);
    ck_assert_int_eq(bcast_writer_send_large(t.w, NULL, 10, 0), -EINVAL);
    /* longer than a whole message's length can say: nothing is read */
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, (size_t)1 << 28, 0), -EMSGSIZE);
    ck_assert_int_eq(bcast_writer_claim(t.w, 8, 0, 0, &claim), 0);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 2000, 0), -EBUSY);
    ck_assert_int_eq(bcast_writer_commit(t.w), 0);
    /* a train the caller opened is not ended by someone else's message */
    ck_assert_int_eq(bcast_writer_send(t.w, p, 8, 0, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 2000, 0), -EBUSY);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 8, 0, 0), 0);
    ck_assert_int_eq(bcast_writer_send_large(t.w, NULL, 0, 0), 0);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 2000, 0), 0);
    rig_close(&t);
    /* a 16-byte ring has an MTU of 0: nothing longer goes */
    t = rig_writer(16);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 1, 0), -EMSGSIZE);
    ck_assert_int_eq(bcast_writer_send_large(t.w, p, 0, 0), 0);
    rig_close(&t);
}
END_TEST

/* a train that fits in the ring with the reserve is read whole by a reader
   that comes to it after the writer is done, wherever the train starts */
START_TEST(test_send_large_read_late)
{
    int path = _i;
    uint64_t seq;

    for (seq = 0; seq < 24; seq++) {
        struct rig t = rig_open(4096); /* MTU 2040, reserve 64 */
        struct bcast_assembler *a = NULL;
        size_t lead = seq * 168 % 4000, len = 4096 - 64 - 8 * 4 - 16;

        if (lead) { /* move the train's start round the ring */
            uint8_t *junk = calloc(1, lead);
            ck_assert_int_eq(bcast_writer_send_large(t.w, junk, lead, 1000), 0);
            free(junk);
            bcast_reader_close(t.r);
            ck_assert_int_eq(bcast_reader_open(t.c.mem, t.c.size, &t.r), 0);
        }
        ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 8192, 0, &a), 0);
        send_seq_large(t.w, seq, len - seq % 8);
        expect_msg(a, path, t.m, seq, len - seq % 8);
        ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
        ck_assert_uint_eq(bcast_assembler_dropped(a), 0);
        bcast_assembler_free(a);
        rig_close(&t);
    }
}
END_TEST

/* ---- bcast_writer_commit_len ---- */

START_TEST(test_commit_len)
{
    struct rig t = rig_open(1024);
    uint8_t *claim, buf[600];
    int i;

    ck_assert_int_eq(bcast_writer_commit_len(NULL, 0), -EINVAL);
    ck_assert_int_eq(bcast_writer_commit_len(t.w, 0), -EINVAL); /* no claim */
    ck_assert_int_eq(bcast_writer_claim(t.w, 100, 4, 0, (void **)&claim), 0);
    seq_fill(4, claim, 10);
    ck_assert_int_eq(bcast_writer_commit_len(t.w, 101), -EINVAL);
    ck_assert_int_eq(bcast_writer_commit_len(t.w, 10), 0);
    /* the frame is 10 bytes long and the next starts right after it */
    ck_assert_uint_eq(bcast_writer_position(t.w), frame_len(10));
    ck_assert_uint_eq(raw_word(&t.c, OFF_PRODUCER), frame_len(10));
    ck_assert_uint_eq(get32(t.c.mem + OFF_DATA), F_FIN | 10);
    ck_assert_int_eq(bcast_writer_commit_len(t.w, 0), -EINVAL); /* closed */
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 10);
    ck_assert_uint_eq(seq_check(4, buf, 10), 10);
    ck_assert_int_eq(bcast_writer_send(t.w, "x", 1, 5, 0), 0);
    ck_assert_uint_eq(bcast_reader_position(t.r), frame_len(10));
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), 1);
    ck_assert_uint_eq(bcast_message_user_defined(t.m), 5);
    /* claims of the MTU shrunk to 0..40 bytes, laps of them, padding at
       the lap ends included: a reader that keeps up sees every one, whole,
       and is never told of an overrun */
    for (i = 0; i < 500; i++) {
        size_t n = (size_t)(i * 7) % 41;
        ck_assert_int_eq(bcast_writer_claim(t.w, bcast_writer_mtu(t.w), (uint32_t)i, 0,
                                            (void **)&claim), 0);
        seq_fill((uint64_t)i, claim, n);
        ck_assert_int_eq(bcast_writer_commit_len(t.w, n), 0);
        ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), (ssize_t)n);
        ck_assert_uint_eq(bcast_message_user_defined(t.m), (uint32_t)i);
        ck_assert_uint_eq(seq_check((uint64_t)i, buf, n), n);
    }
    ck_assert_int_eq(bcast_reader_receive(t.r, buf, sizeof buf, t.m), -EAGAIN);
    rig_close(&t);
}
END_TEST

/* ---- the assembler ---- */

START_TEST(test_assembler_args)
{
    struct rig t = rig_open(1024);
    struct bcast_assembler *a = NULL;
    uint8_t buf[16];

    ck_assert_int_eq(bcast_assembler_new(NULL, NULL, 100, 0, &a), -EINVAL);
    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 100, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 0, 0, &a), -EINVAL);
    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 100, 2, &a), -EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(bcast_assembler_next(NULL, t.m), -EINVAL);
    ck_assert_int_eq(bcast_assembler_receive(NULL, t.m), -EINVAL);
    ck_assert_int_eq(bcast_assembler_poll(NULL, copy_out, t.m, 1), -EINVAL);
    ck_assert_uint_eq(bcast_assembler_dropped(NULL), 0);
    bcast_assembler_free(NULL);
    ck_assert_int_eq(bcast_assembler_new(t.r, buf, sizeof buf, BCAST_ASSEMBLE_HEARTBEATS, &a), 0);
    ck_assert_int_eq(bcast_assembler_next(a, NULL), -EINVAL);
    ck_assert_int_eq(bcast_assembler_receive(a, NULL), -EINVAL);
    ck_assert_int_eq(bcast_assembler_poll(a, NULL, NULL, 1), -EINVAL);
    ck_assert_int_eq(bcast_assembler_poll(a, copy_out, t.m, 0), 0);
    ck_assert_int_eq(bcast_assembler_next(a, t.m), -EAGAIN);
    ck_assert_int_eq(bcast_assembler_receive(a, t.m), -EAGAIN);
    ck_assert_int_eq(bcast_assembler_poll(a, copy_out, t.m, 1), -EAGAIN);
    bcast_assembler_free(a);
    rig_close(&t);
    /* the assembler's own error has a text of its own */
    ck_assert_str_eq(bcast_strerror(-EPIPE),
                     "A fragmented message was cut short; its fragments were dropped");
    ck_assert_str_eq(bcast_strerror(EPIPE), bcast_strerror(-EPIPE));
}
END_TEST

/* sizes round the MTU and several MTUs, into the caller's buffer and into
   one the assembler grows; the position is the first fragment's */
START_TEST(test_assembler_roundtrip)
{
    int path = _i % P_PATHS, owned = _i / P_PATHS;
    struct rig t = rig_open(65536); /* MTU 32760 */
    /* up to what a reader that comes late reads whole: 64 KiB less the
       1 KiB reserve and the headers */
    const size_t sizes[] = {0, 1, 32759, 32760, 32761, 64000, 32768, 50000, 7, 60000};
    size_t cap = 64000;
    uint8_t *buf = owned ? NULL : malloc(cap);
    struct bcast_assembler *a = NULL;
    uint64_t pos[10];
    int i;

    ck_assert_int_eq(bcast_assembler_new(t.r, buf, cap, 0, &a), 0);
    for (i = 0; i < 10; i++) {
        pos[i] = bcast_writer_position(t.w);
        /* a message of the MTU or less is one frame, after padding when
           it does not fit the lap; a train is cut at the lap end instead */
        if (sizes[i] <= 32760 && (pos[i] & 65535) + frame_len(sizes[i]) > 65536)
            pos[i] = (pos[i] + 65535) & ~(uint64_t)65535;
        send_seq_large(t.w, (uint64_t)i, sizes[i]);
        expect_msg(a, path, t.m, (uint64_t)i, sizes[i]);
        ck_assert_uint_eq(bcast_message_position(t.m), pos[i]);
    }
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 0);
    bcast_assembler_free(a);
    free(buf);
    rig_close(&t);
}
END_TEST

/* a heartbeat between fragments: skipped, or handed over before the
   message when BCAST_ASSEMBLE_HEARTBEATS asks for it */
START_TEST(test_assembler_heartbeats)
{
    int path = _i % P_PATHS, pass = _i / P_PATHS;
    struct rig t = rig_open(1024);
    struct bcast_assembler *a = NULL;
    uint8_t p[300];

    seq_fill(6, p, sizeof p);
    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 4096, pass ? BCAST_ASSEMBLE_HEARTBEATS : 0,
                                         &a), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 100, 6, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 42), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, "hb", 2, 43, BCAST_HEARTBEAT), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p + 100, 200, 6, 0), 0);
    if (pass) {
        ck_assert_int_eq(asm_read(a, path, t.m), 0);
        ck_assert_int_eq(bcast_message_flags(t.m), BCAST_HEARTBEAT);
        ck_assert_uint_eq(bcast_message_user_defined(t.m), 42);
        ck_assert_int_eq(asm_read(a, path, t.m), 2);
        ck_assert_int_eq(bcast_message_flags(t.m), BCAST_HEARTBEAT);
        ck_assert_int_eq(memcmp(bcast_message_data(t.m), "hb", 2), 0);
    }
    expect_msg(a, path, t.m, 6, 300);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

/* a message longer than the buffer: -EMSGSIZE, the rest of its train
   skipped, counted; the next message comes whole */
START_TEST(test_assembler_too_long)
{
    int path = _i % P_PATHS, owned = _i / P_PATHS;
    struct rig t = rig_open(256); /* MTU 120 */
    uint8_t buf[100];
    struct bcast_assembler *a = NULL;

    ck_assert_int_eq(bcast_assembler_new(t.r, owned ? NULL : buf, 100, 0, &a), 0);
    send_seq_large(t.w, 1, 110); /* one frame, too long */
    ck_assert_int_eq(asm_read(a, path, t.m), -EMSGSIZE);
    send_seq_large(t.w, 2, 60);
    expect_msg(a, path, t.m, 2, 60);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 1);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 60, 3, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 60, 3, BCAST_MORE), 0);
    ck_assert_int_eq(asm_read(a, path, t.m), -EMSGSIZE); /* 120 > 100 */
    ck_assert_int_eq(bcast_writer_send(t.w, buf, 60, 3, 0), 0);
    send_seq_large(t.w, 4, 100);
    expect_msg(a, path, t.m, 4, 100);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 2);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

/* a new message before the last fragment (a writer that stopped in the
   middle and one that joined): -EPIPE, then the new message */
START_TEST(test_assembler_cut)
{
    int path = _i;
    struct rig t = rig_open(1024);
    struct bcast_assembler *a = NULL;
    uint8_t p[50];

    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 4096, 0, &a), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 50, 1, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 50, 1, BCAST_MORE), 0);
    bcast_writer_close(t.w); /* ends nothing: the next writer starts anew */
    ck_assert_int_eq(bcast_writer_join(t.c.mem, t.c.size, &t.w), 0);
    send_seq_large(t.w, 2, 20);
    send_seq_large(t.w, 3, 700);
    ck_assert_int_eq(asm_read(a, path, t.m), -EPIPE);
    expect_msg(a, path, t.m, 2, 20);
    expect_msg(a, path, t.m, 3, 700);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 1);
    /* the cut found while a train is read in one call */
    ck_assert_int_eq(bcast_writer_send(t.w, p, 50, 1, BCAST_MORE), 0);
    bcast_writer_close(t.w);
    ck_assert_int_eq(bcast_writer_join(t.c.mem, t.c.size, &t.w), 0);
    send_seq_large(t.w, 4, 900);
    ck_assert_int_eq(asm_read(a, path, t.m), -EPIPE);
    expect_msg(a, path, t.m, 4, 900);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 2);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

/* fragments with no first one (a reader opened in the middle of a train)
   are dropped and counted, quietly */
START_TEST(test_assembler_orphans)
{
    int path = _i;
    struct rig t = rig_open(1024);
    struct bcast_assembler *a = NULL;
    struct bcast_reader *r = NULL;

    send_seq_large(t.w, 1, 1200); /* frames at 0, 512, 1024 */
    send_seq_large(t.w, 2, 30);
    ck_assert_int_eq(bcast_reader_open_at(t.c.mem, t.c.size, 512, &r), 0);
    ck_assert_int_eq(bcast_assembler_new(r, NULL, 4096, 0, &a), 0);
    expect_msg(a, path, t.m, 2, 30);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 1);
    bcast_assembler_free(a);
    bcast_reader_close(r);
    rig_close(&t);
}
END_TEST

/* the reader moved by a call of its own in the middle of a train */
START_TEST(test_assembler_reader_moved)
{
    int path = _i;
    struct rig t = rig_open(1024);
    struct bcast_assembler *a = NULL;
    uint8_t p[50] = {0};

    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 4096, 0, &a), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 50, 1, BCAST_MORE), 0);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN); /* a train is open */
    ck_assert_int_eq(bcast_writer_send(t.w, p, 50, 1, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 50, 1, 0), 0);
    ck_assert_int_eq(bcast_reader_skip(t.r), 0); /* a fragment gone */
    send_seq_large(t.w, 2, 80);
    ck_assert_int_eq(asm_read(a, path, t.m), -EPIPE);
    expect_msg(a, path, t.m, 2, 80);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 1);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

/* an overrun in the middle of a train: -ENOBUFS, the train dropped, never
   handed over; after a reset the next message comes whole */
START_TEST(test_assembler_overrun)
{
    int path = _i;
    struct rig t = rig_open(1024);
    struct bcast_assembler *a = NULL;
    uint8_t p[400] = {0};
    int i;

    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 8192, 0, &a), 0);
    send_seq_large(t.w, 1, 300);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 400, 2, BCAST_MORE), 0);
    expect_msg(a, path, t.m, 1, 300);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN); /* the train is open */
    for (i = 0; i < 8; i++)
        ck_assert_int_eq(bcast_writer_send(t.w, p, 400, 2, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_send(t.w, p, 400, 2, 0), 0);
    ck_assert_int_eq(asm_read(a, path, t.m), -ENOBUFS);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 1);
    ck_assert_int_eq(bcast_reader_reset(t.r), 0);
    send_seq_large(t.w, 3, 900);
    expect_msg(a, path, t.m, 3, 900);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

static int keep_odd(uint32_t user, void *ctx)
{
    (void)ctx;
    return user & 1;
}

/* a filter keeps or drops the whole train: each fragment has the user_defined */
START_TEST(test_assembler_filter)
{
    int path = _i;
    struct rig t = rig_open(8192);
    struct bcast_assembler *a = NULL;

    bcast_reader_set_filter(t.r, keep_odd, NULL);
    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 8192, BCAST_ASSEMBLE_HEARTBEATS, &a), 0);
    send_seq_large(t.w, 1, 1300);
    send_seq_large(t.w, 2, 1300);
    send_seq_large(t.w, 3, 40);
    ck_assert_int_eq(bcast_writer_send(t.w, "ab", 2, 5, BCAST_MORE), 0);
    ck_assert_int_eq(bcast_writer_heartbeat(t.w, 6), 0); /* filtered */
    ck_assert_int_eq(bcast_writer_send(t.w, "cd", 2, 5, 0), 0);
    expect_msg(a, path, t.m, 1, 1300);
    expect_msg(a, path, t.m, 3, 40);
    ck_assert_int_eq(asm_read(a, path, t.m), 4);
    ck_assert_int_eq(memcmp(bcast_message_data(t.m), "abcd", 4), 0);
    ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 0);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

/* ---- the Rust crate's trains ---- */

/* append a frame to a channel whose writer is gone, as the Rust writer
   lays it out: a padding frame first when it does not fit the lap */
static uint64_t rust_frame(struct chan *c, uint64_t pos, uint32_t fields, uint32_t user,
                           const void *p, size_t len)
{
    uint64_t idx = pos & (c->cap - 1), flen = frame_len(len);
    uint8_t *d = c->mem + OFF_DATA;

    fields |= (uint32_t)len;
    if (idx + flen > c->cap) {
        put32(d + idx, F_FIN | F_PAD | (uint32_t)(c->cap - idx - 8));
        put32(d + idx + 4, 0);
        pos += c->cap - idx;
        idx = 0;
    }
    put32(d + idx, fields);
    put32(d + idx + 4, user);
    memcpy(d + idx + 8, p, len);
    pos += flen;
    put64(c->mem + OFF_PRODUCER, pos);
    put64(c->mem + OFF_CLAIMED, pos);
    return pos;
}

/* Rust's Writer::claim_with_user_defined(len, false, user) and then
   Writer::continuation(len, fin): the continuations carry user_defined 0;
   a heartbeat with a payload in between; whole messages round them */
START_TEST(test_assembler_rust_frames)
{
    int path = _i;
    struct rig t = rig_writer(8192);
    struct bcast_assembler *a = NULL;
    uint8_t p[3000];
    uint64_t pos = 0, first;
    int round;

    bcast_writer_close(t.w);
    t.w = NULL;
    ck_assert_int_eq(bcast_reader_open(t.c.mem, t.c.size, &t.r), 0);
    t.m = bcast_message_new();
    ck_assert_int_eq(bcast_assembler_new(t.r, NULL, 4096, BCAST_ASSEMBLE_HEARTBEATS, &a), 0);
    for (round = 0; round < 6; round++) {
        uint64_t seq = 100 + (uint64_t)round;
        size_t len = 1000 + (size_t)round * 333, off = 0;

        seq_fill(seq, p, len);
        pos = rust_frame(&t.c, pos, F_FIN, 9, "w", 1);
        first = pos;
        pos = rust_frame(&t.c, pos, 0, (uint32_t)seq, p, 600);
        if (first + frame_len(600) != pos) /* the Rust writer padded before it */
            first = pos - frame_len(600);
        off = 600;
        pos = rust_frame(&t.c, pos, F_FIN | F_HB, 0, "hb!", 3);
        while (len - off > 600) {
            pos = rust_frame(&t.c, pos, F_CONT, 0, p + off, 600);
            off += 600;
        }
        pos = rust_frame(&t.c, pos, F_FIN | F_CONT, 0, p + off, len - off);
        ck_assert_int_eq(asm_read(a, path, t.m), 1);
        ck_assert_uint_eq(bcast_message_user_defined(t.m), 9);
        ck_assert_int_eq(asm_read(a, path, t.m), 3);
        ck_assert_int_eq(bcast_message_flags(t.m), BCAST_HEARTBEAT);
        expect_msg(a, path, t.m, seq, len);
        ck_assert_uint_eq(bcast_message_position(t.m), first);
        ck_assert_int_eq(asm_read(a, path, t.m), -EAGAIN);
    }
    ck_assert_uint_eq(bcast_assembler_dropped(a), 0);
    bcast_assembler_free(a);
    rig_close(&t);
}
END_TEST

/* the channel file the Rust crate wrote: its whole messages come through
   the assembler as they are */
START_TEST(test_assembler_rust_fixture)
{
    int path = _i;
    struct bcast_reader *r = NULL;
    struct bcast_assembler *a = NULL;
    struct bcast_message *m = bcast_message_new();
    int i;

    ck_assert_int_eq(bcast_reader_open_file_at(FIXTURES_DIR "/rust-64k-100.bcast", 0, 0, &r), 0);
    ck_assert_int_eq(bcast_assembler_new(r, NULL, 1024, 0, &a), 0);
    for (i = 0; i < 100; i++) {
        size_t len = (size_t)(i * 7) % 300, k;
        const uint8_t *d;

        ck_assert_int_eq(asm_read(a, path, m), (ssize_t)len);
        ck_assert_uint_eq(bcast_message_user_defined(m), (uint32_t)i);
        d = bcast_message_data(m);
        for (k = 0; k < len; k++)
            ck_assert_uint_eq(d[k], (uint8_t)i);
    }
    ck_assert_int_eq(asm_read(a, path, m), -EAGAIN);
    bcast_assembler_free(a);
    bcast_message_free(m);
    bcast_reader_close(r);
}
END_TEST

/* ---- a writer and a reader at once, sizes up to four MTUs ---- */

#define RND_CAP 16384 /* MTU 8184 */

struct rnd {
    struct chan c;
    struct bcast_writer *w;
    uint64_t count;
    size_t maxlen;
    int throttle, path;
    _Atomic int done;
    _Atomic uint64_t rpos;
    /* reader results */
    uint64_t delivered, overruns, cuts, failures;
    char failure[200];
};

static int rnd_heartbeat(uint64_t seq)
{
    return seq % 50 == 49;
}

static void *rnd_writer(void *arg)
{
    struct rnd *s = arg;
    uint8_t *p = malloc(s->maxlen + 1);
    uint64_t seq;

    pin_to(cpu_nth(0));
    for (seq = 0; p && seq < s->count; seq++) {
        size_t len = seq_len(seq, s->maxlen);

        if (s->throttle) /* the test waits for the reader, not the library */
            while (atomic_load(&s->rpos) != bcast_writer_position(s->w))
                sched_yield();
        if (rnd_heartbeat(seq)) {
            if (bcast_writer_heartbeat(s->w, (uint32_t)seq) < 0)
                break;
            continue;
        }
        seq_fill(seq, p, len);
        if (bcast_writer_send_large(s->w, p, len, (uint32_t)seq) < 0)
            break;
    }
    free(p);
    atomic_store(&s->done, 1);
    return NULL;
}

static void rnd_fail(struct rnd *s, const char *what, uint64_t seq)
{
    if (!s->failures++)
        snprintf(s->failure, sizeof s->failure, "%s: %s at seq %llu", path_names[s->path],
                 what, (unsigned long long)seq);
}

static void *rnd_reader(void *arg)
{
    struct rnd *s = arg;
    struct bcast_reader *r = NULL;
    struct bcast_assembler *a = NULL;
    struct bcast_message *m = bcast_message_new();
    int64_t last = -1;
    int lost = 0;

    pin_to(cpu_nth(1));
    /* from position 0: the writer may have started */
    if (!m || bcast_reader_open_at(s->c.mem, s->c.size, 0, &r) < 0 ||
        bcast_assembler_new(r, NULL, s->maxlen, BCAST_ASSEMBLE_HEARTBEATS, &a) < 0) {
        rnd_fail(s, "setup", 0);
        goto out;
    }
    for (;;) {
        int done = atomic_load(&s->done);
        ssize_t n = asm_read(a, s->path, m);
        uint64_t seq;

        atomic_store(&s->rpos, bcast_reader_position(r));
        if (n == -EAGAIN) {
            if (done)
                break;
            continue;
        }
        if (n == -ENOBUFS) {
            s->overruns++;
            lost = 1;
            bcast_reader_reset(r);
            atomic_store(&s->rpos, bcast_reader_position(r));
            continue;
        }
        if (n < 0) {
            rnd_fail(s, "error", (uint64_t)-n);
            break;
        }
        seq = bcast_message_user_defined(m);
        if (seq >= s->count)
            rnd_fail(s, "seq out of range", seq);
        else if (((bcast_message_flags(m) & BCAST_HEARTBEAT) != 0) != rnd_heartbeat(seq))
            rnd_fail(s, "wrong flags", seq);
        else if ((size_t)n != (rnd_heartbeat(seq) ? 0 : seq_len(seq, s->maxlen)))
            rnd_fail(s, "wrong length", seq);
        else if (seq_check(seq, bcast_message_data(m), (size_t)n) != (size_t)n)
            rnd_fail(s, "torn message", seq);
        else if ((int64_t)seq <= last)
            rnd_fail(s, "seq went back", seq);
        else if (!lost && (int64_t)seq != last + 1)
            rnd_fail(s, "message lost with no report", seq);
        last = (int64_t)seq;
        lost = 0;
        s->delivered++;
    }
    s->cuts = bcast_assembler_dropped(a);
out:
    bcast_assembler_free(a);
    bcast_reader_close(r);
    bcast_message_free(m);
    return NULL;
}

static void rnd_run(int path, int throttle)
{
    struct rnd *s = calloc(1, sizeof *s);
    pthread_t wt, rt;

    ck_assert_ptr_nonnull(s);
    s->c = chan_alloc(RND_CAP, 0);
    s->w = chan_writer(&s->c);
    s->path = path;
    s->throttle = throttle;
    s->count = throttle ? 1500 : 3000;
    /* throttled: trains that fit in the ring with the reserve; else up to 4 MTUs */
    s->maxlen = throttle ? RND_CAP - 256 - 8 * 4 - 16 : 4 * bcast_writer_mtu(s->w);
    ck_assert_int_eq(pthread_create(&rt, NULL, rnd_reader, s), 0);
    ck_assert_int_eq(pthread_create(&wt, NULL, rnd_writer, s), 0);
    pthread_join(wt, NULL);
    pthread_join(rt, NULL);
    ck_assert_msg(s->failures == 0, "%llu failures, first: %s", (unsigned long long)s->failures,
                  s->failure);
    if (throttle) {
        ck_assert_uint_eq(s->delivered, s->count);
        ck_assert_uint_eq(s->overruns, 0);
        ck_assert_uint_eq(s->cuts, 0);
    }
    bcast_writer_close(s->w);
    chan_free(&s->c);
    free(s);
}

START_TEST(test_random_free)
{
    rnd_run(_i, 0);
}
END_TEST

START_TEST(test_random_throttled)
{
    rnd_run(_i, 1);
}
END_TEST

/* ---- a writer killed in the middle of a train ---- */

/* the child joins the channel file, sends a whole message and the first
   fragment of a train, says so on the pipe and waits to be killed */
START_TEST(test_killed_mid_train)
{
    int path = _i, fds[2];
    const char *file = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    struct bcast_assembler *a = NULL;
    struct bcast_message *m = bcast_message_new();
    char c;
    pid_t pid;
    int st;

    ck_assert_int_eq(bcast_writer_create_file(file, 4096, 0, &w), 0);
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_reader_open_file(file, 0, &r), 0);
    ck_assert_int_eq(bcast_assembler_new(r, NULL, 65536, 0, &a), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint8_t p[3000];

        close(fds[0]);
        if (bcast_writer_join_file(file, 0, &w) < 0)
            _exit(1);
        seq_fill(1, p, 700);
        if (bcast_writer_send_large(w, p, 700, 1) < 0 ||
            bcast_writer_send(w, p, 2000, 2, BCAST_MORE) < 0 || write(fds[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    close(fds[0]);
    expect_msg(a, path, m, 1, 700);
    ck_assert_int_eq(asm_read(a, path, m), -EAGAIN); /* the train is open */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* the next writer: its first message ends the train the dead one left */
    ck_assert_int_eq(bcast_writer_join_file(file, 0, &w), 0);
    send_seq_large(w, 3, 3000);
    ck_assert_int_eq(asm_read(a, path, m), -EPIPE);
    expect_msg(a, path, m, 3, 3000);
    ck_assert_int_eq(asm_read(a, path, m), -EAGAIN);
    ck_assert_uint_eq(bcast_assembler_dropped(a), 1);
    bcast_writer_close(w);
    bcast_assembler_free(a);
    bcast_reader_close(r);
    bcast_message_free(m);
}
END_TEST

/* a child sends trains of random sizes until it is killed, wherever it is;
   every message the reader gets is whole and right, before and after */
START_TEST(test_killed_anywhere)
{
    int path = _i, fds[2], got = 0, exited = 0;
    ssize_t n;
    const char *file = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    struct bcast_assembler *a = NULL;
    struct bcast_message *m = bcast_message_new();
    const size_t maxlen = 4 * 8184;
    int64_t last = -1;
    char c;
    pid_t pid;
    int st;

    ck_assert_int_eq(bcast_writer_create_file(file, RND_CAP, 0, &w), 0);
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_reader_open_file(file, 0, &r), 0);
    ck_assert_int_eq(bcast_assembler_new(r, NULL, maxlen, 0, &a), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint8_t *p = malloc(maxlen);
        uint64_t seq;

        close(fds[0]);
        if (!p || bcast_writer_join_file(file, 0, &w) < 0 || write(fds[1], "x", 1) != 1)
            _exit(1);
        for (seq = 0; seq < 100000; seq++) {
            size_t len = seq_len(seq, maxlen);
            seq_fill(seq, p, len);
            if (bcast_writer_send_large(w, p, len, (uint32_t)seq) < 0)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    close(fds[0]);
    pin_to(cpu_nth(1));
    while (got < 20) { /* some messages, then the kill, wherever the child is */
        n = asm_read(a, path, m);
        if (n == -ENOBUFS) {
            ck_assert_int_eq(bcast_reader_reset(r), 0);
            continue;
        }
        if (n == -EAGAIN) {
            if (waitpid(pid, &st, WNOHANG) == pid) {
                exited = 1; /* it sent everything: what is left is read below */
                break;
            }
            continue;
        }
        ck_assert_int_ge(n, 0);
        ck_assert_uint_eq((size_t)n, seq_len(bcast_message_user_defined(m), maxlen));
        ck_assert_uint_eq(seq_check(bcast_message_user_defined(m), bcast_message_data(m), n),
                          (size_t)n);
        ck_assert_int_gt((int64_t)bcast_message_user_defined(m), last);
        last = bcast_message_user_defined(m);
        got++;
    }
    if (!exited) {
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    }
    /* what is left; then the next writer's message ends the train the
       child was killed in, if it was in one */
    for (;;) {
        uint64_t seq;

        n = asm_read(a, path, m);
        if (n == -EAGAIN)
            break;
        if (n == -ENOBUFS) {
            ck_assert_int_eq(bcast_reader_reset(r), 0);
            continue;
        }
        ck_assert_int_ge(n, 0);
        seq = bcast_message_user_defined(m);
        ck_assert_uint_eq((size_t)n, seq_len(seq, maxlen));
        ck_assert_uint_eq(seq_check(seq, bcast_message_data(m), n), (size_t)n);
        ck_assert_int_gt((int64_t)seq, last);
        last = (int64_t)seq;
    }
    ck_assert_int_eq(bcast_writer_join_file(file, 0, &w), 0);
    send_seq_large(w, 2000000, 5000);
    n = asm_read(a, path, m);
    if (n == -EPIPE)
        n = asm_read(a, path, m);
    ck_assert_int_eq(n, 5000);
    ck_assert_uint_eq(bcast_message_user_defined(m), 2000000);
    ck_assert_uint_eq(seq_check(2000000, bcast_message_data(m), 5000), 5000);
    ck_assert_int_eq(asm_read(a, path, m), -EAGAIN);
    bcast_writer_close(w);
    bcast_assembler_free(a);
    bcast_reader_close(r);
    bcast_message_free(m);
}
END_TEST

SUITE(assemble)
{
    TCase *tc = suite_case(s, "send_large", 0);

    tcase_add_test(tc, test_send_large_layout);
    tcase_add_test(tc, test_send_large_reader_flags);
    tcase_add_test(tc, test_send_large_errors);
    tcase_add_loop_test(tc, test_send_large_read_late, 0, P_PATHS);
    tc = suite_case(s, "commit_len", 0);
    tcase_add_test(tc, test_commit_len);
    tc = suite_case(s, "assembler", 0);
    tcase_add_test(tc, test_assembler_args);
    tcase_add_loop_test(tc, test_assembler_roundtrip, 0, 2 * P_PATHS);
    tcase_add_loop_test(tc, test_assembler_heartbeats, 0, 2 * P_PATHS);
    tcase_add_loop_test(tc, test_assembler_too_long, 0, 2 * P_PATHS);
    tcase_add_loop_test(tc, test_assembler_cut, 0, P_PATHS);
    tcase_add_loop_test(tc, test_assembler_orphans, 0, P_PATHS);
    tcase_add_loop_test(tc, test_assembler_reader_moved, 0, P_PATHS);
    tcase_add_loop_test(tc, test_assembler_overrun, 0, P_PATHS);
    tcase_add_loop_test(tc, test_assembler_filter, 0, P_PATHS);
    tc = suite_case(s, "rust", 0);
    tcase_add_loop_test(tc, test_assembler_rust_frames, 0, P_PATHS);
    tcase_add_loop_test(tc, test_assembler_rust_fixture, 0, P_PATHS);
    tc = suite_case(s, "concurrent", 60);
    tcase_add_loop_test(tc, test_random_free, 0, P_PATHS);
    tcase_add_loop_test(tc, test_random_throttled, 0, P_PATHS);
    tc = suite_case(s, "killed", 60);
    test_dirs(tc, "assemble");
    tcase_add_loop_test(tc, test_killed_mid_train, 0, P_PATHS);
    tcase_add_loop_test(tc, test_killed_anywhere, 0, P_PATHS);
}
