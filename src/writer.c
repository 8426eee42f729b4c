/*
 * libbcast writer handle: argument checking and the API surface.  The ring
 * protocol itself is in src/protocol.h, compiled by src/arch/<arch>/ring.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "ring.h"

static struct bcast_writer *writer_new(void *mem, uint64_t capacity)
{
    struct bcast_writer *w = calloc(1, sizeof *w);

    if (w)
        bcast__writer_setup(w, mem, capacity);
    return w;
}

BCAST_EXPORT int bcast_writer_create(void *mem, size_t size, const void *metadata,
                                     size_t metadata_len, struct bcast_writer **out)
{
    struct bcast_writer *w;
    uint64_t capacity;
    int rc;

    if (!out || metadata_len > BCAST_METADATA_SIZE || (metadata_len && !metadata))
        return -EINVAL;
    if ((rc = bcast__mem_check(mem, size, &capacity)) < 0)
        return rc;
    if (!(w = writer_new(mem, capacity)))
        return -ENOMEM;
    bcast__ring_init(w, metadata, metadata_len);
    *out = w;
    return 0;
}
BCAST__ALIAS(bcast_writer_create, bcast__writer_create);

BCAST_EXPORT int bcast_writer_join(void *mem, size_t size, struct bcast_writer **out)
{
    struct bcast_writer *w;
    uint64_t capacity;
    int rc;

    if (!out)
        return -EINVAL;
    if ((rc = bcast__mem_check(mem, size, &capacity)) < 0)
        return rc;
    if ((rc = bcast__header_check(mem)) < 0)
        return rc;
    if (!(w = writer_new(mem, capacity)))
        return -ENOMEM;
    bcast__ring_join(w);
    *out = w;
    return 0;
}
BCAST__ALIAS(bcast_writer_join, bcast__writer_join);

BCAST_EXPORT void bcast_writer_close(struct bcast_writer *w)
{
    if (!w)
        return;
    if (w->claim_open)
        bcast__ring_commit(w);
    bcast__ring_wait_detach(w); /* sleepers poll from now on */
    if (w->mapping)
        bcast__mapping_release(w->mapping);
    free(w);
}

BCAST_EXPORT size_t bcast_writer_mtu(const struct bcast_writer *w)
{
    return w ? (size_t)w->mtu : 0;
}

BCAST_EXPORT size_t bcast_writer_capacity(const struct bcast_writer *w)
{
    return w ? (size_t)w->capacity : 0;
}

BCAST_EXPORT uint64_t bcast_writer_position(const struct bcast_writer *w)
{
    return w ? w->position : 0;
}

BCAST_EXPORT int bcast_writer_claim(struct bcast_writer *w, size_t len, uint32_t user_defined,
                                    int flags, void **payload)
{
    int rc = bcast__send_check(w, w, len, flags);

    if (rc < 0 || !payload)
        return rc < 0 ? rc : -EINVAL;
    return bcast__ring_claim(w, len, user_defined, flags, payload);
}

BCAST_EXPORT int bcast_writer_commit(struct bcast_writer *w)
{
    if (bcast__unlikely(!w || !w->claim_open))
        return -EINVAL;
    return bcast__ring_commit(w);
}

BCAST_EXPORT int bcast_writer_commit_len(struct bcast_writer *w, size_t len)
{
    if (!w || !w->claim_open || len > w->claim_len)
        return -EINVAL;
    return bcast__ring_commit_len(w, (uint32_t)len);
}

BCAST_EXPORT int bcast_writer_abort(struct bcast_writer *w)
{
    if (!w || !w->claim_open)
        return -EINVAL;
    return bcast__ring_abort(w);
}

/* the core checks the arguments, fused with its fast path's tests */
BCAST_EXPORT int bcast_writer_send(struct bcast_writer *w, const void *payload, size_t len,
                                   uint32_t user_defined, int flags)
{
    return bcast__ring_send(w, payload, len, user_defined, flags);
}

/*
 * bcast_writer_send_large: a message longer than the MTU goes as a train of
 * fragments.  The longest is 2^28 - 1 bytes, what the length of a whole
 * message can say (bcast_message_len of a reassembled one).  A train that
 * is longer than the ring less the claim reserve is read whole only by a
 * reader that reads its first fragments before the last ones overwrite
 * them; bcast_writer_send_large(3) says so.
 */
BCAST_EXPORT int bcast_writer_send_large(struct bcast_writer *w, const void *payload, size_t len,
                                         uint32_t user_defined)
{
    const uint8_t *p = payload;

    if (!w || (!payload && len))
        return -EINVAL;
    if (w->claim_open || w->train)
        return -EBUSY;
    if (len <= w->mtu)
        return bcast__ring_send(w, payload, len, user_defined, 0);
    if (len > BCAST__LEN_MASK || w->mtu == 0)
        return -EMSGSIZE;
    for (;;) {
        /* a fragment ends at the end of the lap rather than leave padding
           there; every fragment but the last is a multiple of 8 bytes */
        uint64_t room = w->capacity - (w->position & w->mask);
        size_t n = len < w->mtu ? len : (size_t)w->mtu;
        int rc;

        if (room > BCAST__FRAME_HDR && n > room - BCAST__FRAME_HDR)
            n = (size_t)(room - BCAST__FRAME_HDR);
        rc = bcast__ring_send(w, p, n, user_defined, n < len ? BCAST_MORE : 0);
        if (rc < 0 || n == len)
            return rc;
        p += n;
        len -= n;
    }
}

BCAST_EXPORT int bcast_writer_heartbeat(struct bcast_writer *w, uint32_t user_defined)
{
    if (!w)
        return -EINVAL;
    return bcast__ring_send(w, NULL, 0, user_defined, BCAST_HEARTBEAT);
}

BCAST_EXPORT int bcast_writer_set_reserve(struct bcast_writer *w, size_t bytes)
{
    if (!w || (bytes & 7) || bytes > w->capacity / 2)
        return -EINVAL;
    if (w->claim_open)
        return -EBUSY;
    w->reserve = bytes;
    return 0;
}

BCAST_EXPORT int bcast_writer_set_wait_area(struct bcast_writer *w, void *area, size_t size)
{
    if (!w || w->mapping || (area && !bcast__wait_area_ok(area, size)))
        return -EINVAL;
    bcast__ring_wait_detach(w);
    if (area)
        bcast__wait_attach(w, area);
    return 0;
}
