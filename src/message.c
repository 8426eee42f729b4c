/*
 * libbcast message handle and the parser of bulk windows.
 *
 * A message filled by bcast_reader_next/receive/poll refers to the ring: its
 * payload is copied by bcast_message_read with an overrun check after the
 * copy.  A message filled by bcast_bulk_next refers to the caller's bulk
 * buffer, which was checked as a whole by bcast_reader_read_bulk.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "ring.h"

BCAST_EXPORT struct bcast_message *bcast_message_new(void)
{
    return calloc(1, sizeof(struct bcast_message));
}

BCAST_EXPORT void bcast_message_free(struct bcast_message *m)
{
    free(m);
}

BCAST_EXPORT int bcast_message_copy(struct bcast_message *dst, const struct bcast_message *src)
{
    if (!dst || !src)
        return -EINVAL;
    *dst = *src;
    return 0;
}

BCAST_EXPORT size_t bcast_message_len(const struct bcast_message *m)
{
    return m ? bcast__msg_len(m) : 0;
}

BCAST_EXPORT uint32_t bcast_message_user_defined(const struct bcast_message *m)
{
    return m ? (uint32_t)(m->hdr >> 32) : 0;
}

BCAST_EXPORT uint64_t bcast_message_position(const struct bcast_message *m)
{
    return m ? m->position : 0;
}

BCAST_EXPORT int bcast_message_flags(const struct bcast_message *m)
{
    if (!m)
        return -EINVAL;
    return bcast__msg_filled(m) ? bcast__msg_flags((uint32_t)m->hdr) : 0;
}

BCAST_EXPORT const void *bcast_message_data(const struct bcast_message *m)
{
    return (m && !m->reader) ? m->payload : NULL;
}

BCAST_EXPORT ssize_t bcast_message_read(const struct bcast_message *m, void *buf, size_t cap)
{
    uint32_t len;

    if (bcast__unlikely(!m || !bcast__msg_filled(m) || (!buf && cap)))
        return -EINVAL;
    len = bcast__msg_len(m);
    if (bcast__unlikely(len > cap))
        return -ERANGE;
    if (m->reader)
        return bcast__ring_message_read(m, buf);
    if (len)
        memcpy(buf, m->payload, len);
    return (ssize_t)len;
}
BCAST__ALIAS(bcast_message_read, bcast__message_read);

BCAST_EXPORT int bcast_bulk_next(const void *buf, size_t len, size_t *offset,
                                 uint64_t start_position, struct bcast_message *msg)
{
    const uint8_t *b = buf;
    size_t off;

    if (!buf || !offset || !msg || (*offset & 7) || *offset > len)
        return -EINVAL;
    for (off = *offset;;) {
        uint64_t hdr;
        uint32_t fields;
        size_t flen;

        if (off == len) {
            *offset = off;
            return -EAGAIN;
        }
        if (len - off < BCAST__FRAME_HDR)
            return -EBADMSG;
        memcpy(&hdr, b + off, sizeof hdr);
        hdr = bcast__le64(hdr);
        fields = (uint32_t)hdr;
        flen = (size_t)bcast__frame_len(fields & BCAST__LEN_MASK);
        if (flen > len - off)
            return -EBADMSG;
        if (fields & BCAST__PAD) {
            off += flen;
            continue;
        }
        msg->reader = NULL;
        msg->payload = b + off + BCAST__FRAME_HDR;
        msg->position = start_position + off;
        msg->hdr = hdr;
        *offset = off + flen;
        return 0;
    }
}
