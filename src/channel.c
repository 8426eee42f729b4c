/*
 * libbcast: channel-wide helpers: version, error strings, sizes and the
 * validation of a header found in memory.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ring.h"

BCAST_EXPORT const char *bcast_version(void)
{
    return BCAST_VERSION_STRING;
}

BCAST_EXPORT size_t bcast_channel_size(size_t capacity)
{
    if (capacity < BCAST__MIN_CAPACITY || !bcast__is_pow2(capacity) ||
        capacity > SIZE_MAX - BCAST_HEADER_SIZE)
        return 0;
    return BCAST_HEADER_SIZE + capacity;
}
BCAST__ALIAS(bcast_channel_size, bcast__channel_size);

uint64_t bcast__capacity_of(size_t size)
{
    size_t cap;

    if (size < BCAST_HEADER_SIZE + BCAST__MIN_CAPACITY)
        return 0;
    cap = size - BCAST_HEADER_SIZE;
    return bcast__is_pow2(cap) ? cap : 0;
}

int bcast__mem_check(const void *mem, size_t size, uint64_t *capacity)
{
    if (!mem || ((uintptr_t)mem & (BCAST_ALIGNMENT - 1)))
        return -EINVAL;
    *capacity = bcast__capacity_of(size);
    return *capacity ? 0 : -EINVAL;
}

int bcast__header_check(const uint8_t *base)
{
    uint8_t ready = bcast__ring_load_ready(base);
    uint32_t magic;
    uint16_t version;
    uint64_t producer, claimed;

    memcpy(&magic, base + BCAST__OFF_MAGIC, sizeof magic);
    magic = bcast__le32(magic);
    if (ready == 0) /* a writer is initialising it, or it is not a channel */
        return (magic == 0 || magic == BCAST__MAGIC_LE) ? -EAGAIN : -EPROTO;
    if (magic != BCAST__MAGIC_LE || ready != 1)
        return -EPROTO;
    memcpy(&version, base + BCAST__OFF_VERSION, sizeof version);
    if (bcast__le16(version) != BCAST__FORMAT_VERSION)
        return -EPROTONOSUPPORT;
    producer = bcast__ring_load_producer(base);
    claimed = bcast__ring_load_claimed(base);
    if ((producer | claimed) & 7)
        return -EPROTO;
    return 0;
}

/*
 * Thread-safe: static strings only.  Codes with a bcast-specific meaning get
 * that meaning; any other errno (passed through from the OS by the file
 * functions) gets the C library's description from its static table
 * (strerrordesc_np, never strerror), or "Unknown error".
 */
BCAST_EXPORT const char *bcast_strerror(int err)
{
    if (err > 0)
        err = -err;
    switch (err) {
    case 0:
        return "Success";
    case -EAGAIN:
        return "Nothing to read now (or the channel is still being initialised)";
    case -ENOBUFS:
        return "Reader was overrun by the writer; data was lost (call bcast_reader_reset)";
    case -EMSGSIZE:
        return "Message is larger than the channel MTU";
    case -ERANGE:
        return "Buffer is too small for the message";
    case -EBADMSG:
        return "Corrupt frame header in the channel";
    case -EPROTO:
        return "Memory is not a bcast channel";
    case -EPROTONOSUPPORT:
        return "Unsupported bcast channel format version";
    case -EBUSY:
        return "Claim already open, or another writer holds the channel";
    case -EINVAL:
        return "Invalid argument";
    case -EPERM:
        return "Not permitted: file of another user, writable by others, or RLIMIT_MEMLOCK is 0";
    case -ELOOP:
        return "Channel or lock path is a symbolic link";
    case -ENOSPC:
        return "No space left on device for the channel file";
    case -ENODATA:
        return "Channel file has holes; it cannot be locked in RAM";
    case -ENOMEM:
        return "Out of memory (RLIMIT_MEMLOCK too small for BCAST_FILE_MLOCK?)";
    case -EPIPE:
        return "A fragmented message was cut short; its fragments were dropped";
    default:
        break;
    }
#ifdef HAVE_STRERRORDESC_NP
    if (err != INT_MIN) { /* -INT_MIN is not an int */
        const char *os = strerrordesc_np(-err); /* a static string, or NULL */
        if (os)
            return os;
    }
#endif
    return "Unknown error";
}
