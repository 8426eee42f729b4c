/*
 * libbcast internal: channel layout (FORMAT.md), handle structs, position
 * arithmetic, and the interface of the ring core in src/arch/<arch>/ring.c.
 *
 * Nothing here touches the OS or contains a fence or an atomic: the ring
 * core owns every access to the shared words and every ordering decision.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_RING_H
#define BCAST_RING_H

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "bcast.h"

#if defined(__GNUC__)
#define BCAST_EXPORT __attribute__((visibility("default")))
#define bcast__likely(x) __builtin_expect(!!(x), 1)
#define bcast__unlikely(x) __builtin_expect(!!(x), 0)
#else
#define BCAST_EXPORT
#define bcast__likely(x) (x)
#define bcast__unlikely(x) (x)
#endif

/* ---- header layout (FORMAT.md) ---- */
#define BCAST__OFF_MAGIC 0
#define BCAST__OFF_VERSION 4
#define BCAST__OFF_FLAGS 6
#define BCAST__OFF_PRODUCER 128
#define BCAST__OFF_CLAIMED 256
#define BCAST__OFF_READY 384
#define BCAST__OFF_LAP 512
#define BCAST__OFF_METADATA 640
#define BCAST__MAGIC_LE 0x54534342u /* "BCST" read as a little-endian u32 */
#define BCAST__FORMAT_VERSION 1
#define BCAST__MIN_CAPACITY 16

/* ---- frame header, the low (first) 32-bit word ---- */
#define BCAST__FIN 0x80000000u
#define BCAST__CONT 0x40000000u
#define BCAST__PAD 0x20000000u
#define BCAST__HB 0x10000000u
#define BCAST__LEN_MASK 0x0fffffffu
#define BCAST__FRAME_HDR 8u
#define BCAST__MTU_LIMIT ((1u << 28) - 8u)

/* little-endian conversion of shared words: a no-op on little-endian CPUs */
#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define bcast__le64(x) __builtin_bswap64(x)
#define bcast__le32(x) __builtin_bswap32(x)
#define bcast__le16(x) __builtin_bswap16(x)
#else
#define bcast__le64(x) (x)
#define bcast__le32(x) (x)
#define bcast__le16(x) (x)
#endif

struct bcast__mapping; /* mmap.c: file mapping and writer lock */

struct bcast_writer {
    /* hot: claim/commit/send */
    uint8_t *data;         /* base + BCAST_HEADER_SIZE */
    uint64_t mask;         /* capacity - 1 */
    uint64_t position;     /* committed position == producer_position we published */
    uint64_t frontier;     /* claimed_position we published */
    uint64_t reserve;      /* claim reserve in bytes, multiple of 8 */
    uint64_t mtu;
    uint64_t claim_pos;    /* frame position of the open claim */
    uint32_t claim_len;
    uint32_t claim_user;
    uint32_t claim_fields; /* FIN/CONT/HB bits of the open claim */
    uint32_t train;        /* BCAST__CONT while a fragment train is open */
    int claim_open;
    unsigned lap_shift;    /* log2(capacity) */
    /* fast-path bounds, kept by the ring core (the generic core ignores them):
       a send takes the fast path when len < fast_bound and its frame ends at
       or before limit (never past the frontier nor the end of the lap);
       16 to 32 bytes, the common size class, when len - 16 < fast16 */
    uint64_t fast_bound;   /* min(mtu, BCAST__FAST_MAX) + 1; 0 while a claim or train is open */
    uint64_t fast16;       /* min(fast_bound, 33) - 16, or 0 */
    uint64_t limit;        /* min(frontier, lap_limit) */
    uint64_t lap_limit;    /* end of the current lap; the position itself at a lap boundary */
    /* cold */
    uint8_t *base;
    uint64_t capacity;
    struct bcast__mapping *mapping; /* NULL for caller memory */
};

/*
 * A message is five words, filled by a read with five stores.  A ring
 * message refers to the channel memory only (its base, for the frontier
 * check of bcast_message_read, and its capacity), never to the reader that
 * filled it, so it stays readable as long as the channel memory is mapped;
 * a bulk message has no base; a message never filled has no payload.
 * Length, user_defined and flags are read off the header.
 */
struct bcast_message {
    const uint8_t *payload; /* ring payload or bulk buffer; NULL: never filled */
    const uint8_t *base;    /* ring message: the channel; bulk: NULL */
    uint64_t capacity;      /* ring message: the channel's capacity */
    uint64_t position;      /* stream position of the frame header */
    uint64_t hdr;           /* the frame header: fields | user_defined << 32 */
};

struct bcast_reader {
    /* hot */
    const uint8_t *data;
    uint64_t mask;
    uint64_t position;     /* next frame to read */
    uint64_t producer;     /* cached producer_position; == position, or ahead of it */
    bcast_filter filter;
    void *filter_ctx;
    uint64_t fast_max;     /* receive: BCAST__FAST_MAX + 1, or 0 while a filter is set */
    uint64_t fast16;       /* receive: 17 (16 to 32 bytes when len - 16 < fast16), or 0 likewise */
    uint64_t next_max;     /* next: BCAST__PAD, or 0 while a filter is set */
    uint64_t fast_end;     /* receive: frames at ring offsets below it never reach the ring end */
    /* cold */
    const uint8_t *base;
    uint64_t capacity;
    uint64_t mtu;
    struct bcast_message poll_msg;
    struct bcast__mapping *mapping; /* NULL for caller memory */
};

/* ---- position and frame arithmetic (pure) ---- */

static inline uint64_t bcast__align8(uint64_t n)
{
    return (n + 7u) & ~(uint64_t)7u;
}

/* frame length of a payload of len bytes: 8 + round_up(len, 8) */
static inline uint64_t bcast__frame_len(uint64_t len)
{
    return (len + 15) & ~(uint64_t)7;
}

/* the largest payload the fast paths of a ring core copy inline */
#define BCAST__FAST_MAX 256

/* argument checks of bcast_writer_send and the claim: 0 or -errno */
static inline int bcast__send_check(const struct bcast_writer *w, const void *payload,
                                    size_t len, int flags)
{
    if (!w || (!payload && len) || (flags & ~(BCAST_MORE | BCAST_HEARTBEAT)) ||
        flags == (BCAST_MORE | BCAST_HEARTBEAT))
        return -EINVAL;
    if (w->claim_open)
        return -EBUSY;
    if (len > w->mtu)
        return -EMSGSIZE;
    return 0;
}

static inline int bcast__is_pow2(uint64_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* true when a is after b in the position space (modulo 2^64) */
static inline int bcast__after(uint64_t a, uint64_t b)
{
    return (int64_t)(a - b) > 0;
}

static inline uint64_t bcast__mtu(uint64_t capacity)
{
    uint64_t m = capacity / 2 - BCAST__FRAME_HDR;
    return m < BCAST__MTU_LIMIT ? m : BCAST__MTU_LIMIT;
}

/* default claim reserve: next power of two >= 1% of capacity, at least 8 */
static inline uint64_t bcast__default_reserve(uint64_t capacity)
{
    uint64_t want = (capacity + 99) / 100, r = 8;
    while (r < want)
        r <<= 1;
    return r;
}

/* FIN/CONT/HB bits of a new frame sent with flags: a heartbeat never carries
   CONTINUATION; any other frame does while a fragment train is open */
static inline uint32_t bcast__frame_fields(const struct bcast_writer *w, int flags)
{
    uint32_t f = (flags & BCAST_MORE) ? 0 : BCAST__FIN;
    return f | ((flags & BCAST_HEARTBEAT) ? BCAST__HB : w->train);
}

/* after a frame is published: a MORE frame opens (or continues) a train, a
   FIN frame ends it, a heartbeat leaves it as it was */
static inline void bcast__train_update(struct bcast_writer *w, uint32_t fields)
{
    if (!(fields & BCAST__HB))
        w->train = (fields & BCAST__FIN) ? 0 : BCAST__CONT;
}

/* public flags of a frame header's fields word */
static inline int bcast__msg_flags(uint32_t fields)
{
    int f = 0;
    if (!(fields & BCAST__FIN))
        f |= BCAST_MORE;
    if (fields & BCAST__CONT)
        f |= BCAST_CONTINUATION;
    if (fields & BCAST__HB)
        f |= BCAST_HEARTBEAT;
    return f;
}

/*
 * Validate a frame header at ring index idx: its frame must end inside the
 * data section and at or before the committed data (avail bytes from the
 * frame's position to producer).  Returns the frame length, or 0 when the
 * header is impossible.
 */
static inline uint64_t bcast__frame_check(uint32_t fields, uint64_t idx, uint64_t capacity,
                                          uint64_t avail)
{
    uint64_t flen = bcast__frame_len(fields & BCAST__LEN_MASK);
    if (bcast__unlikely(idx + flen > capacity || flen > avail))
        return 0;
    return flen;
}

static inline void bcast__msg_fill(struct bcast_message *m, const struct bcast_reader *r,
                                   uint64_t pos, uint64_t hdr, const uint8_t *payload)
{
    m->payload = payload;
    m->base = r->base;
    m->capacity = r->capacity;
    m->position = pos;
    m->hdr = hdr;
}

static inline uint32_t bcast__msg_len(const struct bcast_message *m)
{
    return (uint32_t)m->hdr & BCAST__LEN_MASK;
}

/* ---- bulk windows (read_bulk): the parts with no shared-word access ---- */

/*
 * The bytes of a padding frame at ring index idx that ends the lap and is
 * committed (avail bytes are), or 0.  read_bulk skips such a frame rather
 * than copying it, so a buffer of capacity/2 always holds the next frame.
 */
static inline uint64_t bcast__lap_padding(uint64_t hdr, uint64_t idx, uint64_t capacity,
                                          uint64_t avail)
{
    uint32_t fields = (uint32_t)hdr;

    if ((fields & BCAST__PAD) && idx + bcast__frame_len(fields & BCAST__LEN_MASK) == capacity &&
        capacity - idx <= avail)
        return capacity - idx;
    return 0;
}

/*
 * Copy n bytes of the ring from position start, n <= capacity: at most two
 * memcpy.  The ring holds one lap, so a reader further behind copies one
 * ring (and the frontier check after the copy reports the overrun).
 */
static inline void bcast__ring_copy_out(void *buf, const uint8_t *data, uint64_t mask,
                                        uint64_t start, uint64_t n)
{
    uint64_t idx = start & mask, first = mask + 1 - idx;

    if (first > n)
        first = n;
    if (first)
        memcpy(buf, data + idx, first);
    if (n > first)
        memcpy((uint8_t *)buf + first, data, n - first);
}

/*
 * The whole frames at the front of a checked bulk copy of n bytes from
 * position start, with avail bytes committed from start: their length, or
 * -EBADMSG (the first frame is impossible), -ERANGE (the buffer cannot hold
 * it) or -EAGAIN (nothing was committed).
 */
static inline int64_t bcast__bulk_frames(const uint8_t *buf, uint64_t n, uint64_t start,
                                         uint64_t avail, uint64_t mask)
{
    uint64_t off = 0;

    while (off + BCAST__FRAME_HDR <= n) {
        uint32_t fields;
        uint64_t flen;

        memcpy(&fields, buf + off, sizeof fields);
        flen = bcast__frame_check(bcast__le32(fields), (start + off) & mask, mask + 1,
                                  avail - off);
        if (flen == 0) {
            if (off == 0)
                return -EBADMSG;
            break;
        }
        if (off + flen > n)
            break;
        off += flen;
    }
    if (off == 0) /* no whole frame: buffer too small, or not even a header committed */
        return avail == 0 ? -EAGAIN : avail < BCAST__FRAME_HDR ? -EBADMSG : -ERANGE;
    return (int64_t)off;
}

/* header validation shared by readers and joining writers: 0 or -errno */
int bcast__header_check(const uint8_t *base);
/* caller memory for a channel: not NULL, BCAST_ALIGNMENT-aligned, and a
   size that bcast__capacity_of accepts; 0 and *capacity, or -EINVAL */
int bcast__mem_check(const void *mem, size_t size, uint64_t *capacity);
/* size -> capacity, or 0 when size is not BCAST_HEADER_SIZE + a power of two >= 16 */
uint64_t bcast__capacity_of(size_t size);

/*
 * ---- the hot entry points ----
 * bcast_writer_send, bcast_reader_next and bcast_reader_receive are defined
 * once, together with hidden twins (bcast__writer_send, bcast__reader_next,
 * bcast__reader_receive) for calls from inside the library.  A ring core
 * that has fast paths (BCAST_ARCH_FAST_PATHS, src/local.mk) defines them as one
 * leaf function each and falls back to the checked general paths below;
 * otherwise writer.c and reader.c define them as those general paths.  Such
 * a core also defines bcast_reader_poll, with its fast next in the loop.
 */
int bcast__writer_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                       int flags);
int bcast__reader_next(struct bcast_reader *r, struct bcast_message *msg);
ssize_t bcast__reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                              struct bcast_message *msg);
/* checked general paths (writer.c, reader.c) */
int bcast__send_slow(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                     int flags);
int bcast__next_slow(struct bcast_reader *r, struct bcast_message *msg);
ssize_t bcast__receive_slow(struct bcast_reader *r, void *buf, size_t cap,
                            struct bcast_message *msg);

/* bcast_reader_poll: a limit past INT_MAX counts as INT_MAX */
static inline size_t bcast__poll_limit(size_t limit)
{
    return limit > INT_MAX ? INT_MAX : limit;
}

/* bcast_reader_poll's answer after n messages, the batch ended by rc:
   -EAGAIN ends a batch quietly; another error is reported when nothing was
   handled, and otherwise found again by the next call (it is sticky) */
static inline int bcast__poll_result(int n, int rc)
{
    return n == 0 && rc < 0 && rc != -EAGAIN ? rc : n;
}

/* ---- the ring core: src/arch/<arch>/ring.c ---- */

/* writer */
void bcast__ring_init(struct bcast_writer *w, const void *metadata, size_t metadata_len);
void bcast__ring_join(struct bcast_writer *w);
int bcast__ring_claim(struct bcast_writer *w, size_t len, uint32_t user, uint32_t fields,
                      void **payload);
int bcast__ring_commit(struct bcast_writer *w);
int bcast__ring_abort(struct bcast_writer *w);
int bcast__ring_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                     uint32_t fields);

/* header loads for open/validation */
uint64_t bcast__ring_load_producer(const uint8_t *base);
uint64_t bcast__ring_load_claimed(const uint8_t *base);
uint64_t bcast__ring_load_lap(const uint8_t *base);
uint8_t bcast__ring_load_ready(const uint8_t *base);

/* reader */
int bcast__ring_next(struct bcast_reader *r, struct bcast_message *msg);
ssize_t bcast__ring_receive(struct bcast_reader *r, void *buf, size_t cap,
                            struct bcast_message *msg);
ssize_t bcast__ring_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                              uint64_t *start_position);
uint64_t bcast__ring_pending(struct bcast_reader *r);
void bcast__ring_reset(struct bcast_reader *r);
/* copy a ring message's payload, then check it was not overwritten */
ssize_t bcast__ring_message_read(const struct bcast_message *m, void *buf);

/*
 * ---- hidden aliases of public functions ----
 * Calls from one file of the library to a public function of another go
 * through these, so they bind inside the library (no PLT, no interposition).
 * The file that defines the public function defines its alias with
 * BCAST__ALIAS.
 */
#define BCAST__ALIAS(pub, hidden) extern __typeof__(pub) hidden __attribute__((alias(#pub)))
extern __typeof__(bcast_channel_size) bcast__channel_size;
extern __typeof__(bcast_writer_create) bcast__writer_create;
extern __typeof__(bcast_writer_join) bcast__writer_join;
extern __typeof__(bcast_reader_open) bcast__reader_open;
extern __typeof__(bcast_reader_open_at) bcast__reader_open_at;
extern __typeof__(bcast_reader_open_last_lap) bcast__reader_open_last_lap;

/* ---- mmap.c ---- */
void bcast__mapping_release(struct bcast__mapping *m);

#endif /* BCAST_RING_H */
