/*
 * libbcast internal: payload copies into and out of the ring, for the ring
 * cores whose plain loads and stores of the ring bytes are what the CPU
 * does (both src/arch cores).  The protocol (src/protocol.h) calls them as
 * primitives; the memory-model check supplies its own.
 *
 * The small copies move 16 bytes at a time, the last moves overlapping, with
 * no call, so the hot paths that use them stay leaf functions; only bytes
 * [0, n) of the destination are written.  Longer payloads go to libc.
 * Reading the ring races with the writer by design: a copy out is trusted
 * only after the frontier check that follows it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_ARCH_COPY_H
#define BCAST_ARCH_COPY_H

#include <stdint.h>
#include <string.h>

static inline void bcast__copy16(uint8_t *d, const uint8_t *s)
{
    __builtin_memcpy(d, s, 16);
}

/* 16 to 32 bytes, the common size class: two moves, the second overlapping */
static inline void bcast__copy_16_32(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;

    bcast__copy16(d, s);
    bcast__copy16(d + n - 16, s + n - 16);
}

/* 33 to BCAST__FAST_MAX bytes: 32-byte steps, the last one overlapping */
static inline void bcast__copy_long(uint8_t *d, const uint8_t *s, size_t n)
{
    size_t i = 0;

    do {
        bcast__copy16(d + i, s + i);
        bcast__copy16(d + i + 16, s + i + 16);
        i += 32;
    } while (i + 32 < n);
    bcast__copy16(d + n - 32, s + n - 32);
    bcast__copy16(d + n - 16, s + n - 16);
}

/* at most BCAST__FAST_MAX bytes, inline */
static inline void bcast__copy_small(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;

    if (bcast__likely(n - 16 <= 16)) { /* 16 to 32 bytes, the common size class */
        bcast__copy_16_32(d, s, n);
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
    bcast__copy_long(d, s, n);
}

/* any length: small ones inline, longer ones to libc */
static inline void bcast__copy(void *dst, const void *src, size_t n)
{
    if (n <= BCAST__FAST_MAX)
        bcast__copy_small(dst, src, n);
    else
        memcpy(dst, src, n);
}

/* the protocol's copy primitives: the same copy in both directions */
#define bcast__copy_in(d, s, n) bcast__copy(d, s, n)
#define bcast__copy_in_small(d, s, n) bcast__copy_small(d, s, n)
#define bcast__copy_in_16_32(d, s, n) bcast__copy_16_32(d, s, n)
#define bcast__copy_out(d, s, n) bcast__copy(d, s, n)
#define bcast__copy_out_small(d, s, n) bcast__copy_small(d, s, n)
#define bcast__copy_out_16_32(d, s, n) bcast__copy_16_32(d, s, n)

#endif /* BCAST_ARCH_COPY_H */
