/*
 * libbcast internal: the ring protocol, written once for every CPU.
 *
 * src/arch/<arch>/ring.c defines the primitives below and then includes
 * this file, which compiles the protocol into the hidden bcast__ring_*
 * functions declared in ring.h.  Nothing here knows the CPU: every load or
 * store of a word the writer and the readers share, and every ordering
 * point, is a primitive, named by what it orders.  The memory-model check
 * (tests/relacy) compiles this same file once more, as C++, over Relacy's
 * atomics.
 *
 *   bcast__ld64(p) / bcast__st64(p, v)  a shared little-endian 64-bit word
 *                                       (positions, lap_count, frame headers)
 *   bcast__ld8(p) / bcast__st8(p, v)    the header's ready byte
 *   bcast__st_header(f, fields, user)   the header of the frame at f
 *   bcast__rmb()                        load-load fence (acquire)
 *   bcast__wmb()                        store-store fence (release)
 *   bcast__copy_in(d, s, n)             payload bytes into the ring, any n
 *   bcast__copy_in_small(d, s, n)       the same, n <= BCAST__FAST_MAX
 *   bcast__copy_in_16_32(d, s, n)       the same, 16 <= n <= 32
 *   bcast__copy_out / _small / _16_32   payload bytes out of the ring
 *   bcast__ld32 / bcast__st32 / bcast__add32   a word of the wait area
 *   bcast__mb()                         full fence (store-load too)
 *   bcast__wake_point()                 where a sleeper's membarrier puts a
 *                                       full fence into the writer (no
 *                                       instruction on a CPU)
 *
 * The fences, each named where it stands (README PROTOCOL section has the
 * table; bcast(7) the model):
 *
 *   writer                               reader
 *   ------                               ------
 *   claimed = frontier (if passed)       p = producer
 *   W1 store-store                       R1 load-load     pairs with W2
 *   padding hdr, payload, frame hdr      hdr = frame header at position
 *   W2 store-store                       R2 load-load     pairs with W1
 *   producer = frame end                 c = claimed; c - pos > cap: overrun
 *                                        copy payload
 *                                        R3 load-load     pairs with W1
 *                                        c = claimed; c - pos > cap: overrun
 *
 * W1/R2/R3 are the seqlock: a reader that read any byte of a frame written
 * after W1 also sees the frontier stored before it, and discards what it
 * read.  W2/R1 are message passing: a reader that saw the producer past a
 * frame sees the frame.  Every producer value a reader keeps (its cache,
 * pending, read_bulk) is followed by R1 before a frame is read on its
 * strength.  The payload copy races with the writer by design and is
 * judged only by the frontier check after R3.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_PROTOCOL_H
#define BCAST_PROTOCOL_H

#include "ring.h"

#define PRODUCER(base) ((base) + BCAST__OFF_PRODUCER)
#define CLAIMED(base) ((base) + BCAST__OFF_CLAIMED)
/* shared words addressed from the data section, which a hot path holds anyway */
#define D_PRODUCER(data) ((data) - BCAST_HEADER_SIZE + BCAST__OFF_PRODUCER)
#define D_CLAIMED(data) ((data) - BCAST_HEADER_SIZE + BCAST__OFF_CLAIMED)

/* ------------------------------------------------------------------ */
/* header                                                              */

void bcast__ring_init(struct bcast_writer *w, const void *metadata, size_t metadata_len)
{
    uint8_t *b = w->base;
    uint32_t magic = bcast__le32(BCAST__MAGIC_LE);
    uint16_t version = bcast__le16(BCAST__FORMAT_VERSION);

    bcast__st8(b + BCAST__OFF_READY, 0);
    bcast__wmb(); /* W0: not ready before any other byte of the header changes */
    memset(b, 0, BCAST__OFF_READY);
    memset(b + BCAST__OFF_READY + 1, 0, BCAST_HEADER_SIZE - BCAST__OFF_READY - 1);
    if (metadata_len)
        memcpy(b + BCAST__OFF_METADATA, metadata, metadata_len);
    memcpy(b + BCAST__OFF_MAGIC, &magic, sizeof magic);
    memcpy(b + BCAST__OFF_VERSION, &version, sizeof version);
    bcast__st64(PRODUCER(b), 0);
    bcast__st64(CLAIMED(b), 0);
    bcast__st64(b + BCAST__OFF_LAP, 0);
    bcast__wmb(); /* W0: the whole header before ready; pairs with the fence
                     after the ready load (bcast__ring_load_ready) */
    bcast__st8(b + BCAST__OFF_READY, 1);
    w->position = 0;
    w->frontier = 0;
    bcast__writer_fast_refresh(w);
}

/*
 * A joining writer resumes at the producer position.  No writer leaves the
 * claimed frontier more than capacity + capacity/2 past the producer (the
 * frontier is at most a padding frame, a frame and the reserve ahead), nor
 * behind it; such a word is corrupt, and kept it would overrun every reader
 * for good.  It is set back to the producer position: nothing past that was
 * committed, so no reader can be handed anything that was overwritten.
 */
void bcast__ring_join(struct bcast_writer *w)
{
    uint64_t p = bcast__ld64(PRODUCER(w->base)) & ~(uint64_t)7;
    uint64_t c = bcast__ld64(CLAIMED(w->base));

    if (c - p > w->capacity + w->capacity / 2) {
        c = p;
        bcast__st64(CLAIMED(w->base), c);
    }
    w->position = p;
    w->frontier = c;
    bcast__writer_fast_refresh(w);
}

/*
 * The positions an open looks at need no fence: a reader opened at the
 * producer position has its cache equal to its position, so its first read
 * loads the producer again and fences (R1) before it reads a frame; the
 * claimed word is only checked for alignment, and with lap_count only picks
 * where open_last_lap starts, and every read loads it again after R2/R3.
 */
uint64_t bcast__ring_load_producer(const uint8_t *base)
{
    return bcast__ld64(PRODUCER(base));
}

uint64_t bcast__ring_load_claimed(const uint8_t *base)
{
    return bcast__ld64(CLAIMED(base));
}

uint64_t bcast__ring_load_lap(const uint8_t *base)
{
    return bcast__ld64(base + BCAST__OFF_LAP);
}

uint8_t bcast__ring_load_ready(const uint8_t *base)
{
    uint8_t v = bcast__ld8(base + BCAST__OFF_READY);
    bcast__rmb(); /* ready before the rest of the header; pairs with W0 */
    return v;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */

/*
 * After every producer store: wake the sleepers, if one announced itself.
 * The sleeper stores need_wake and then loads the producer; the writer
 * stores the producer and then loads need_wake.  That is store then load
 * on both sides (Dekker), which takes a full fence on both for one of them
 * to see the other's store.  The writer never executes one: the sleeper
 * pays for both with a global expedited membarrier, which runs a full
 * fence on every CPU that runs a thread of the writer's process, at once
 * (bcast__wake_point marks where that fence lands).  So this is a plain
 * load and a branch that is not taken while nobody sleeps.
 */
static inline int wake_check(struct bcast_writer *w)
{
    uint32_t need;

    bcast__wake_point();
    need = bcast__ld32(w->wake_flag);
    if (bcast__unlikely(need)) {
        bcast__ring_wake(w);
        return 0;
    }
    bcast__reg_hint(need); /* it is 0: returned as it is, no instruction makes a 0 */
    return (int)need;
}

/* W1: publish a new claimed frontier before any byte of the frame below it */
static inline void publish_frontier(struct bcast_writer *w, uint64_t frontier)
{
    w->frontier = frontier;
    bcast__st64(D_CLAIMED(w->data), frontier);
    bcast__wmb(); /* W1: frontier before any byte of the frame; pairs with R2, R3 */
}

/*
 * Reserve flen bytes at the write position: publish a new claimed frontier
 * if the frame (and the padding frame in front of it, when it would cross
 * the end of the ring) passes the published one, then write the padding
 * frame.  Returns the position of the frame.
 *
 * With a padding frame the frontier is at most one lap past the position
 * before the claim: a reader that sits there (it has read everything) is
 * never told it was overrun by frames it has not had the chance to read.
 * That bound is never short of the claim's end: a frame that needs padding
 * starts past the middle of the ring, so padding + frame <= capacity.
 */
static inline uint64_t claim_frame(struct bcast_writer *w, uint64_t flen)
{
    uint64_t pos = w->position;
    uint64_t idx = pos & w->mask;
    uint64_t cap = w->capacity;
    uint64_t pad = 0, end = pos + flen, frontier = end + w->reserve;

    if (bcast__unlikely(idx + flen > cap)) {
        pad = cap - idx;
        end += pad;
        frontier = end + w->reserve;
        if (bcast__after(frontier, pos + cap))
            frontier = pos + cap;
    }
    if (bcast__unlikely(bcast__after(end, w->frontier)))
        publish_frontier(w, frontier);
    if (bcast__unlikely(pad)) {
        bcast__st_header(w->data + idx, BCAST__FIN | BCAST__PAD | (uint32_t)(pad - 8), 0);
        pos += pad;
    }
    return pos;
}

/* W2: write the frame header and publish the frame at pos of length flen */
static inline void publish(struct bcast_writer *w, uint64_t pos, uint64_t flen, uint32_t fields,
                           uint32_t user)
{
    uint64_t idx = pos & w->mask;

    bcast__st_header(w->data + idx, fields, user);
    if (bcast__unlikely(idx == 0))
        bcast__st64(w->base + BCAST__OFF_LAP, pos >> w->lap_shift);
    bcast__wmb(); /* W2: payload and header before producer; pairs with R1 */
    w->position = pos + flen;
    bcast__st64(D_PRODUCER(w->data), w->position);
    (void)wake_check(w);
}

int bcast__ring_claim(struct bcast_writer *w, size_t len, uint32_t user, int flags,
                      void **payload)
{
    uint64_t pos = claim_frame(w, bcast__frame_len(len));

    w->claim_pos = pos;
    w->claim_len = (uint32_t)len;
    w->claim_user = user;
    w->claim_fields = bcast__frame_fields(w, flags);
    w->claim_open = 1;
    bcast__writer_fast_refresh(w);
    *payload = w->data + (pos & w->mask) + BCAST__FRAME_HDR;
    return 0;
}

int bcast__ring_commit(struct bcast_writer *w)
{
    uint32_t fields = w->claim_fields;

    publish(w, w->claim_pos, bcast__frame_len(w->claim_len), fields | w->claim_len,
            w->claim_user);
    bcast__train_update(w, fields);
    w->claim_open = 0;
    bcast__writer_fast_refresh(w);
    return 0;
}

/*
 * A commit of fewer bytes than were claimed: the frame is as long as what
 * was written, and the writer goes on from its end, so the rest of the
 * claim goes back to the ring, with no padding.  The claimed frontier
 * published for the whole claim stays where it is: it bounds what the
 * writer may be writing, never what it wrote, and the next frames, which
 * start below it, are written under it as any frame inside the frontier
 * is (claim_frame publishes a new one only past it).  No reader reads a
 * byte past the producer position, which ends at the short frame.
 */
int bcast__ring_commit_len(struct bcast_writer *w, uint32_t len)
{
    w->claim_len = len;
    return bcast__ring_commit(w);
}

int bcast__ring_abort(struct bcast_writer *w)
{
    uint32_t alen = (uint32_t)bcast__align8(w->claim_len);

    /* the claim becomes a padding frame of the same length; the train is untouched */
    publish(w, w->claim_pos, BCAST__FRAME_HDR + alen, BCAST__FIN | BCAST__PAD | alen, 0);
    w->claim_open = 0;
    bcast__writer_fast_refresh(w);
    return 0;
}

/* the general send: checked arguments, any flags and length, padding */
static __attribute__((noinline)) int send_general(struct bcast_writer *w, const void *payload,
                                                  size_t len, uint32_t user, int flags)
{
    int rc = bcast__send_check(w, payload, len, flags);
    uint64_t flen = bcast__frame_len(len), pos;
    uint32_t fields;

    if (rc < 0)
        return rc;
    pos = claim_frame(w, flen);
    fields = bcast__frame_fields(w, flags);
    if (len)
        bcast__copy_in(w->data + (pos & w->mask) + BCAST__FRAME_HDR, payload, len);
    publish(w, pos, flen, fields | (uint32_t)len, user);
    bcast__train_update(w, fields);
    bcast__writer_fast_refresh(w);
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
        uint64_t frontier = end + w->reserve;

        if (end > w->lap_limit)
            return 0;
        publish_frontier(w, frontier);
        w->limit = w->lap_limit < frontier ? w->lap_limit : frontier;
    }
    return 1;
}

/*
 * The fast send: a whole message of at most BCAST__FAST_MAX bytes (and the
 * MTU), no claim or train open, ending inside the frontier and the lap (no
 * padding, no lap_count store).  Anything else, and every argument error,
 * goes to the checked general path.  Positions compare as plain unsigned
 * numbers here (see bcast__writer_fast_refresh).
 */
static inline int fast_send(struct bcast_writer *w, uint8_t *data, const void *payload,
                            size_t len, uint32_t user, int small)
{
    uint64_t pos = w->position;
    /* frame end: positions are multiples of 8, so pos + frame_len(len) */
    uint64_t end = (pos + len + 15) & ~(uint64_t)7;
    uint8_t *frame;

    /* user stays in its argument register for the general path's call
       (GCC moved it out and back, one instruction on every send) */
    bcast__reg_hint(user);

    if (bcast__unlikely(!fast_room(w, end)))
        return send_general(w, payload, len, user, 0);
    frame = data + (pos & w->mask);
    if (small)
        bcast__copy_in_16_32(frame + BCAST__FRAME_HDR, payload, len);
    else
        bcast__copy_in_small(frame + BCAST__FRAME_HDR, payload, len);
    /* len < fast_bound <= BCAST__FAST_MAX + 1: it fits the length field as it is */
    bcast__st_header(frame, BCAST__FIN | (uint32_t)len, user);
    bcast__wmb(); /* W2: payload and header before producer; pairs with R1 */
    w->position = end;
    bcast__st64(D_PRODUCER(data), end);
    return wake_check(w);
}

/* the fast send of the sizes other than 16 to 32 bytes, apart to keep the
   common one's registers free */
static __attribute__((noinline)) int send_other(struct bcast_writer *w, const void *payload,
                                                size_t len, uint32_t user)
{
    if (bcast__unlikely(len >= w->fast_bound))
        return send_general(w, payload, len, user, 0);
    return fast_send(w, w->data, payload, len, user, 0);
}

/* bcast_writer_send: a leaf function on its common path, the checks and
   then the 16-to-32-byte class (len - 16 < fast16 also says the fast path
   is open) */
int bcast__ring_send(struct bcast_writer *w, const void *payload, size_t len, uint32_t user,
                     int flags)
{
    if (bcast__unlikely(!w))
        return -EINVAL;
    if (bcast__unlikely(flags || !payload))
        return send_general(w, payload, len, user, flags);
    if (bcast__unlikely(len - 16 >= w->fast16))
        return send_other(w, payload, len, user);
    return fast_send(w, w->data, payload, len, user, 1);
}

/* ------------------------------------------------------------------ */
/* reader: the general path                                            */

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
            uint64_t p = bcast__ld64(PRODUCER(r->base));
            bcast__rmb(); /* R1: producer before the frame; pairs with W2 */
            if (!bcast__after(p, pos))
                return -EAGAIN;
            r->producer = p;
        }
        idx = pos & r->mask;
        hdr = bcast__ld64(r->data + idx);
        bcast__rmb(); /* R2: frame header before the frontier; pairs with W1 */
        if (bcast__unlikely(bcast__ld64(CLAIMED(r->base)) - pos > cap))
            return -ENOBUFS;
        flen = bcast__frame_check((uint32_t)hdr, idx, cap, r->producer - pos, r->mtu);
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

/* the general lazy read; msg NULL skips the message */
static __attribute__((noinline)) int next_general(struct bcast_reader *r,
                                                  struct bcast_message *msg)
{
    uint64_t hdr, pos;
    int64_t flen = next_frame(r, &hdr);

    if (flen < 0)
        return (int)flen;
    pos = r->position;
    if (msg)
        bcast__msg_fill(msg, r, pos, hdr);
    r->position = pos + (uint64_t)flen;
    return 0;
}

/* R3: the frontier check after a payload copy from the frame at pos (the
   reader's capacity is read after the fence, as a memory operand) */
static inline int payload_good(const struct bcast_reader *r, const uint8_t *data, uint64_t pos)
{
    bcast__rmb(); /* R3: header and payload before the frontier; pairs with W1 */
    return bcast__likely(bcast__ld64(D_CLAIMED(data)) - pos <= r->capacity);
}

/* the general eager read: checked arguments, any frame */
static __attribute__((noinline)) ssize_t receive_general(struct bcast_reader *r, void *buf,
                                                         size_t cap, struct bcast_message *msg)
{
    uint64_t hdr, pos;
    uint32_t len;
    const uint8_t *payload;
    int64_t flen;

    if (!r || (!buf && cap))
        return -EINVAL;
    if ((flen = next_frame(r, &hdr)) < 0)
        return (ssize_t)flen;
    pos = r->position;
    len = (uint32_t)hdr & BCAST__LEN_MASK;
    payload = r->data + (pos & r->mask) + BCAST__FRAME_HDR;
    if (bcast__unlikely(len > cap)) {
        if (msg)
            bcast__msg_fill(msg, r, pos, hdr);
        return -ERANGE;
    }
    if (len)
        bcast__copy_out(buf, payload, len);
    if (!payload_good(r, r->data, pos + BCAST__FRAME_HDR)) /* the header was checked (R2) */
        return -ENOBUFS;
    r->position = pos + (uint64_t)flen;
    if (msg)
        bcast__msg_fill(msg, r, pos, hdr);
    return (ssize_t)len;
}

/* ------------------------------------------------------------------ */
/* reader: the fast paths                                              */

/*
 * Load the header of the frame at the reader's position.  When the reader
 * has caught up with its cached producer position, the producer and the
 * frame header are loaded back to back, before the branch: the two cache
 * line transfers overlap instead of following each other (R1 keeps the
 * second load from passing the first).  Returns 0 with the header, the
 * cached producer position then ahead of pos, or -EAGAIN.
 */
static inline int load_head(struct bcast_reader *r, const uint8_t *data, uint64_t pos,
                            const uint8_t *frame, uint64_t *hdr)
{
    if (bcast__likely(pos == r->producer)) { /* a reader that keeps up is usually here */
        uint64_t p = bcast__ld64(D_PRODUCER(data));
        bcast__rmb(); /* R1: producer before the frame; pairs with W2 */
        *hdr = bcast__ld64(frame);
        r->producer = p;
        if ((int64_t)(p - pos) <= 0) {
            r->producer = pos; /* never behind the reader */
            return -EAGAIN;
        }
    } else {
        *hdr = bcast__ld64(frame);
    }
    return 0;
}

/* whether a frame ending at end was committed: the cached producer
   position (loaded by load_head) is not before it */
static inline int committed_to(const struct bcast_reader *r, uint64_t end)
{
    return (int64_t)(r->producer - end) >= 0;
}

/* the fast paths' answer for "this frame needs the general path" (not an errno) */
#define GENERAL (-4096 - 1)

/*
 * The fast lazy read: a frame that is not padding, not filtered, no longer
 * than the MTU, and ends inside the ring and the committed data.  Fills the
 * message's position and header, and its reader when fill_reader is set (a
 * poll message has it from the reader's open).  Returns 0, -EAGAIN,
 * -ENOBUFS, or GENERAL for anything else: the general path reads the frame
 * again from the start and checks it in full.  A message is written only
 * when a frame is delivered.
 */
static inline int next_core(struct bcast_reader *r, struct bcast_message *msg, int fill_reader)
{
    const uint8_t *data = r->data;
    uint64_t pos = r->position, idx = pos & r->mask, hdr, fl, flen;

    if (load_head(r, data, pos, data + idx, &hdr) < 0)
        return -EAGAIN;
    bcast__rmb(); /* R2: frame header before the frontier; pairs with W1 */
    if (bcast__unlikely(bcast__ld64(D_CLAIMED(data)) - pos > r->capacity))
        return -ENOBUFS;
    fl = hdr & (BCAST__LEN_MASK | BCAST__PAD); /* padding is >= next_max */
    if (bcast__unlikely(fl >= r->next_max))
        return GENERAL;
    flen = bcast__frame_len(fl);
    if (bcast__unlikely(!committed_to(r, pos + flen)))
        return GENERAL;
    if (bcast__unlikely(idx + flen > r->capacity))
        return GENERAL;
    r->position = pos + flen;
    msg->position = pos;
    msg->hdr = hdr;
    if (fill_reader)
        msg->reader = r;
    return 0;
}

int bcast__ring_next(struct bcast_reader *r, struct bcast_message *msg)
{
    int rc;

    if (bcast__unlikely(!r || !msg))
        return -EINVAL;
    rc = next_core(r, msg, 1);
    if (bcast__unlikely(rc == GENERAL))
        return next_general(r, msg);
    return rc;
}

int bcast__ring_skip(struct bcast_reader *r)
{
    return next_general(r, NULL);
}

/*
 * Poll with the fast lazy read in the loop.  The poll message's reader was
 * set when the reader was opened, so each message costs two stores; the
 * general path fills all three with the same values.  The
 * handler may call the reader's other functions: the loop keeps no reader
 * state in registers across the call.
 */
int bcast__ring_poll(struct bcast_reader *r, bcast_handler fn, void *ctx, size_t limit)
{
    struct bcast_message *m;
    int n = 0, rc = 0;

    if (bcast__unlikely(!r || !fn))
        return -EINVAL;
    limit = bcast__poll_limit(limit);
    m = &r->poll_msg;
    while ((size_t)n < limit) {
        rc = next_core(r, m, 0);
        if (bcast__unlikely(rc == GENERAL))
            rc = next_general(r, m);
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
 * to be at most BCAST__FAST_MAX and the MTU, given the position its frame
 * ends at: committed, no longer than the caller's buffer, and not reaching
 * past the ring end (only frames in the last frame_len(BCAST__FAST_MAX)
 * bytes of the ring can).  Separate branches, each one compare (see
 * configure.ac on the GCC parameter).
 */
static inline int fast_frame_ok(const struct bcast_reader *r, const uint8_t *frame, uint64_t fl,
                                uint64_t end, size_t cap)
{
    if (bcast__unlikely(!committed_to(r, end)))
        return 0;
    if (bcast__unlikely(fl > cap))
        return 0;
    /* the frame wraps past the ring end when the ring index of its last
       byte is below that of its first (a fast frame is shorter than the ring) */
    if (bcast__unlikely(frame >= r->fast_end) && r->data + ((end - 1) & r->mask) < frame)
        return 0;
    return 1;
}

/*
 * The fast eager read: the same frames as the fast lazy read, copied with
 * the inline small copy.  The frontier is checked once (R3), after the
 * header and the payload were both read, against the frame's position (the
 * bound of the header, stricter than the payload's): what was read is good
 * only if nothing from the frame's first byte on was overwritten.  A header
 * that looks wrong is never trusted: the general path reads it again and
 * checks the frontier before judging it.
 */

/* the fast eager read of the frame at the reader's position, its header
   already loaded: the length, -ENOBUFS or GENERAL; fills msg, if there is
   one, with the frame read */
static inline ssize_t receive_frame(struct bcast_reader *r, void *buf, size_t cap, uint64_t hdr,
                                    struct bcast_message *msg)
{
    const uint8_t *data = r->data;
    uint64_t pos = r->position;
    const uint8_t *frame = data + (pos & r->mask);
    uint64_t fl = hdr & (BCAST__LEN_MASK | BCAST__PAD); /* padding is >= fast_max */
    uint64_t end = pos + bcast__frame_len(fl);

    if (bcast__unlikely(fl >= r->fast_max))
        return GENERAL;
    if (bcast__unlikely(!fast_frame_ok(r, frame, fl, end, cap)))
        return GENERAL;
    bcast__copy_out_small(buf, frame + BCAST__FRAME_HDR, fl);
    if (!payload_good(r, data, pos))
        return -ENOBUFS;
    r->position = end;
    if (msg)
        bcast__msg_fill(msg, r, pos, hdr);
    return (ssize_t)fl;
}

/* a receive of any size the fast path takes but 16 to 32 bytes, or the
   general one, once load_head has loaded the producer position (or found
   the cached one ahead): the header is loaded again, after it, so that the
   caller need not keep it */
static __attribute__((noinline)) ssize_t receive_other(struct bcast_reader *r, void *buf,
                                                       size_t cap, struct bcast_message *msg)
{
    ssize_t rc = receive_frame(r, buf, cap, bcast__ld64(r->data + (r->position & r->mask)), msg);

    if (bcast__unlikely(rc == GENERAL))
        return receive_general(r, buf, cap, msg);
    return rc;
}

/*
 * The fast receive: a leaf function for 16 to 32 bytes, the common size
 * class, tested with the "no filter" condition in one compare (fl - 16 <
 * fast16); the other sizes take receive_other.  Compiled twice, for a
 * receive into a buffer and for one that also fills a message.
 */
static bcast__always_inline ssize_t receive_fast(struct bcast_reader *r, void *buf, size_t cap,
                                   struct bcast_message *msg)
{
    const uint8_t *data = r->data;
    uint64_t pos = r->position, hdr, fl, end;
    const uint8_t *frame = data + (pos & r->mask);

    if (load_head(r, data, pos, frame, &hdr) < 0)
        return -EAGAIN;
    fl = hdr & (BCAST__LEN_MASK | BCAST__PAD); /* padding is >= fast16 + 16 */
    if (bcast__unlikely(fl - 16 >= r->fast16))
        return receive_other(r, buf, cap, msg);
    /* a frame of 16 to 32 bytes: fill the message now, so that the header
       need not be kept through the checks and the copy; when the frame
       turns out corrupt, overrun or too long for buf, the message names the
       frame the reader stopped at (bcast_message_read checks it again) */
    if (msg)
        bcast__msg_fill(msg, r, pos, hdr);
    end = pos + bcast__frame_len(fl);
    if (bcast__unlikely(!fast_frame_ok(r, frame, fl, end, cap))) {
        if (msg) /* the frame may be corrupt: no message may name it */
            msg->reader = NULL, msg->payload = NULL;
        return receive_general(r, buf, cap, msg);
    }
    bcast__copy_out_16_32(buf, frame + BCAST__FRAME_HDR, fl);
    /* with a message, the frontier through a reload of r->data: one
       register fewer through the checks and the copy */
    if (!payload_good(r, msg ? r->data : data, pos))
        return -ENOBUFS;
    r->position = end;
    return (ssize_t)fl;
}

ssize_t bcast__ring_receive(struct bcast_reader *r, void *buf, size_t cap)
{
    if (bcast__unlikely(!r || !buf))
        return receive_general(r, buf, cap, NULL);
    return receive_fast(r, buf, cap, NULL);
}

ssize_t bcast__ring_receive_msg(struct bcast_reader *r, void *buf, size_t cap,
                                struct bcast_message *msg)
{
    if (bcast__unlikely(!r || !buf))
        return receive_general(r, buf, cap, msg);
    return receive_fast(r, buf, cap, msg);
}

/* ------------------------------------------------------------------ */
/* reader: the rest                                                    */

ssize_t bcast__ring_message_read(const struct bcast_message *m, void *buf)
{
    const struct bcast_reader *r = m->reader;
    uint32_t len = bcast__msg_len(m);

    if (len)
        bcast__copy_out(buf, r->data + (m->position & r->mask) + BCAST__FRAME_HDR, len);
    if (!payload_good(r, r->data, m->position + BCAST__FRAME_HDR))
        return -ENOBUFS;
    return (ssize_t)len;
}

uint64_t bcast__ring_pending(struct bcast_reader *r)
{
    uint64_t p = bcast__ld64(PRODUCER(r->base));

    /* R1: the cached producer lets the next read skip its own producer load,
       so the frames it reads must be ordered after this one; pairs with W2 */
    bcast__rmb();
    if (!bcast__after(p, r->position))
        return 0;
    r->producer = p;
    return p - r->position;
}

void bcast__ring_reset(struct bcast_reader *r)
{
    /* frame positions are 8-aligned; a damaged producer word that is not
       must not put the reader between frame headers: it stays aligned,
       short of the producer, and reads -EBADMSG.  Caching it needs no
       fence: the reader is at the producer, so its next read loads it
       again (R1) before any frame. */
    uint64_t p = bcast__ld64(PRODUCER(r->base)) & ~(uint64_t)7;

    r->position = p;
    r->producer = p;
}

/*
 * Copy n bytes of the ring from position start, n <= capacity: at most two
 * copies.  The ring holds one lap, so a reader further behind copies one
 * ring (and the frontier check after the copy reports the overrun).
 */
static inline void ring_copy_out(void *buf, const uint8_t *data, uint64_t mask, uint64_t start,
                                 uint64_t n)
{
    uint64_t idx = start & mask, first = mask + 1 - idx;

    if (first > n)
        first = n;
    if (first)
        bcast__copy_out(buf, data + idx, first);
    if (n > first)
        bcast__copy_out((uint8_t *)buf + first, data, n - first);
}

ssize_t bcast__ring_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                              uint64_t *start_position)
{
    const uint64_t capacity = r->capacity;
    uint64_t pos = r->position, start, p, idx, n;
    int64_t len;

    p = bcast__ld64(PRODUCER(r->base));
    bcast__rmb(); /* R1: producer before the frames; pairs with W2 */
    if (!bcast__after(p, pos))
        return -EAGAIN;
    r->producer = p;
    idx = pos & r->mask;
    start = pos + bcast__lap_padding(bcast__ld64(r->data + idx), idx, capacity, p - pos);
    n = p - start;
    if (n > capacity)
        n = capacity;
    if (n > cap)
        n = cap;
    ring_copy_out(buf, r->data, r->mask, start, n);
    bcast__rmb(); /* R3: frames before the frontier; pairs with W1 */
    if (bcast__unlikely(bcast__ld64(CLAIMED(r->base)) - pos > capacity))
        return -ENOBUFS;
    /* everything read is good: keep the whole frames */
    r->position = start;
    len = bcast__bulk_frames((const uint8_t *)buf, n, start, p - start, r->mask, r->mtu);
    if (len < 0)
        return (ssize_t)len;
    r->position = start + (uint64_t)len;
    if (start_position)
        *start_position = start;
    return (ssize_t)len;
}

/* ------------------------------------------------------------------ */
/* readers that sleep                                                  */

#define WAIT(a, off) ((a) + BCAST__WAIT_OFF_##off)

/*
 * The writer's wake-up: need_wake back to 0, then the futex word one
 * further, then wake every sleeper.  One call per sleep episode at most:
 * need_wake is set once per episode and cleared here.
 */
__attribute__((noinline, cold)) void bcast__ring_wake(struct bcast_writer *w)
{
    uint8_t *a = w->wait;
    uint32_t seq;

    if (!a)
        return;
    bcast__st32(WAIT(a, NEED_WAKE), 0);
    seq = bcast__ld32(WAIT(a, SEQ));
    bcast__wmb(); /* W3: need_wake cleared before seq moves; pairs with R4 */
    bcast__st32(WAIT(a, SEQ), seq + 1);
    bcast__os_wake(WAIT(a, SEQ));
}

/* a writer takes a wait area: the header words, then the sleepers that
   armed before it came are woken */
void bcast__ring_wait_attach(struct bcast_writer *w, uint8_t *area, int membarrier,
                             uint32_t pid)
{
    if (bcast__ld32(WAIT(area, MAGIC)) != BCAST__WAIT_MAGIC_LE) {
        bcast__st32(WAIT(area, VERSION), 1); /* u16 version 1, u16 0 */
        bcast__st32(WAIT(area, MAGIC), BCAST__WAIT_MAGIC_LE);
    }
    bcast__st32(WAIT(area, PID), pid);
    bcast__st32(WAIT(area, WRITER),
                BCAST__WAIT_WAKER | (membarrier ? BCAST__WAIT_MEMBARRIER : 0));
    w->wait = area;
    w->wake_flag = WAIT(area, NEED_WAKE);
    bcast__ring_wake(w);
}

/* the writer leaves: sleepers are woken and poll from then on */
void bcast__ring_wait_detach(struct bcast_writer *w)
{
    if (!w->wait)
        return;
    bcast__st32(WAIT(w->wait, WRITER), 0);
    bcast__ring_wake(w);
    w->wait = NULL;
    w->wake_flag = (const uint8_t *)&w->no_wake;
}

/* something to read: a message, an overrun to report, a frame to skip */
int bcast__ring_readable(const struct bcast_reader *r)
{
    return bcast__after(bcast__ld64(PRODUCER(r->base)), r->position);
}

/* the flags the writer left in the reader's wait area (0: none) */
uint32_t bcast__ring_wait_flags(const struct bcast_reader *r)
{
    if (!r->wait || bcast__ld32(WAIT(r->wait, MAGIC)) != BCAST__WAIT_MAGIC_LE)
        return 0;
    return bcast__ld32(WAIT(r->wait, WRITER));
}

/*
 * The reader's steps before a sleep: load the futex word (*seq), announce
 * (need_wake = 1), fence against the writer (membarrier when its process
 * takes them, else a full fence here alone), then look again.  Returns 1
 * when there is something to read (do not sleep), 0 to sleep on *seq until
 * it moves, or 2 to sleep only a short slice: without the membarrier the
 * writer's check may miss this announcement.
 */
int bcast__ring_wait_arm(struct bcast_reader *r, uint32_t *seq)
{
    uint8_t *a = r->wait;
    uint32_t flags = bcast__ring_wait_flags(r);
    int sliced = 0;

    *seq = bcast__ld32(WAIT(a, SEQ));
    bcast__rmb(); /* R4: seq before need_wake is set: a wake-up that cleared
                     an earlier announcement has moved seq already; pairs with W3 */
    bcast__st32(WAIT(a, NEED_WAKE), 1);
    bcast__add32(WAIT(a, ARMS), 1);
    if (!(flags & BCAST__WAIT_MEMBARRIER) || bcast__os_membarrier() < 0) {
        bcast__mb(); /* need_wake before the producer, on this side only */
        sliced = 1;
    }
    if (bcast__ring_readable(r))
        return 1;
    return sliced ? 2 : 0;
}

#undef WAIT
#undef PRODUCER
#undef CLAIMED
#undef D_PRODUCER
#undef D_CLAIMED
#undef GENERAL

#endif /* BCAST_PROTOCOL_H */
