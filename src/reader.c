/*
 * libbcast reader handle: argument checking and the API surface.  The ring
 * protocol itself is in src/arch/<arch>/ring.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "ring.h"

/* validate caller memory and its header; 0 and *capacity, or -errno */
static int check_channel(const void *mem, size_t size, uint64_t *capacity)
{
    int rc = bcast__mem_check(mem, size, capacity);

    return rc < 0 ? rc : bcast__header_check(mem);
}

/* the bounds of the ring core's fast reads (src/ring.h): open, or closed
   while a filter is set (filtered reads take the general path) */
static void fast_bounds(struct bcast_reader *r, int open)
{
    r->fast_max = open ? BCAST__FAST_MAX + 1 : 0;
    r->fast16 = open ? 32 - 16 + 1 : 0;
    r->next_max = open ? BCAST__PAD : 0;
}

static int reader_new(const void *mem, uint64_t capacity, uint64_t position,
                      struct bcast_reader **out)
{
    struct bcast_reader *r = calloc(1, sizeof *r);

    if (!r)
        return -ENOMEM;
    r->base = mem;
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
    fast_bounds(r, 1);
    /* the poll message's channel words never change; a fast poll fills
       only payload, position and header */
    r->poll_msg.base = mem;
    r->poll_msg.capacity = capacity;
    /* a frame the fast receive takes is at most frame_len(BCAST__FAST_MAX) long */
    r->fast_end = capacity > bcast__frame_len(BCAST__FAST_MAX)
                      ? capacity - bcast__frame_len(BCAST__FAST_MAX) : 0;
    *out = r;
    return 0;
}

BCAST_EXPORT int bcast_reader_open(const void *mem, size_t size, struct bcast_reader **out)
{
    uint64_t capacity;
    int rc;

    if (!out)
        return -EINVAL;
    if ((rc = check_channel(mem, size, &capacity)) < 0)
        return rc;
    return reader_new(mem, capacity, bcast__ring_load_producer(mem), out);
}
BCAST__ALIAS(bcast_reader_open, bcast__reader_open);

BCAST_EXPORT int bcast_reader_open_at(const void *mem, size_t size, uint64_t position,
                                      struct bcast_reader **out)
{
    uint64_t capacity;
    int rc;

    if (!out || (position & 7))
        return -EINVAL;
    if ((rc = check_channel(mem, size, &capacity)) < 0)
        return rc;
    return reader_new(mem, capacity, position, out);
}
BCAST__ALIAS(bcast_reader_open_at, bcast__reader_open_at);

BCAST_EXPORT int bcast_reader_open_last_lap(const void *mem, size_t size,
                                            struct bcast_reader **out)
{
    uint64_t capacity, lap, producer, claimed, start;
    int rc;

    if (!out)
        return -EINVAL;
    if ((rc = check_channel(mem, size, &capacity)) < 0)
        return rc;
    lap = bcast__ring_load_lap(mem);
    producer = bcast__ring_load_producer(mem);
    claimed = bcast__ring_load_claimed(mem);
    start = lap * capacity;
    /* the lap start must be committed and not yet overwritten */
    if (producer - start > capacity || claimed - start > capacity)
        start = producer;
    return reader_new(mem, capacity, start, out);
}
BCAST__ALIAS(bcast_reader_open_last_lap, bcast__reader_open_last_lap);

BCAST_EXPORT void bcast_reader_close(struct bcast_reader *r)
{
    if (!r)
        return;
    if (r->mapping)
        bcast__mapping_release(r->mapping);
    free(r);
}

BCAST_EXPORT uint64_t bcast_reader_position(const struct bcast_reader *r)
{
    return r ? r->position : 0;
}

BCAST_EXPORT size_t bcast_reader_capacity(const struct bcast_reader *r)
{
    return r ? (size_t)r->capacity : 0;
}

BCAST_EXPORT size_t bcast_reader_mtu(const struct bcast_reader *r)
{
    return r ? (size_t)r->mtu : 0;
}

BCAST_EXPORT uint64_t bcast_reader_pending(struct bcast_reader *r)
{
    return r ? bcast__ring_pending(r) : 0;
}

BCAST_EXPORT int bcast_reader_reset(struct bcast_reader *r)
{
    if (!r)
        return -EINVAL;
    bcast__ring_reset(r);
    return 0;
}

BCAST_EXPORT const void *bcast_reader_metadata(const struct bcast_reader *r)
{
    return r ? r->base + BCAST__OFF_METADATA : NULL;
}

int bcast__next_slow(struct bcast_reader *r, struct bcast_message *msg)
{
    if (!r || !msg)
        return -EINVAL;
    return bcast__ring_next(r, msg);
}

ssize_t bcast__receive_slow(struct bcast_reader *r, void *buf, size_t cap,
                            struct bcast_message *msg)
{
    if (!r || (!buf && cap))
        return -EINVAL;
    return bcast__ring_receive(r, buf, cap, msg);
}

#ifndef BCAST_ARCH_FAST_PATHS
/* this ring core has no fast paths: the checked general paths are the API */
int bcast__reader_next(struct bcast_reader *r, struct bcast_message *msg)
    __attribute__((alias("bcast__next_slow")));
BCAST_EXPORT int bcast_reader_next(struct bcast_reader *r, struct bcast_message *msg)
    __attribute__((alias("bcast__next_slow")));
ssize_t bcast__reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                              struct bcast_message *msg)
    __attribute__((alias("bcast__receive_slow")));
BCAST_EXPORT ssize_t bcast_reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                                          struct bcast_message *msg)
    __attribute__((alias("bcast__receive_slow")));
#endif

BCAST_EXPORT int bcast_reader_skip(struct bcast_reader *r)
{
    if (!r)
        return -EINVAL;
    return bcast__ring_next(r, NULL);
}

#ifndef BCAST_ARCH_FAST_PATHS
BCAST_EXPORT int bcast_reader_poll(struct bcast_reader *r, bcast_handler fn, void *ctx,
                                   size_t limit)
{
    int n = 0, rc = 0;

    if (!r || !fn)
        return -EINVAL;
    limit = bcast__poll_limit(limit);
    while ((size_t)n < limit) {
        if ((rc = bcast__reader_next(r, &r->poll_msg)) < 0)
            break;
        n++;
        if (fn(&r->poll_msg, ctx))
            break;
    }
    return bcast__poll_result(n, rc);
}
#endif

BCAST_EXPORT void bcast_reader_set_filter(struct bcast_reader *r, bcast_filter keep, void *ctx)
{
    if (!r)
        return;
    r->filter = keep;
    r->filter_ctx = keep ? ctx : NULL;
    fast_bounds(r, !keep);
}

BCAST_EXPORT ssize_t bcast_reader_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                                            uint64_t *start_position)
{
    if (!r || !buf)
        return -EINVAL;
    return bcast__ring_read_bulk(r, buf, cap, start_position);
}
