/*
 * Helpers shared by the Check suites (those of the in-memory API in
 * tests/core.mk, and check_mmap, check_stress and check_bulk_overrun):
 * channel memory, a channel with a writer and a reader on it (struct rig),
 * header pokes at the offsets of bcast-format(5), a model of where the writer
 * places frames, and payloads that derive from a sequence number.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_CORE_HELPERS_H
#define BCAST_CORE_HELPERS_H

#include "suite-main.h"

#include <bcast.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* header offsets and frame bits, from bcast-format(5) (not from src/ring.h) */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_FLAGS 6
#define OFF_PRODUCER 128
#define OFF_CLAIMED 256
#define OFF_READY 384
#define OFF_LAP 512
#define OFF_METADATA 640
#define OFF_DATA 1664

#define F_FIN 0x80000000u
#define F_CONT 0x40000000u
#define F_PAD 0x20000000u
#define F_HB 0x10000000u
#define F_LEN 0x0fffffffu

/* a channel in heap memory, aligned as the API requires */
struct chan {
    uint8_t *mem;
    size_t size;
    size_t cap;
    size_t guard; /* chan_alloc_guarded: PROT_NONE bytes right after the channel */
};

static inline size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* frame length of a payload of len bytes */
static inline uint64_t frame_len(uint64_t len)
{
    return 8 + round_up(len, 8);
}

/* memory for a channel of capacity cap, every byte set to fill */
static inline struct chan chan_alloc(size_t cap, int fill)
{
    struct chan c;

    c.cap = cap;
    c.size = bcast_channel_size(cap);
    c.guard = 0;
    ck_assert_uint_ne(c.size, 0);
    c.mem = aligned_alloc(BCAST_ALIGNMENT, round_up(c.size, BCAST_ALIGNMENT));
    ck_assert_ptr_nonnull(c.mem);
    memset(c.mem, fill, c.size);
    return c;
}

static inline void chan_free(struct chan *c)
{
    free(c->mem);
    c->mem = NULL;
}

/*
 * Memory for a channel (zeroed) whose data section ends where PROT_NONE
 * pages begin, so that any read past the channel faults: at least guard
 * bytes of them, and at least one page.  Free with chan_free_guarded.
 */
static inline struct chan chan_alloc_guarded(size_t cap, size_t guard)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct chan c;
    size_t span;
    uint8_t *map;

    c.cap = cap;
    c.size = bcast_channel_size(cap);
    ck_assert_uint_ne(c.size, 0);
    c.guard = guard > page ? round_up(guard, page) : page;
    span = round_up(c.size, page);
    map = mmap(NULL, span + c.guard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + span, c.guard, PROT_NONE), 0);
    c.mem = map + span - c.size;
    ck_assert_uint_eq((uintptr_t)c.mem % BCAST_ALIGNMENT, 0);
    return c;
}

static inline void chan_free_guarded(struct chan *c)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = round_up(c->size, page);

    munmap(c->mem + c->size - span, span + c->guard);
    c->mem = NULL;
}

/* a channel with a writer on it (default reserve, no metadata) */
static inline struct bcast_writer *chan_writer(struct chan *c)
{
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(bcast_writer_create(c->mem, c->size, NULL, 0, &w), 0);
    ck_assert_ptr_nonnull(w);
    return w;
}

static inline struct bcast_reader *chan_reader(struct chan *c)
{
    struct bcast_reader *r = NULL;

    ck_assert_int_eq(bcast_reader_open(c->mem, c->size, &r), 0);
    ck_assert_ptr_nonnull(r);
    return r;
}

/*
 * What most tests start from: a zeroed channel of capacity cap and a
 * writer on it (default reserve, no metadata), rig_writer(); rig_open()
 * adds a reader at position 0 and a message handle.  rig_close() closes
 * what is open and frees the channel; a test that closes one of them
 * itself sets it to NULL.
 */
struct rig {
    struct chan c;
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_message *m;
};

static inline struct rig rig_writer(size_t cap)
{
    struct rig t;

    t.c = chan_alloc(cap, 0);
    t.w = chan_writer(&t.c);
    t.r = NULL;
    t.m = NULL;
    return t;
}

static inline struct rig rig_open(size_t cap)
{
    struct rig t = rig_writer(cap);

    t.r = chan_reader(&t.c);
    t.m = bcast_message_new();
    ck_assert_ptr_nonnull(t.m);
    return t;
}

static inline void rig_close(struct rig *t)
{
    bcast_message_free(t->m);
    bcast_reader_close(t->r);
    bcast_writer_close(t->w);
    chan_free(&t->c);
}

/* little-endian fields of the channel memory */
static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t hdr_producer(const struct chan *c)
{
    return get64(c->mem + OFF_PRODUCER);
}

static inline uint64_t hdr_claimed(const struct chan *c)
{
    return get64(c->mem + OFF_CLAIMED);
}

static inline uint64_t hdr_lap(const struct chan *c)
{
    return get64(c->mem + OFF_LAP);
}

/*
 * Move an idle channel to stream position pos (8-aligned) as a writer that
 * got there would have left it: producer = claimed = pos, lap_count =
 * pos / capacity.  A writer joins it there.
 */
static inline void poke_positions(struct chan *c, uint64_t pos)
{
    put64(c->mem + OFF_PRODUCER, pos);
    put64(c->mem + OFF_CLAIMED, pos);
    put64(c->mem + OFF_LAP, pos / c->cap);
}

/* the frame header at stream position pos */
static inline uint8_t *frame_at(const struct chan *c, uint64_t pos)
{
    return c->mem + OFF_DATA + (pos & (c->cap - 1));
}

static inline uint32_t frame_fields(const struct chan *c, uint64_t pos)
{
    return get32(frame_at(c, pos));
}

static inline uint32_t frame_user(const struct chan *c, uint64_t pos)
{
    return get32(frame_at(c, pos) + 4);
}

/*
 * Where the writer puts a frame of flen bytes when its position is pos:
 * at pos, or at the start of the next lap when it would cross the end.
 */
static inline uint64_t frame_place(uint64_t pos, uint64_t flen, size_t cap)
{
    uint64_t idx = pos & (cap - 1);
    return idx + flen > cap ? pos + (cap - idx) : pos;
}

/* default claim reserve (bcast-format(5)) */
static inline uint64_t default_reserve(size_t cap)
{
    uint64_t want = (cap + 99) / 100, r = 8;
    while (r < want)
        r <<= 1;
    return r;
}

/* payload byte i of the message with sequence number seq */
static inline uint8_t seq_byte(uint64_t seq, size_t i)
{
    uint64_t x = seq * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
    return (uint8_t)(x >> 56 ^ x >> 29 ^ i);
}

static inline void seq_fill(uint64_t seq, void *buf, size_t len)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        b[i] = seq_byte(seq, i);
}

/* index of the first byte that differs from the payload of seq, or len */
static inline size_t seq_check(uint64_t seq, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        if (b[i] != seq_byte(seq, i))
            return i;
    return len;
}

/* a payload length in [0, max] that derives from seq */
static inline size_t seq_len(uint64_t seq, size_t max)
{
    uint64_t x = (seq + 1) * 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return max ? (size_t)(x % (max + 1)) : 0;
}

/* send the payload of seq, len bytes, user_defined = seq */
static inline void send_seq(struct bcast_writer *w, uint64_t seq, size_t len)
{
    uint8_t buf[4096];
    uint8_t *p = len > sizeof buf ? malloc(len) : buf;

    ck_assert_ptr_nonnull(p);
    seq_fill(seq, p, len);
    ck_assert_int_eq(bcast_writer_send(w, p, len, (uint32_t)seq, 0), 0);
    if (p != buf)
        free(p);
}

/*
 * Headers that are not (yet) a usable channel, and what join and the reader
 * opens must say about them (bcast_writer_join(3), bcast_reader_open(3)).  bad_header(c, k) damages
 * the header of the valid channel c in way k and returns the expected code,
 * or 1 when k is past the last way.
 */
static inline int bad_header(struct chan *c, unsigned k, const char **what)
{
    switch (k) {
    case 0:
        *what = "ready 0 (writer initialising)";
        c->mem[OFF_READY] = 0;
        return -EAGAIN;
    case 1:
        *what = "ready 0 and no magic yet";
        c->mem[OFF_READY] = 0;
        memset(c->mem, 0, 8);
        return -EAGAIN;
    case 2:
        *what = "magic BCSX";
        c->mem[OFF_MAGIC + 3] = 'X';
        return -EPROTO;
    case 3:
        *what = "magic all zero, ready 1";
        memset(c->mem, 0, 4);
        return -EPROTO;
    case 4:
        *what = "ready 2";
        c->mem[OFF_READY] = 2;
        return -EPROTO;
    case 5:
        *what = "version 2";
        c->mem[OFF_VERSION] = 2;
        return -EPROTONOSUPPORT;
    case 6:
        *what = "version 0";
        c->mem[OFF_VERSION] = 0;
        return -EPROTONOSUPPORT;
    case 7:
        *what = "version 0x0101";
        c->mem[OFF_VERSION + 1] = 1;
        return -EPROTONOSUPPORT;
    case 8:
        *what = "producer not 8-aligned";
        put64(c->mem + OFF_PRODUCER, get64(c->mem + OFF_PRODUCER) + 4);
        return -EPROTO;
    case 9:
        *what = "claimed not 8-aligned";
        put64(c->mem + OFF_CLAIMED, get64(c->mem + OFF_CLAIMED) + 1);
        return -EPROTO;
    case 10:
        *what = "producer and claimed not 8-aligned";
        put64(c->mem + OFF_PRODUCER, 3);
        put64(c->mem + OFF_CLAIMED, 3);
        return -EPROTO;
    default:
        return 1;
    }
}

/*
 * bad_header on a channel of its own: *c becomes a channel of capacity
 * 1024 holding n three-byte messages, with no writer and its header
 * damaged in way k.  When k is past the last way *c is freed again.
 */
static inline int bad_channel(struct chan *c, unsigned k, int n, const char **what)
{
    struct bcast_writer *w;
    int want;

    *c = chan_alloc(1024, 0);
    w = chan_writer(c);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(bcast_writer_send(w, "abc", 3, 0, 0), 0);
    bcast_writer_close(w);
    want = bad_header(c, k, what);
    if (want == 1)
        chan_free(c);
    return want;
}

#endif /* BCAST_CORE_HELPERS_H */
