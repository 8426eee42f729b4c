/*
 * libbcast ring core for every CPU but x86-64, on C11 <stdatomic.h>.
 *
 * Shared words (producer, claimed, lap, ready and frame headers) are
 * accessed with relaxed atomics; the ordering of DESIGN.md section 4 comes
 * from standalone fences, which weakly ordered CPUs (aarch64, ppc64le,
 * riscv64) need as real barrier instructions:
 *
 *   writer                               reader
 *   ------                               ------
 *   claimed = end + reserve (if passed)  p = producer
 *   smp_wmb()      [release fence]       smp_rmb()      [acquire fence]
 *   padding hdr, payload, frame hdr      hdr = frame header at position
 *   smp_wmb()      [release fence]       smp_rmb()      [acquire fence]
 *   producer = frame end                 c = claimed; c - pos > cap: overrun
 *                                        copy payload
 *                                        smp_rmb()      [acquire fence]
 *                                        c = claimed; c - (pos+8) > cap: overrun
 *
 * ThreadSanitizer does not model standalone fences, so under TSan the
 * ordering is carried by the accesses themselves instead: release stores
 * and acquire loads of every shared word.  The payload copy races with the
 * writer by design (a seqlock read, checked afterwards); tests/tsan.supp
 * lists it.
 *
 * Shared words are little-endian (FORMAT.md), converted with bcast__le64.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "../../ring.h"

#if defined(__SANITIZE_THREAD__)
#define BCAST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BCAST_TSAN 1
#endif
#endif

#define A64(p) ((_Atomic uint64_t *)(void *)(p))
#define A8(p) ((_Atomic uint8_t *)(void *)(p))

#ifdef BCAST_TSAN
#define ORD_LOAD memory_order_acquire
#define ORD_STORE memory_order_release
#else
#define ORD_LOAD memory_order_relaxed
#define ORD_STORE memory_order_relaxed
#endif

#ifdef BCAST_TSAN
/* TSan does not model standalone fences (gcc refuses them: -Wtsan), so the
   acquire loads and release stores above carry the ordering it checks, and
   the fences shrink to compiler barriers.  That is exact only on TSO CPUs:
   a TSan build is for checking, not for shipping. */
#define smp_wmb() atomic_signal_fence(memory_order_seq_cst)
#define smp_rmb() atomic_signal_fence(memory_order_seq_cst)
#else
/* store-store fence: earlier stores are visible before later ones */
#define smp_wmb() atomic_thread_fence(memory_order_release)
/* load-load fence: earlier loads are done before later ones */
#define smp_rmb() atomic_thread_fence(memory_order_acquire)
#endif
/* compiler barrier, for the init sequence */
#define bcast_barrier() atomic_signal_fence(memory_order_seq_cst)

static inline uint64_t ld64(const void *p)
{
    return bcast__le64(atomic_load_explicit(A64(p), ORD_LOAD));
}

static inline void st64(void *p, uint64_t v)
{
    atomic_store_explicit(A64(p), bcast__le64(v), ORD_STORE);
}

#define PRODUCER(base) ((base) + BCAST__OFF_PRODUCER)
#define CLAIMED(base) ((base) + BCAST__OFF_CLAIMED)

/* small copies inline; longer ones to libc */
static inline void copy_payload(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
}

/* ------------------------------------------------------------------ */
/* header                                                              */

void bcast__ring_init(struct bcast_writer *w, const void *metadata, size_t metadata_len)
{
    uint8_t *b = w->base;
    uint32_t magic = bcast__le32(BCAST__MAGIC_LE);
    uint16_t version = bcast__le16(BCAST__FORMAT_VERSION);

    atomic_store_explicit(A8(b + BCAST__OFF_READY), 0, ORD_STORE);
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
    atomic_store_explicit(A8(b + BCAST__OFF_READY), 1, ORD_STORE);
    w->position = 0;
    w->frontier = 0;
}

void bcast__ring_join(struct bcast_writer *w)
{
    uint64_t p = ld64(PRODUCER(w->base));
    uint64_t c = ld64(CLAIMED(w->base));
    w->position = p & ~(uint64_t)7; /* checked by header_check; keep it so */
    w->frontier = bcast__after(c, p) ? c : p;
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
    uint8_t v = atomic_load_explicit(A8(base + BCAST__OFF_READY), ORD_LOAD);
    smp_rmb(); /* ready before the rest of the header */
    return v;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

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
    if (bcast__unlikely(bcast__after(end, w->frontier))) {
        w->frontier = end + w->reserve;
        st64(CLAIMED(w->base), w->frontier);
        smp_wmb(); /* frontier before any byte of the frame */
    }
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
    return 0;
}

int bcast__ring_abort(struct bcast_writer *w)
{
    uint64_t alen = bcast__align8(w->claim_len);

    /* the claim becomes a padding frame of the same length; the train is untouched */
    publish(w, w->claim_pos, BCAST__FRAME_HDR + alen, BCAST__FIN | BCAST__PAD | alen);
    w->claim_open = 0;
    return 0;
}

int bcast__ring_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                     uint32_t flags)
{
    uint64_t flen = bcast__frame_len(len);
    uint64_t pos = claim_frame(w, flen);
    uint32_t fields = bcast__frame_fields(w, (int)flags);

    copy_payload(w->data + (pos & w->mask) + BCAST__FRAME_HDR, payload, len);
    publish(w, pos, flen, ((uint64_t)user << 32) | fields | (uint32_t)len);
    bcast__train_update(w, fields);
    return 0;
}

/* ------------------------------------------------------------------ */
/* reader                                                              */

/*
 * Find the next frame to deliver: skips padding and frames the filter
 * drops.  On success r->position is the frame's position, *hdr its header,
 * and the frame length is returned.
 */
static inline int64_t next_frame(struct bcast_reader *r, uint64_t *hdr_out)
{
    const uint64_t cap = r->mask + 1;

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
