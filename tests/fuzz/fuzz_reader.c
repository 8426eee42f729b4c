/*
 * fuzz_reader: libFuzzer target.  Arbitrary bytes are a channel: a header
 * and a data section that any writer (or any corruption) might have left,
 * read through every reader API from arbitrary positions.  Whatever the
 * memory holds, the library must neither read nor write outside the channel
 * or the caller's buffers (AddressSanitizer), nor do anything undefined
 * (UndefinedBehaviorSanitizer), nor break the few promises checked below.
 *
 * Input: a control block of FUZZ_CTRL bytes, then the channel image (header
 * + data), zero-filled when short:
 *   [0]      capacity = 16 << (byte % 11), 16 B .. 16 KiB
 *   [1]      fix-ups: 0x01 make magic, version and ready valid; 0x02 round
 *            producer and claimed down to 8; 0x04 claimed = producer +
 *            8 * byte[2]; 0x08 reader positions are producer - 8 * value
 *            rather than absolute
 *   [2]      claimed delta (for 0x04)
 *   [3..10]  position A (little-endian)
 *   [11..18] position B
 *   [19..]   operations, one byte each: low nibble what, high nibble an
 *            argument (see run_op)
 *
 * The channel lies in its own heap block of exactly BCAST_HEADER_SIZE +
 * capacity bytes, 128-aligned, so ASan's redzones catch a read past either
 * end; every caller buffer is allocated at its exact size too.
 *
 * SPDX-License-Identifier: MIT
 */
#include <bcast.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CTRL 48
#define FUZZ_OPS_AT 19

/* a broken promise is a finding, like a sanitizer report */
#define PROMISE(cond)            \
    do {                         \
        if (!(cond))             \
            __builtin_trap();    \
    } while (0)

struct fuzz {
    uint8_t *mem;
    size_t size, capacity;
    uint64_t pos[2];
    int relative;
    struct bcast_reader *r;
    struct bcast_message *msg, *copy;
    volatile uint8_t sink;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t load_word(const struct fuzz *f, size_t off)
{
    uint64_t v;

    memcpy(&v, f->mem + off, sizeof v);
    return v;
}

static void store_word(struct fuzz *f, size_t off, uint64_t v)
{
    memcpy(f->mem + off, &v, sizeof v);
}

/* touch every byte so that ASan sees the whole range */
static void consume(struct fuzz *f, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t x = 0;
    size_t i;

    for (i = 0; i < len; i++)
        x ^= b[i];
    f->sink = x;
}

/* a buffer of exactly n bytes (at least 1, so malloc never returns NULL
   for n == 0 and the pointer is still owned by us) */
static uint8_t *buffer(size_t n)
{
    uint8_t *b = malloc(n ? n : 1);

    if (!b)
        abort();
    return b;
}

static size_t pick_cap(const struct fuzz *f, unsigned arg)
{
    switch (arg & 3) {
    case 0:
        return arg * 8;
    case 1:
        return bcast_reader_mtu(f->r);
    case 2:
        return f->capacity;
    default:
        return 3 * f->capacity + 8 * arg;
    }
}

static void check_position(const struct fuzz *f)
{
    PROMISE((bcast_reader_position(f->r) & 7) == 0);
}

static void read_message(struct fuzz *f, const struct bcast_message *m, size_t cap)
{
    uint8_t *buf = buffer(cap);
    ssize_t n = bcast_message_read(m, buf, cap);

    if (n >= 0) {
        PROMISE((size_t)n == bcast_message_len(m) && (size_t)n <= cap);
        consume(f, buf, (size_t)n);
    }
    free(buf);
    if (bcast_message_data(m))
        consume(f, bcast_message_data(m), bcast_message_len(m));
}

struct poll_state {
    struct fuzz *f;
    unsigned calls, stop_after;
};

static int handler(const struct bcast_message *m, void *ctx)
{
    struct poll_state *ps = ctx;

    read_message(ps->f, m, bcast_message_len(m));
    return ++ps->calls >= ps->stop_after;
}

static int keep_odd(uint32_t user, void *ctx)
{
    (void)ctx;
    return (int)(user & 1);
}

/* *m replaced by a new, empty message */
static void renew(struct bcast_message **m)
{
    bcast_message_free(*m);
    if (!(*m = bcast_message_new()))
        abort();
}

/* a bulk message points into a buffer that is about to be freed */
static void fresh_message(struct fuzz *f)
{
    renew(&f->msg);
}

/* a ring message must not be read once its reader is closed, so both
 * messages start empty with the new reader */
static void reopen(struct fuzz *f, struct bcast_reader *r)
{
    bcast_reader_close(f->r);
    f->r = r;
    renew(&f->msg);
    renew(&f->copy);
}

static void bulk(struct fuzz *f, unsigned arg)
{
    size_t cap = pick_cap(f, arg), off = 0;
    uint8_t *buf = buffer(cap);
    uint64_t start = 0, before = bcast_reader_position(f->r);
    ssize_t n = bcast_reader_read_bulk(f->r, buf, cap, &start);

    if (n > 0) {
        PROMISE((size_t)n <= cap && (size_t)n <= f->capacity && (n & 7) == 0);
        PROMISE(bcast_reader_position(f->r) == start + (uint64_t)n);
        while (bcast_bulk_next(buf, (size_t)n, &off, start, f->msg) == 0) {
            PROMISE(off <= (size_t)n);
            read_message(f, f->msg, bcast_message_len(f->msg));
        }
    } else {
        PROMISE(n == -EAGAIN || n == -ENOBUFS || n == -EBADMSG || n == -ERANGE);
        /* an overrun leaves the reader where it was */
        PROMISE(n != -ENOBUFS || bcast_reader_position(f->r) == before);
    }
    free(buf);
    fresh_message(f);
}

/* parse arbitrary bytes (a slice of the image) as a bulk window */
static void bulk_raw(struct fuzz *f, unsigned arg)
{
    size_t len = f->capacity - (arg * 3 % f->capacity), off = (arg & 1) * 8;
    uint8_t *buf = buffer(len);

    memcpy(buf, f->mem + BCAST_HEADER_SIZE + (f->capacity - len), len);
    if (off > len)
        off = len;
    while (bcast_bulk_next(buf, len, &off, 0, f->msg) == 0) {
        PROMISE(off <= len);
        read_message(f, f->msg, bcast_message_len(f->msg));
    }
    free(buf);
    fresh_message(f);
}

static void write_some(struct fuzz *f, unsigned arg)
{
    struct bcast_writer *w;
    size_t len = (size_t)arg * 13;
    uint8_t *payload = buffer(len);
    void *p;

    if (bcast_writer_join(f->mem, f->size, &w) < 0) {
        free(payload);
        return;
    }
    memset(payload, 0x5a, len);
    (void)bcast_writer_set_reserve(w, (arg & 1) ? 0 : 8);
    (void)bcast_writer_send(w, payload, len, arg, (arg & 2) ? BCAST_MORE : 0);
    (void)bcast_writer_heartbeat(w, arg);
    if (bcast_writer_claim(w, len, arg, 0, &p) == 0) {
        memset(p, 0xa5, len);
        if (arg & 4)
            (void)bcast_writer_abort(w);
        else
            (void)bcast_writer_commit(w);
    }
    PROMISE((bcast_writer_position(w) & 7) == 0);
    bcast_writer_close(w);
    free(payload);
}

static void run_op(struct fuzz *f, uint8_t op)
{
    unsigned what = op & 15, arg = op >> 4;
    struct bcast_reader *r;
    ssize_t n;

    switch (what) {
    case 0:
        (void)bcast_reader_next(f->r, f->msg);
        break;
    case 1: {
        size_t cap = pick_cap(f, arg);
        uint8_t *buf = buffer(cap);
        n = bcast_reader_receive(f->r, buf, cap, (arg & 4) ? NULL : f->msg);
        if (n >= 0) {
            PROMISE((size_t)n <= cap);
            if (!(arg & 4))
                PROMISE((size_t)n == bcast_message_len(f->msg));
            consume(f, buf, (size_t)n);
        }
        free(buf);
        break;
    }
    case 2:
        read_message(f, (arg & 1) ? f->copy : f->msg, pick_cap(f, arg >> 1));
        break;
    case 3: {
        struct poll_state ps = {f, 0, arg / 2 + 1};
        int rc = bcast_reader_poll(f->r, handler, &ps, arg);
        PROMISE(rc < 0 || (unsigned)rc == ps.calls);
        break;
    }
    case 4:
        (void)bcast_reader_skip(f->r);
        break;
    case 5:
        bulk(f, arg);
        break;
    case 6:
        (void)bcast_reader_reset(f->r);
        break;
    case 7:
        if (bcast_reader_open_last_lap(f->mem, f->size, &r) == 0)
            reopen(f, r);
        break;
    case 8: {
        uint64_t p = f->pos[arg & 1];
        if (f->relative)
            p = load_word(f, 128) - 8 * (p % (4 * f->capacity));
        if (bcast_reader_open_at(f->mem, f->size, p + 8 * (arg >> 1), &r) == 0)
            reopen(f, r);
        break;
    }
    case 9:
        bcast_reader_set_filter(f->r, (arg & 1) ? keep_odd : NULL, f);
        break;
    case 10:
        consume(f, bcast_reader_metadata(f->r), BCAST_METADATA_SIZE);
        f->sink ^= (uint8_t)(bcast_reader_pending(f->r) + bcast_reader_capacity(f->r) +
                             bcast_reader_mtu(f->r));
        break;
    case 11:
        if (bcast_message_copy(f->copy, f->msg) == 0) {
            f->sink ^= (uint8_t)(bcast_message_position(f->copy) +
                                 (uint64_t)bcast_message_flags(f->copy) +
                                 bcast_message_user_defined(f->copy));
            read_message(f, f->copy, bcast_message_len(f->copy));
        }
        break;
    case 12:
        bulk_raw(f, arg);
        break;
    case 13:
        write_some(f, arg);
        break;
    case 14: /* the producer moves (or is corrupted) under the reader */
        store_word(f, 128, load_word(f, 128) + 8 * arg - 64 + ((arg & 1) ? 4 : 0));
        break;
    default: /* so does the claimed frontier */
        store_word(f, 256, load_word(f, 128) + 8 * arg * (f->capacity / 16 + 1));
        break;
    }
    check_position(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz f = {0};
    const uint8_t *image = data + FUZZ_CTRL;
    size_t image_len, i;
    void *mem;
    int rc;

    if (size < FUZZ_CTRL)
        return 0;
    image_len = size - FUZZ_CTRL;
    f.capacity = (size_t)16 << (data[0] % 11);
    f.size = bcast_channel_size(f.capacity);
    if (posix_memalign(&mem, BCAST_ALIGNMENT, f.size))
        return 0;
    f.mem = mem;
    memset(f.mem, 0, f.size);
    memcpy(f.mem, image, image_len < f.size ? image_len : f.size);

    if (data[1] & 0x01) {
        memcpy(f.mem, "BCST\x01\x00", 6);
        f.mem[384] = 1;
    }
    if (data[1] & 0x02) {
        store_word(&f, 128, load_word(&f, 128) & ~(uint64_t)7);
        store_word(&f, 256, load_word(&f, 256) & ~(uint64_t)7);
    }
    if (data[1] & 0x04)
        store_word(&f, 256, load_word(&f, 128) + 8 * (uint64_t)data[2]);
    f.relative = !!(data[1] & 0x08);
    f.pos[0] = get64(data + 3);
    f.pos[1] = get64(data + 11);

    f.msg = bcast_message_new();
    f.copy = bcast_message_new();
    if (!f.msg || !f.copy)
        abort();
    /* an empty message reads -EINVAL */
    PROMISE(bcast_message_read(f.msg, NULL, 0) == -EINVAL);

    rc = bcast_reader_open(f.mem, f.size, &f.r);
    if (rc == 0) {
        check_position(&f);
        for (i = FUZZ_OPS_AT; i < FUZZ_CTRL; i++)
            run_op(&f, data[i]);
        bcast_reader_close(f.r);
    } else {
        PROMISE(rc == -EAGAIN || rc == -EPROTO || rc == -EPROTONOSUPPORT);
    }
    bcast_message_free(f.copy);
    bcast_message_free(f.msg);
    free(mem);
    return 0;
}
