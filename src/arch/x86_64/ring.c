/*
 * libbcast ring core for x86-64.
 *
 * x86-64 is TSO: stores become visible in program order and loads are not
 * reordered with older loads.  The only reordering the hardware does is a
 * store followed by a load of another location, and this protocol never
 * needs that order.  So every fence of DESIGN.md section 4 is a compiler
 * barrier, and every shared word is a plain aligned 64-bit volatile load or
 * store (which x86-64 performs as one access).  No mfence, no lfence, no
 * locked instruction on any path.
 *
 *   writer                               reader
 *   ------                               ------
 *   claimed = end + reserve (if passed)  p = producer
 *   smp_wmb()      [store-store]         smp_rmb()      [load-load]
 *   padding hdr, payload, frame hdr      hdr = frame header at position
 *   smp_wmb()      [store-store]         smp_rmb()      [load-load]
 *   producer = frame end                 c = claimed; c - pos > cap: overrun
 *                                        copy payload
 *                                        smp_rmb()      [load-load]
 *                                        c = claimed; c - (pos+8) > cap: overrun
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "../../ring.h"

/* compiler barrier: keeps the compiler from moving memory accesses across */
#define bcast_barrier() __asm__ __volatile__("" ::: "memory")
/* store-store fence: TSO already orders stores, only the compiler must not */
#define smp_wmb() bcast_barrier()
/* load-load fence: TSO already orders loads, only the compiler must not */
#define smp_rmb() bcast_barrier()

static inline uint64_t ld64(const void *p)
{
    return *(const volatile uint64_t *)p;
}

static inline void st64(void *p, uint64_t v)
{
    *(volatile uint64_t *)p = v;
}

static inline void st32(void *p, uint32_t v)
{
    *(volatile uint32_t *)p = v;
}

#define PRODUCER(base) ((base) + BCAST__OFF_PRODUCER)
#define CLAIMED(base) ((base) + BCAST__OFF_CLAIMED)

/*
 * Payload copies.  copy_small handles up to BCAST__FAST_MAX bytes inline
 * with 16-byte moves, the last ones overlapping (no call), so the hot paths
 * that use it are leaf functions; only bytes [0, n) of dst are written.
 * Longer payloads take the general paths, which call libc.
 */
static inline void copy16(uint8_t *d, const uint8_t *s)
{
    __builtin_memcpy(d, s, 16);
}

/* 33 to BCAST__FAST_MAX bytes: 32-byte steps, the last one overlapping */
static inline void copy_long(uint8_t *d, const uint8_t *s, size_t n)
{
    size_t i = 0;

    do {
        copy16(d + i, s + i);
        copy16(d + i + 16, s + i + 16);
        i += 32;
    } while (i + 32 < n);
    copy16(d + n - 32, s + n - 32);
    copy16(d + n - 16, s + n - 16);
}

static inline void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
    if (bcast__likely(n - 16 <= 16)) { /* 16 to 32 bytes, the common size class */
        copy16(d, s);
        copy16(d + n - 16, s + n - 16);
        return;
    }
    if (n < 16) {
        if (n >= 8) {
            __builtin_memcpy(d, s, 8);
            __builtin_memcpy(d + n - 8, s + n - 8, 8);
        } else if (n >= 4) {
            __builtin_memcpy(d, s, 4);
            __builtin_memcpy(d + n - 4, s + n - 4, 4);
        } else if (n) {
            d[0] = s[0];
            d[n / 2] = s[n / 2];
            d[n - 1] = s[n - 1];
        }
        return;
    }
    copy_long(d, s, n);
}

static inline void copy_payload(void *dst, const void *src, size_t n)
{
    if (n <= BCAST__FAST_MAX)
        copy_small(dst, src, n);
    else
        memcpy(dst, src, n);
}

/*
 * Recompute the writer's fast-path bounds after every general-path step:
 * the fast path may write frames ending at or before limit, which is the
 * published frontier or the end of the current lap, whichever is first (at
 * a lap boundary that is the position itself, so the first frame of a lap,
 * which updates lap_count, always takes the general path).
 *
 * The fast path compares positions as plain unsigned numbers, one cmp
 * instead of a subtraction and a sign test.  That is exact while no
 * position it compares wraps past 2^64, so it is closed from
 * BCAST__FAST_POS_END on (2^62 bytes, centuries of traffic at memory
 * speed); the general path, which compares modulo 2^64, takes over there
 * and hands back once the position has wrapped round to a small number.
 */
#define BCAST__FAST_POS_END ((uint64_t)1 << 62)

static inline void fast_refresh(struct bcast_writer *w)
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

/* ------------------------------------------------------------------ */
/* header                                                              */

void bcast__ring_init(struct bcast_writer *w, const void *metadata, size_t metadata_len)
{
    uint8_t *b = w->base;
    uint32_t magic = BCAST__MAGIC_LE;
    uint16_t version = BCAST__FORMAT_VERSION;

    *(volatile uint8_t *)(b + BCAST__OFF_READY) = 0;
    bcast_barrier(); /* not ready before anything else changes */
    memset(b, 0, BCAST_HEADER_SIZE);
    if (metadata_len)
        memcpy(b + BCAST__OFF_METADATA, metadata, metadata_len);
    memcpy(b + BCAST__OFF_MAGIC, &magic, sizeof magic);
    memcpy(b + BCAST__OFF_VERSION, &version, sizeof version);
    st64(PRODUCER(b), 0);
    st64(CLAIMED(b), 0);
    st64(b + BCAST__OFF_LAP, 0);
    smp_wmb(); /* everything above before ready */
    *(volatile uint8_t *)(b + BCAST__OFF_READY) = 1;
    w->position = 0;
    w->frontier = 0;
    fast_refresh(w);
}

void bcast__ring_join(struct bcast_writer *w)
{
    uint64_t p = ld64(PRODUCER(w->base));
    uint64_t c = ld64(CLAIMED(w->base));
    w->position = p & ~(uint64_t)7; /* checked by header_check; keep it so */
    w->frontier = bcast__after(c, p) ? c : p;
    fast_refresh(w);
}

uint64_t bcast__ring_load_producer(const uint8_t *base)
{
    uint64_t v = ld64(PRODUCER(base));
    smp_rmb();
    return v;
}

uint64_t bcast__ring_load_claimed(const uint8_t *base)
{
    uint64_t v = ld64(CLAIMED(base));
    smp_rmb();
    return v;
}

uint64_t bcast__ring_load_lap(const uint8_t *base)
{
    uint64_t v = ld64(base + BCAST__OFF_LAP);
    smp_rmb();
    return v;
}

uint8_t bcast__ring_load_ready(const uint8_t *base)
{
    uint8_t v = *(const volatile uint8_t *)(base + BCAST__OFF_READY);
    smp_rmb(); /* ready before the rest of the header */
    return v;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

/* W1: publish the claimed frontier reserve bytes past end, the end of the
   frame about to be written, before any byte of it; returns the frontier */
static inline uint64_t publish_frontier(struct bcast_writer *w, uint64_t end)
{
    uint64_t frontier = end + w->reserve;

    w->frontier = frontier;
    st64(w->data - BCAST_HEADER_SIZE + BCAST__OFF_CLAIMED, frontier);
    smp_wmb(); /* frontier before any byte of the frame */
    return frontier;
}

/*
 * Reserve flen bytes at the write position: publish a new claimed frontier
 * if the frame (and the padding frame in front of it, when it would cross
 * the end of the ring) passes the published one, then write the padding
 * frame.  Returns the position of the frame.
 */
static inline uint64_t claim_frame(struct bcast_writer *w, uint64_t flen)
{
    uint64_t pos = w->position;
    uint64_t idx = pos & w->mask;
    uint64_t cap = w->mask + 1;
    uint64_t pad = 0, end = pos + flen;

    if (bcast__unlikely(idx + flen > cap)) {
        pad = cap - idx;
        end += pad;
    }
    if (bcast__unlikely(bcast__after(end, w->frontier)))
        publish_frontier(w, end);
    if (bcast__unlikely(pad)) {
        st64(w->data + idx, (uint64_t)(BCAST__FIN | BCAST__PAD | (uint32_t)(pad - 8)));
        pos += pad;
    }
    return pos;
}

/* write the frame header and publish the frame at pos of length flen */
static inline void publish(struct bcast_writer *w, uint64_t pos, uint64_t flen, uint64_t hdr)
{
    uint64_t idx = pos & w->mask;

    st64(w->data + idx, hdr);
    if (bcast__unlikely(idx == 0))
        st64(w->base + BCAST__OFF_LAP, pos >> w->lap_shift);
    smp_wmb(); /* payload and header before producer */
    w->position = pos + flen;
    st64(PRODUCER(w->base), w->position);
}

int bcast__ring_claim(struct bcast_writer *w, size_t len, uint32_t user, uint32_t flags,
                      void **payload)
{
    uint64_t pos = claim_frame(w, bcast__frame_len(len));

    w->claim_pos = pos;
    w->claim_len = (uint32_t)len;
    w->claim_user = user;
    w->claim_fields = bcast__frame_fields(w, (int)flags);
    w->claim_open = 1;
    fast_refresh(w);
    *payload = w->data + (pos & w->mask) + BCAST__FRAME_HDR;
    return 0;
}

int bcast__ring_commit(struct bcast_writer *w)
{
    uint32_t fields = w->claim_fields;

    publish(w, w->claim_pos, bcast__frame_len(w->claim_len),
            ((uint64_t)w->claim_user << 32) | fields | w->claim_len);
    bcast__train_update(w, fields);
    w->claim_open = 0;
    fast_refresh(w);
    return 0;
}

int bcast__ring_abort(struct bcast_writer *w)
{
    uint64_t alen = bcast__align8(w->claim_len);

    /* the claim becomes a padding frame of the same length; the train is untouched */
    publish(w, w->claim_pos, BCAST__FRAME_HDR + alen, BCAST__FIN | BCAST__PAD | alen);
    w->claim_open = 0;
    fast_refresh(w);
    return 0;
}

/* the general send: any flags and length, padding, a new frontier */
int bcast__ring_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                     uint32_t flags)
{
    uint64_t flen = bcast__frame_len(len);
    uint64_t pos = claim_frame(w, flen);
    uint32_t fields = bcast__frame_fields(w, (int)flags);

    copy_payload(w->data + (pos & w->mask) + BCAST__FRAME_HDR, payload, len);
    publish(w, pos, flen, ((uint64_t)user << 32) | fields | (uint32_t)len);
    bcast__train_update(w, fields);
    fast_refresh(w);
    return 0;
}

/*
 * Room for a fast frame ending at end: inside the frontier and the lap.
 * Past the frontier but inside the lap a new frontier is published here;
 * past the lap (a padding frame or lap_count to write) it returns 0 for
 * the general path.
 */
static inline int fast_room(struct bcast_writer *w, uint64_t end)
{
    if (bcast__unlikely(end > w->limit)) {
        uint64_t frontier;

        if (end > w->lap_limit)
            return 0;
        frontier = publish_frontier(w, end);
        w->limit = w->lap_limit < frontier ? w->lap_limit : frontier;
    }
    return 1;
}

/*
 * The fast send: a whole message of at most BCAST__FAST_MAX bytes, no claim
 * or train open, ending inside the frontier and the lap (no padding, no
 * lap_count store).  Anything else, and every argument error, goes to the
 * checked general path.  The frame header goes out as two 32-bit stores
 * (fields and length, then user_defined): the producer store after them
 * publishes both, and a reader that sees either half of a later lap's
 * header sees the frontier that overruns it.
 */
static inline int fast_send(struct bcast_writer *w, uint8_t *data, const void *payload,
                            size_t len, uint32_t user, int small)
{
    uint64_t pos = w->position;
    /* frame end: positions are multiples of 8, so pos + frame_len(len) */
    uint64_t end = (pos + len + 15) & ~(uint64_t)7;
    uint8_t *frame;

    if (bcast__unlikely(!fast_room(w, end)))
        return bcast__send_slow(w, payload, len, user, 0);
    frame = data + (pos & w->mask);
    if (small) { /* 16 to 32 bytes: two 16-byte moves, the second one overlapping */
        copy16(frame + BCAST__FRAME_HDR, payload);
        copy16(frame + BCAST__FRAME_HDR + len - 16, (const uint8_t *)payload + len - 16);
    } else {
        copy_small(frame + BCAST__FRAME_HDR, payload, len);
    }
    /* len < fast_bound <= BCAST__FAST_MAX + 1: it fits the length field as it is */
    st32(frame + 4, user);
    st32(frame, BCAST__FIN | (uint32_t)len);
    smp_wmb(); /* payload and header before producer */
    w->position = end;
    st64(data - BCAST_HEADER_SIZE + BCAST__OFF_PRODUCER, end);
    return 0;
}

/* the fast send of the sizes other than 16 to 32 bytes, apart to keep the
   common one's registers free */
static __attribute__((noinline)) int send_other(struct bcast_writer *w, const void *payload,
                                                size_t len, uint32_t user)
{
    if (bcast__unlikely(len >= w->fast_bound))
        return bcast__send_slow(w, payload, len, user, 0);
    return fast_send(w, w->data, payload, len, user, 0);
}

/* a leaf function on its common path: checks, then the 16-to-32-byte class */
int bcast__writer_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                       int flags)
{
    if (bcast__unlikely(!w))
        return -EINVAL;
    if (bcast__unlikely(flags || !payload))
        return bcast__send_slow(w, payload, len, user, flags);
    if (bcast__unlikely(len - 16 >= w->fast16))
        return send_other(w, payload, len, user);
    return fast_send(w, w->data, payload, len, user, 1);
}

BCAST_EXPORT int bcast_writer_send(struct bcast_writer *w, const void *payload, size_t len,
                                   uint32_t user_defined, int flags)
    __attribute__((alias("bcast__writer_send")));

/* ------------------------------------------------------------------ */
/* reader                                                              */

/*
 * Find the next frame to deliver: skips padding and frames the filter
 * drops.  On success r->position is the frame's position, *hdr its header,
 * and the frame length is returned.
 */
static inline int64_t next_frame(struct bcast_reader *r, uint64_t *hdr_out)
{
    const uint64_t cap = r->capacity;

    for (;;) {
        uint64_t pos = r->position, idx, hdr, flen;

        if (pos == r->producer) {
            uint64_t p = ld64(PRODUCER(r->base));
            smp_rmb(); /* producer before the frame */
            if (!bcast__after(p, pos))
                return -EAGAIN;
            r->producer = p;
        }
        idx = pos & r->mask;
        hdr = ld64(r->data + idx);
        smp_rmb(); /* frame header before the frontier */
        if (bcast__unlikely(ld64(CLAIMED(r->base)) - pos > cap))
            return -ENOBUFS;
        flen = bcast__frame_check((uint32_t)hdr, idx, cap, r->producer - pos);
        if (bcast__unlikely(flen == 0))
            return -EBADMSG;
        if (bcast__unlikely((uint32_t)hdr & BCAST__PAD) ||
            (r->filter && !r->filter((uint32_t)(hdr >> 32), r->filter_ctx))) {
            r->position = pos + flen;
            continue;
        }
        *hdr_out = hdr;
        return (int64_t)flen;
    }
}

int bcast__ring_next(struct bcast_reader *r, struct bcast_message *msg)
{
    uint64_t hdr, pos;
    int64_t flen = next_frame(r, &hdr);

    if (flen < 0)
        return (int)flen;
    pos = r->position;
    if (msg)
        bcast__msg_fill(msg, r, pos, hdr, r->data + (pos & r->mask) + BCAST__FRAME_HDR);
    r->position = pos + (uint64_t)flen;
    return 0;
}

ssize_t bcast__ring_receive(struct bcast_reader *r, void *buf, size_t cap,
                            struct bcast_message *msg)
{
    uint64_t hdr, pos;
    uint32_t len;
    const uint8_t *payload;
    int64_t flen = next_frame(r, &hdr);

    if (flen < 0)
        return (ssize_t)flen;
    pos = r->position;
    len = (uint32_t)hdr & BCAST__LEN_MASK;
    payload = r->data + (pos & r->mask) + BCAST__FRAME_HDR;
    if (bcast__unlikely(len > cap)) {
        if (msg)
            bcast__msg_fill(msg, r, pos, hdr, payload);
        return -ERANGE;
    }
    if (len)
        copy_payload(buf, payload, len);
    smp_rmb(); /* payload before the frontier */
    if (bcast__unlikely(ld64(CLAIMED(r->base)) - (pos + BCAST__FRAME_HDR) > r->mask + 1))
        return -ENOBUFS;
    r->position = pos + (uint64_t)flen;
    if (msg)
        bcast__msg_fill(msg, r, pos, hdr, payload);
    return (ssize_t)len;
}

/* shared words addressed from the data section, which a hot path holds anyway */
#define D_PRODUCER(data) ((data) - BCAST_HEADER_SIZE + BCAST__OFF_PRODUCER)
#define D_CLAIMED(data) ((data) - BCAST_HEADER_SIZE + BCAST__OFF_CLAIMED)

/*
 * Load the header of the frame at the reader's position.  When the reader
 * has caught up with its cached producer position, the producer and the
 * frame header are loaded back to back, before the branch: the two cache
 * line transfers overlap instead of following each other (TSO keeps the
 * second load from passing the first).  Returns 0 with the header and the
 * bytes committed from pos (*avail), or -EAGAIN.
 */
static inline int load_head(struct bcast_reader *r, const uint8_t *data, uint64_t pos,
                            uint64_t idx, uint64_t *hdr, uint64_t *avail)
{
    if (bcast__likely(pos == r->producer)) { /* a reader that keeps up is usually here */
        uint64_t p = ld64(D_PRODUCER(data));
        smp_rmb(); /* producer before the frame */
        *hdr = ld64(data + idx);
        *avail = p - pos;
        if ((int64_t)*avail <= 0)
            return -EAGAIN;
        r->producer = p;
    } else {
        *hdr = ld64(data + idx);
        *avail = r->producer - pos;
    }
    return 0;
}

/* the fast paths' answer for "this frame needs the general path" (not an errno) */
#define GENERAL (-4096 - 1)

/*
 * The fast lazy read: a frame that is not padding, not filtered, and ends
 * inside the ring and the committed data.  Fills the message's payload,
 * position and header (the caller sees to base and capacity).  Returns 0,
 * -EAGAIN, -ENOBUFS, or GENERAL for anything else: the general path reads
 * the frame again from the start and checks it in full.
 */
static inline int next_core(struct bcast_reader *r, struct bcast_message *msg)
{
    const uint8_t *data = r->data;
    uint64_t pos = r->position, idx = pos & r->mask, hdr, avail, fl, flen;

    if (load_head(r, data, pos, idx, &hdr, &avail) < 0)
        return -EAGAIN;
    smp_rmb(); /* frame header before the frontier */
    if (bcast__unlikely(ld64(D_CLAIMED(data)) - pos > r->capacity))
        return -ENOBUFS;
    fl = hdr & (BCAST__LEN_MASK | BCAST__PAD); /* padding is >= next_max */
    if (bcast__unlikely(fl >= r->next_max))
        return GENERAL;
    flen = bcast__frame_len(fl);
    if (bcast__unlikely(flen > avail))
        return GENERAL;
    if (bcast__unlikely(idx + flen > r->capacity))
        return GENERAL;
    r->position = pos + flen;
    msg->payload = data + idx + BCAST__FRAME_HDR;
    msg->position = pos;
    msg->hdr = hdr;
    return 0;
}

int bcast__reader_next(struct bcast_reader *r, struct bcast_message *msg)
{
    int rc;

    if (bcast__unlikely(!r))
        return -EINVAL;
    if (bcast__unlikely(!msg))
        return -EINVAL;
    rc = next_core(r, msg);
    if (bcast__unlikely(rc == GENERAL))
        return bcast__next_slow(r, msg);
    msg->base = r->base;
    msg->capacity = r->capacity;
    return rc;
}

BCAST_EXPORT int bcast_reader_next(struct bcast_reader *r, struct bcast_message *msg)
    __attribute__((alias("bcast__reader_next")));

/*
 * Poll with the fast lazy read in the loop.  The poll message's base and
 * capacity were set when the reader was opened, so each message costs three
 * stores; the general path fills all five with the same values.  The
 * handler may call the reader's other functions: the loop keeps no reader
 * state in registers across the call.
 */
BCAST_EXPORT int bcast_reader_poll(struct bcast_reader *r, bcast_handler fn, void *ctx,
                                   size_t limit)
{
    struct bcast_message *m;
    int n = 0, rc = 0;

    if (bcast__unlikely(!r || !fn))
        return -EINVAL;
    limit = bcast__poll_limit(limit);
    m = &r->poll_msg;
    while ((size_t)n < limit) {
        rc = next_core(r, m);
        if (bcast__unlikely(rc == GENERAL))
            rc = bcast__ring_next(r, m);
        if (rc < 0)
            break;
        n++;
        if (fn(m, ctx))
            break;
    }
    return bcast__poll_result(n, rc);
}

/*
 * The checks of a frame the fast receive copies, once its length is known
 * to be at most BCAST__FAST_MAX: committed (inside avail), no longer than
 * the caller's buffer, and not reaching past the ring end (only frames in
 * the last frame_len(BCAST__FAST_MAX) bytes of the ring can).  Separate
 * branches, each one compare (see configure.ac on the GCC parameter).
 */
static inline int fast_frame_ok(const struct bcast_reader *r, uint64_t idx, uint64_t fl,
                                uint64_t flen, size_t cap, uint64_t avail)
{
    if (bcast__unlikely(flen > avail))
        return 0;
    if (bcast__unlikely(fl > cap))
        return 0;
    if (bcast__unlikely(idx >= r->fast_end) && idx + flen > r->capacity)
        return 0;
    return 1;
}

/*
 * The fast eager read: the same frames as the fast lazy read, copied with
 * the inline small copy.  The frontier is checked once, after the header
 * and the payload were both read, against the frame's position (the bound
 * of the header, stricter than the payload's): what was read is good only
 * if nothing from the frame's first byte on was overwritten.  A header that
 * looks wrong is never trusted: the general path reads it again and checks
 * the frontier before judging it.  The fast reads return the length,
 * -EAGAIN, -ENOBUFS or GENERAL.
 *
 * receive_done: that frontier check after the copy, then the step past the
 * frame: the length, or -ENOBUFS.
 */
static inline ssize_t receive_done(struct bcast_reader *r, const uint8_t *data, uint64_t pos,
                                   uint64_t fl, uint64_t flen)
{
    smp_rmb(); /* header and payload before the frontier */
    if (bcast__unlikely(ld64(D_CLAIMED(data)) - pos > r->capacity))
        return -ENOBUFS;
    r->position = pos + flen;
    return (ssize_t)fl;
}

/* the fast eager read of the frame at the reader's position, its header
   (hdr) and the bytes committed from there (avail) already loaded */
static inline ssize_t receive_frame(struct bcast_reader *r, void *buf, size_t cap, uint64_t hdr,
                                    uint64_t avail)
{
    const uint8_t *data = r->data;
    uint64_t pos = r->position, idx = pos & r->mask;
    uint64_t fl = hdr & (BCAST__LEN_MASK | BCAST__PAD); /* padding is >= fast_max */
    uint64_t flen = bcast__frame_len(fl);

    if (bcast__unlikely(fl >= r->fast_max))
        return GENERAL;
    if (bcast__unlikely(!fast_frame_ok(r, idx, fl, flen, cap, avail)))
        return GENERAL;
    copy_small(buf, data + idx + BCAST__FRAME_HDR, fl);
    return receive_done(r, data, pos, fl, flen);
}

/* the fast eager read from the start; *pos_out and *hdr_out describe the
   frame read */
static inline ssize_t receive_core(struct bcast_reader *r, void *buf, size_t cap,
                                   uint64_t *pos_out, uint64_t *hdr_out)
{
    const uint8_t *data = r->data;
    uint64_t pos = r->position, idx = pos & r->mask, hdr, avail;

    if (load_head(r, data, pos, idx, &hdr, &avail) < 0)
        return -EAGAIN;
    *pos_out = pos;
    *hdr_out = hdr;
    return receive_frame(r, buf, cap, hdr, avail);
}

/* a receive that also fills a message */
static __attribute__((noinline)) ssize_t receive_msg(struct bcast_reader *r, void *buf,
                                                     size_t cap, struct bcast_message *msg)
{
    uint64_t pos, hdr;
    ssize_t rc = receive_core(r, buf, cap, &pos, &hdr);

    if (rc == GENERAL)
        return bcast__receive_slow(r, buf, cap, msg);
    if (rc >= 0)
        bcast__msg_fill(msg, r, pos, hdr, r->data + (pos & r->mask) + BCAST__FRAME_HDR);
    return rc;
}

/* a receive of any other size the fast path takes, or the general one,
   once the producer position is loaded (avail); the header is loaded again,
   after it, so that the caller need not keep it */
static __attribute__((noinline)) ssize_t receive_other(struct bcast_reader *r, void *buf,
                                                       size_t cap, uint64_t avail)
{
    ssize_t rc = receive_frame(r, buf, cap, ld64(r->data + (r->position & r->mask)), avail);

    if (bcast__unlikely(rc == GENERAL))
        return bcast__receive_slow(r, buf, cap, NULL);
    return rc;
}

/*
 * The receive into a buffer: a leaf function for 16 to 32 bytes, the
 * common size class, tested with the "no filter" condition in one compare
 * (fl - 16 < fast16); the other sizes take receive_other, a message to fill
 * receive_msg.
 */
ssize_t bcast__reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                              struct bcast_message *msg)
{
    const uint8_t *data, *payload;
    uint64_t pos, idx, hdr, avail, fl, flen;

    if (bcast__unlikely(!r || !buf))
        return bcast__receive_slow(r, buf, cap, msg);
    if (msg)
        return receive_msg(r, buf, cap, msg);
    data = r->data;
    pos = r->position;
    idx = pos & r->mask;
    if (load_head(r, data, pos, idx, &hdr, &avail) < 0)
        return -EAGAIN;
    fl = hdr & (BCAST__LEN_MASK | BCAST__PAD); /* padding is >= fast16 + 16 */
    if (bcast__unlikely(fl - 16 >= r->fast16))
        return receive_other(r, buf, cap, avail);
    flen = bcast__frame_len(fl);
    if (bcast__unlikely(!fast_frame_ok(r, idx, fl, flen, cap, avail)))
        return bcast__receive_slow(r, buf, cap, NULL);
    payload = data + idx + BCAST__FRAME_HDR;
    copy16(buf, payload);
    copy16((uint8_t *)buf + fl - 16, payload + fl - 16);
    return receive_done(r, data, pos, fl, flen);
}

BCAST_EXPORT ssize_t bcast_reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                                          struct bcast_message *msg)
    __attribute__((alias("bcast__reader_receive")));

ssize_t bcast__ring_message_read(const struct bcast_message *m, void *buf)
{
    uint32_t len = bcast__msg_len(m);

    if (len)
        copy_payload(buf, m->payload, len);
    smp_rmb(); /* payload before the frontier */
    if (bcast__unlikely(ld64(CLAIMED(m->base)) - (m->position + BCAST__FRAME_HDR) > m->capacity))
        return -ENOBUFS;
    return (ssize_t)len;
}

uint64_t bcast__ring_pending(struct bcast_reader *r)
{
    uint64_t p = ld64(PRODUCER(r->base));

    if (!bcast__after(p, r->position))
        return 0;
    r->producer = p;
    return p - r->position;
}

void bcast__ring_reset(struct bcast_reader *r)
{
    /* frame positions are 8-aligned; a producer that is not is corrupt, and
       reading from just below it finds no whole frame (-EBADMSG) */
    uint64_t p = ld64(PRODUCER(r->base)) & ~(uint64_t)7;

    /* a damaged producer word that is not 8-aligned must not put the reader
       between frame headers, where a header read could run past the ring:
       it stays aligned, short of the producer, and reads -EBADMSG */
    r->position = p & ~(uint64_t)7;
    r->producer = p;
}

ssize_t bcast__ring_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                              uint64_t *start_position)
{
    const uint64_t capacity = r->mask + 1;
    uint64_t pos = r->position, start, p, idx, n;
    int64_t len;

    p = ld64(PRODUCER(r->base));
    smp_rmb(); /* producer before the frames */
    if (!bcast__after(p, pos))
        return -EAGAIN;
    r->producer = p;
    idx = pos & r->mask;
    start = pos + bcast__lap_padding(ld64(r->data + idx), idx, capacity, p - pos);
    n = p - start;
    if (n > capacity)
        n = capacity;
    if (n > cap)
        n = cap;
    bcast__ring_copy_out(buf, r->data, r->mask, start, n);
    smp_rmb(); /* frames before the frontier */
    if (bcast__unlikely(ld64(CLAIMED(r->base)) - pos > capacity))
        return -ENOBUFS;
    /* everything read is good: keep the whole frames */
    r->position = start;
    len = bcast__bulk_frames(buf, n, start, p - start, r->mask);
    if (len < 0)
        return (ssize_t)len;
    r->position = start + (uint64_t)len;
    if (start_position)
        *start_position = start;
    return (ssize_t)len;
}

