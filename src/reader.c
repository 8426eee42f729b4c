/*
 * libbcast reader handle: argument checking and the API surface.  The ring
 * protocol itself is in src/protocol.h, compiled by src/arch/<arch>/ring.c.
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

static int reader_new(const void *mem, uint64_t capacity, uint64_t position,
                      struct bcast_reader **out)
{
    struct bcast_reader *r = calloc(1, sizeof *r);

    if (!r)
        return -ENOMEM;
    bcast__reader_setup(r, mem, capacity, position);
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

/* next, receive and poll: the core checks the arguments, fused with its
   fast paths' tests */
BCAST_EXPORT int bcast_reader_next(struct bcast_reader *r, struct bcast_message *msg)
{
    return bcast__ring_next(r, msg);
}
BCAST__ALIAS(bcast_reader_next, bcast__reader_next);

BCAST_EXPORT ssize_t bcast_reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                                          struct bcast_message *msg)
{
    /* two entries, so that each is a leaf with the registers it needs */
    if (msg)
        return bcast__ring_receive_msg(r, buf, cap, msg);
    return bcast__ring_receive(r, buf, cap);
}
BCAST__ALIAS(bcast_reader_receive, bcast__reader_receive);

BCAST_EXPORT int bcast_reader_skip(struct bcast_reader *r)
{
    if (!r)
        return -EINVAL;
    return bcast__ring_skip(r);
}
BCAST__ALIAS(bcast_reader_skip, bcast__reader_skip);

BCAST_EXPORT int bcast_reader_poll(struct bcast_reader *r, bcast_handler fn, void *ctx,
                                   size_t limit)
{
    return bcast__ring_poll(r, fn, ctx, limit);
}
BCAST__ALIAS(bcast_reader_poll, bcast__reader_poll);

BCAST_EXPORT void bcast_reader_set_filter(struct bcast_reader *r, bcast_filter keep, void *ctx)
{
    if (!r)
        return;
    r->filter = keep;
    r->filter_ctx = keep ? ctx : NULL;
    bcast__reader_fast_bounds(r, !keep);
}

BCAST_EXPORT ssize_t bcast_reader_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                                            uint64_t *start_position)
{
    if (!r || !buf)
        return -EINVAL;
    return bcast__ring_read_bulk(r, buf, cap, start_position);
}

BCAST_EXPORT int bcast_reader_wait(struct bcast_reader *r, int64_t timeout_ns)
{
    int rc;

    if (!r)
        return -EINVAL;
    rc = bcast__wait(&r, 1, timeout_ns);
    return rc > 0 ? 0 : rc;
}

BCAST_EXPORT int bcast_reader_set_wait_spin(struct bcast_reader *r, uint64_t spin_ns)
{
    if (!r)
        return -EINVAL;
    r->spin_ns = spin_ns;
    return 0;
}

BCAST_EXPORT int bcast_reader_set_wait_area(struct bcast_reader *r, void *area, size_t size)
{
    if (!r || (area && !bcast__wait_area_ok(area, size)) || (r->mapping && area))
        return -EINVAL;
    r->wait = area;
    r->wait_look_ns = INT64_MAX;
    return 0;
}
