/*
 * libbcast internal: channel layout (doc/bcast-format.5), handle structs,
 * position arithmetic, and the interface of the ring core: the protocol in
 * src/protocol.h, compiled by src/arch/<arch>/ring.c over that CPU's
 * primitives.
 *
 * Nothing here touches the OS, shared memory, a fence or an atomic: the
 * ring core owns every access to the shared words and every ordering
 * decision.
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
#define bcast__always_inline inline __attribute__((always_inline))
/* an empty asm that takes x in a register and may change it: a register
   allocation hint, no instruction */
#define bcast__reg_hint(x) __asm__("" : "+r"(x))
#define BCAST__NONNULL(n) __attribute__((nonnull(n)))
#else
#define BCAST_EXPORT
#define bcast__likely(x) (x)
#define bcast__unlikely(x) (x)
#define bcast__always_inline inline
#define bcast__reg_hint(x) ((void)0)
#define BCAST__NONNULL(n)
#endif

/* ---- header layout (doc/bcast-format.5) ---- */
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
    /* fast-path bounds, kept by bcast__writer_fast_refresh:
       a send takes the fast path when len < fast_bound and its frame ends at
       or before limit (never past the frontier nor the end of the lap);
       16 to 32 bytes, the common size class, when len - 16 < fast16 */
    uint64_t fast_bound;   /* min(mtu, BCAST__FAST_MAX) + 1; 0 while a claim or train is open */
    uint64_t fast16;       /* min(fast_bound, 33) - 16, or 0 */
    uint64_t limit;        /* min(frontier, lap_limit) */
    uint64_t lap_limit;    /* end of the current lap; the position itself at a lap boundary */
    /* the need_wake word of the wait area, loaded after every publish, or
       no_wake when the writer has no wait area */
    const uint8_t *wake_flag;
    uint32_t no_wake;               /* always 0 */
    /* cold */
    uint8_t *base;
    uint64_t capacity;
    uint8_t *wait;                  /* the wait area, or NULL */
    struct bcast__mapping *mapping; /* NULL for caller memory */
};

/*
 * A ring message is three words, filled by a read with three stores: the
 * reader that filled it (for the channel's data, mask, base and capacity,
 * which never change while the reader is open), the frame's position and
 * its header; its payload is where the position puts it.  So it is
 * readable until its reader is closed.  A bulk message has no reader and
 * points into the caller's bulk buffer.  A message never filled has
 * neither.  Length, user_defined and flags are read off the header.
 */
struct bcast_message {
    const struct bcast_reader *reader; /* ring message: its reader; bulk: NULL */
    uint64_t position;                 /* stream position of the frame header */
    uint64_t hdr;                      /* the frame header: fields | user_defined << 32 */
    const uint8_t *payload;            /* bulk message: its payload in the bulk buffer */
};

struct bcast_reader {
    /* hot */
    const uint8_t *data;
    uint64_t mask;
    uint64_t position;     /* next frame to read */
    uint64_t producer;     /* cached producer_position; == position, or ahead of it */
    bcast_filter filter;
    void *filter_ctx;
    uint64_t fast_max;     /* receive: min(mtu, BCAST__FAST_MAX) + 1, or 0 while a filter is set */
    uint64_t fast16;       /* receive: 16 to 32 bytes when len - 16 < fast16 (at most 17), or 0 */
    uint64_t next_max;     /* next: mtu + 1, or 0 while a filter is set */
    const uint8_t *fast_end; /* receive: frames that start below it never reach the ring end */
    /* cold */
    const uint8_t *base;
    uint64_t capacity;
    uint64_t mtu;
    struct bcast_message poll_msg;
    uint8_t *wait;                  /* the wait area, or NULL (none, or not yet looked for) */
    uint64_t spin_ns;               /* bcast_reader_wait spins this long before it sleeps */
    int64_t wait_look_ns;           /* a file reader looks for <path>.wait from then on;
                                       INT64_MAX: never (a caller's area, or none) */
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
 * frame's position to producer), and a frame that is not padding carries
 * at most mtu bytes (no writer makes a longer one).  Returns the frame
 * length, or 0 when the header is impossible.
 */
static inline uint64_t bcast__frame_check(uint32_t fields, uint64_t idx, uint64_t capacity,
                                          uint64_t avail, uint64_t mtu)
{
    uint64_t len = fields & BCAST__LEN_MASK, flen = bcast__frame_len(len);

    if (bcast__unlikely(idx + flen > capacity || flen > avail))
        return 0;
    if (bcast__unlikely(len > mtu && !(fields & BCAST__PAD)))
        return 0;
    return flen;
}

static inline void bcast__msg_fill(struct bcast_message *m, const struct bcast_reader *r,
                                   uint64_t pos, uint64_t hdr)
{
    m->reader = r;
    m->position = pos;
    m->hdr = hdr;
}

/* a message filled by a read (ring) or by bcast_bulk_next */
static inline int bcast__msg_filled(const struct bcast_message *m)
{
    return m->reader || m->payload;
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
 * The whole frames at the front of a checked bulk copy of n bytes from
 * position start, with avail bytes committed from start: their length, or
 * -EBADMSG (the first frame is impossible), -ERANGE (the buffer cannot hold
 * it) or -EAGAIN (nothing was committed).
 */
static inline int64_t bcast__bulk_frames(const uint8_t *buf, uint64_t n, uint64_t start,
                                         uint64_t avail, uint64_t mask, uint64_t mtu)
{
    uint64_t off = 0;

    while (off + BCAST__FRAME_HDR <= n) {
        uint32_t fields;
        uint64_t flen;

        memcpy(&fields, buf + off, sizeof fields);
        flen = bcast__frame_check(bcast__le32(fields), (start + off) & mask, mask + 1,
                                  avail - off, mtu);
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
 * ---- the wait area (doc/bcast-format.5, "Wait area") ----
 * Little-endian 32-bit words.  The writer owns the first line; readers
 * write need_wake and arms, the writer need_wake (back to 0) and seq.
 */
#define BCAST__WAIT_MAGIC_LE 0x41574342u /* "BCWA" */
#define BCAST__WAIT_OFF_MAGIC 0
#define BCAST__WAIT_OFF_VERSION 4        /* u16 1 */
#define BCAST__WAIT_OFF_WRITER 8         /* u32 BCAST__WAIT_WAKER | BCAST__WAIT_MEMBARRIER */
#define BCAST__WAIT_OFF_PID 12           /* u32 the writer's process id, for people */
#define BCAST__WAIT_OFF_NEED_WAKE 128    /* u32 1: a reader is about to sleep */
#define BCAST__WAIT_OFF_SEQ 132          /* u32 the futex word: one more per wake-up */
#define BCAST__WAIT_OFF_ARMS 136         /* u32 sleep episodes readers began */
#define BCAST__WAIT_WAKER 0x1u           /* a writer that wakes sleepers is attached */
#define BCAST__WAIT_MEMBARRIER 0x2u      /* and its process takes global expedited membarriers */
#define BCAST__WAIT_SPIN_NS 2000         /* bcast_reader_wait's default spin */

/* src/wait.c: what the sleep/wake protocol asks of the OS */
/* a full fence between the reader's need_wake store and its producer load,
   on the writer's threads too (a global expedited membarrier); 0 or -errno */
int bcast__os_membarrier(void);
/* wake every thread sleeping on the futex word at p */
void bcast__os_wake(const uint8_t *p);

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

/*
 * The writer's fast-path bounds, recomputed after every general-path step:
 * the fast send may write frames ending at or before limit, which is the
 * published frontier or the end of the current lap, whichever is first (at
 * a lap boundary that is the position itself, so the first frame of a lap,
 * which updates lap_count, always takes the general path).
 *
 * The fast send compares positions as plain unsigned numbers, one compare
 * instead of a subtraction and a sign test.  That is exact while no
 * position it compares wraps past 2^64, so it is closed from
 * BCAST__FAST_POS_END on (2^62 bytes, centuries of traffic at memory
 * speed); the general path, which compares modulo 2^64, takes over there
 * and hands back once the position has wrapped round to a small number.
 */
#define BCAST__FAST_POS_END ((uint64_t)1 << 62)

static inline void bcast__writer_fast_refresh(struct bcast_writer *w)
{
    uint64_t lap_end = (w->position + w->mask) & ~w->mask;
    uint64_t bound = (w->mtu < BCAST__FAST_MAX ? w->mtu : BCAST__FAST_MAX) + 1;

    w->lap_limit = lap_end;
    w->limit = bcast__after(lap_end, w->frontier) ? w->frontier : lap_end;
    if (w->claim_open || w->train || w->position >= BCAST__FAST_POS_END)
        bound = 0;
    w->fast_bound = bound;
    w->fast16 = bound > 16 ? (bound < 33 ? bound : 33) - 16 : 0;
}

/* a writer handle's fields for a channel at mem of capacity bytes */
static inline void bcast__writer_setup(struct bcast_writer *w, void *mem, uint64_t capacity)
{
    unsigned shift = 0;

    while (((uint64_t)1 << shift) < capacity)
        shift++;
    w->base = (uint8_t *)mem;
    w->data = (uint8_t *)mem + BCAST_HEADER_SIZE;
    w->capacity = capacity;
    w->mask = capacity - 1;
    w->lap_shift = shift;
    w->mtu = bcast__mtu(capacity);
    w->reserve = bcast__default_reserve(capacity);
    w->wake_flag = (const uint8_t *)&w->no_wake;
}

/* the bounds of the reader's fast paths: open, or closed while a filter is
   set (filtered reads take the general path); frames longer than the MTU
   never take them */
static inline void bcast__reader_fast_bounds(struct bcast_reader *r, int open)
{
    uint64_t bound = (r->mtu < BCAST__FAST_MAX ? r->mtu : BCAST__FAST_MAX) + 1;

    r->fast_max = open ? bound : 0;
    r->fast16 = open && bound > 16 ? (bound < 33 ? bound : 33) - 16 : 0;
    r->next_max = open ? r->mtu + 1 : 0;
}

/* a reader handle's fields for a channel at mem of capacity bytes, reading
   from position */
static inline void bcast__reader_setup(struct bcast_reader *r, const void *mem,
                                       uint64_t capacity, uint64_t position)
{
    r->base = (const uint8_t *)mem;
    r->data = (const uint8_t *)mem + BCAST_HEADER_SIZE;
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->mtu = bcast__mtu(capacity);
    /* frame positions are 8-aligned; open_at checked its argument, and a
       producer position that turned unaligned since header_check is
       corrupt: reading from just below it finds no whole frame */
    position &= ~(uint64_t)7;
    r->position = position;
    r->producer = position; /* forces a producer load on the first read */
    bcast__reader_fast_bounds(r, 1);
    /* the poll message's reader never changes; a fast poll fills only
       position and header */
    r->poll_msg.reader = r;
    /* a frame the fast receive takes is at most frame_len(BCAST__FAST_MAX) long */
    r->fast_end = r->data + (capacity > bcast__frame_len(BCAST__FAST_MAX)
                                 ? capacity - bcast__frame_len(BCAST__FAST_MAX) : 0);
    r->spin_ns = BCAST__WAIT_SPIN_NS;
}

/*
 * ---- the ring core: src/protocol.h, compiled by src/arch/<arch>/ring.c ----
 * The entry points of the hot calls (send, next, receive, poll) check their
 * arguments themselves, fused with the fast paths' tests, and take the
 * checked general path for anything else; writer.c and reader.c call them
 * and nothing else.  The core never calls back into writer.c or reader.c.
 */

/* writer */
void bcast__ring_init(struct bcast_writer *w, const void *metadata, size_t metadata_len);
void bcast__ring_join(struct bcast_writer *w);
int bcast__ring_claim(struct bcast_writer *w, size_t len, uint32_t user, int flags,
                      void **payload);
int bcast__ring_commit(struct bcast_writer *w);
/* commit len <= the claimed length bytes: the rest goes back to the ring */
int bcast__ring_commit_len(struct bcast_writer *w, uint32_t len);
int bcast__ring_abort(struct bcast_writer *w);
/* bcast_writer_send and heartbeat: any arguments */
int bcast__ring_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                     int flags);

/* header loads for open and validation (only the ready load is fenced) */
uint64_t bcast__ring_load_producer(const uint8_t *base);
uint64_t bcast__ring_load_claimed(const uint8_t *base);
uint64_t bcast__ring_load_lap(const uint8_t *base);
uint8_t bcast__ring_load_ready(const uint8_t *base);

/* reader: next, receive and poll check every argument; the others want a reader */
int bcast__ring_next(struct bcast_reader *r, struct bcast_message *msg);
int bcast__ring_skip(struct bcast_reader *r);
ssize_t bcast__ring_receive(struct bcast_reader *r, void *buf, size_t cap);
ssize_t bcast__ring_receive_msg(struct bcast_reader *r, void *buf, size_t cap,
                                struct bcast_message *msg) BCAST__NONNULL(4);
int bcast__ring_poll(struct bcast_reader *r, bcast_handler fn, void *ctx, size_t limit);
ssize_t bcast__ring_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                              uint64_t *start_position);
uint64_t bcast__ring_pending(struct bcast_reader *r);
void bcast__ring_reset(struct bcast_reader *r);
/* copy a ring message's payload, then check it was not overwritten */
ssize_t bcast__ring_message_read(const struct bcast_message *m, void *buf);

/* sleeping readers: the writer's wake-up, and the reader's steps before a
   sleep (src/protocol.h "readers that sleep") */
void bcast__ring_wake(struct bcast_writer *w);
void bcast__ring_wait_attach(struct bcast_writer *w, uint8_t *area, int membarrier,
                             uint32_t pid);
void bcast__ring_wait_detach(struct bcast_writer *w);
int bcast__ring_readable(const struct bcast_reader *r);
uint32_t bcast__ring_wait_flags(const struct bcast_reader *r);
int bcast__ring_wait_arm(struct bcast_reader *r, uint32_t *seq);

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
extern __typeof__(bcast_reader_next) bcast__reader_next;
extern __typeof__(bcast_reader_receive) bcast__reader_receive;
extern __typeof__(bcast_reader_skip) bcast__reader_skip;
extern __typeof__(bcast_reader_poll) bcast__reader_poll;
extern __typeof__(bcast_message_read) bcast__message_read;

/* ---- mmap.c ---- */
void bcast__mapping_release(struct bcast__mapping *m);
/* a file reader's wait area (<path>.wait), mapped on first use, or NULL */
uint8_t *bcast__mapping_wait(struct bcast__mapping *m);

/* a caller's wait area: BCAST_ALIGNMENT-aligned and BCAST_WAIT_AREA_SIZE long */
static inline int bcast__wait_area_ok(const void *area, size_t size)
{
    return !((uintptr_t)area & (BCAST_ALIGNMENT - 1)) && size == BCAST_WAIT_AREA_SIZE;
}

/* ---- wait.c ---- */
/* a writer takes the wait area at area (registers for membarrier) */
void bcast__wait_attach(struct bcast_writer *w, uint8_t *area);
/* wait until one of n readers has something to read: its index, or
   -ETIMEDOUT, -EINTR */
int bcast__wait(struct bcast_reader *const *rs, size_t n, int64_t timeout_ns);

#endif /* BCAST_RING_H */
