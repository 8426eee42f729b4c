/*
 * libbcast ring core for every CPU but x86-64: the primitives of the ring
 * protocol on C11 <stdatomic.h>, then the protocol (src/protocol.h)
 * compiled for them.
 *
 * Shared words are relaxed atomics, which weakly ordered CPUs (aarch64,
 * ppc64el, riscv64, s390x) perform as single accesses without ordering; the
 * order the protocol needs comes from standalone fences:
 *
 *   bcast__wmb()  store-store fence (W0, W1, W2): a release fence.  Stores
 *                 before it are visible before stores after it to a reader
 *                 that fences with acquire after loading a later one
 *                 (aarch64: dmb ish).
 *   bcast__rmb()  load-load fence (R1, R2, R3): an acquire fence.  Loads
 *                 before it are done before loads after it (aarch64: dmb
 *                 ishld).
 *
 * ThreadSanitizer does not model standalone fences (gcc refuses them with
 * -Wtsan), so under TSan the ordering is carried by the accesses instead:
 * release stores and acquire loads of every shared word, and the fences
 * shrink to compiler barriers.  That is exact only on TSO CPUs: a TSan
 * build is for checking, not for shipping.  The payload copy races with the
 * writer by design (a seqlock read, checked afterwards); tests/tsan.supp
 * lists it.
 *
 * Shared words are little-endian, converted with bcast__le64.  A frame
 * header is one 64-bit store.  Streaming or other weakly ordered stores
 * into a claim are ordered by the release fence of bcast_writer_commit only
 * if the CPU's release fence orders them (it does on aarch64).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "../../ring.h"
#include "../copy.h"

/* positions are shared across processes and read through read-only
   mappings: their atomics must be plain loads and stores, never a lock or a
   compare-and-swap loop (configure refuses such hosts too) */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
               "64-bit atomics must be lock-free for a shared-memory ring");

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
/* TSan checks the ordering of the acquire loads and release stores above;
   the fences shrink to compiler barriers */
#define bcast__wmb() atomic_signal_fence(memory_order_seq_cst)
#define bcast__rmb() atomic_signal_fence(memory_order_seq_cst)
#else
#define ORD_LOAD memory_order_relaxed
#define ORD_STORE memory_order_relaxed
/* store-store fence: earlier stores are visible before later ones */
#define bcast__wmb() atomic_thread_fence(memory_order_release)
/* load-load fence: earlier loads are done before later ones */
#define bcast__rmb() atomic_thread_fence(memory_order_acquire)
#endif

static inline uint64_t bcast__ld64(const void *p)
{
    return bcast__le64(atomic_load_explicit(A64(p), ORD_LOAD));
}

static inline void bcast__st64(void *p, uint64_t v)
{
    atomic_store_explicit(A64(p), bcast__le64(v), ORD_STORE);
}

static inline uint8_t bcast__ld8(const void *p)
{
    return atomic_load_explicit(A8(p), ORD_LOAD);
}

static inline void bcast__st8(void *p, uint8_t v)
{
    atomic_store_explicit(A8(p), v, ORD_STORE);
}

/* the frame header: fields in bytes 0..3, user_defined in 4..7 */
static inline void bcast__st_header(void *frame, uint32_t fields, uint32_t user)
{
    bcast__st64(frame, (uint64_t)user << 32 | fields);
}

#define A32(p) ((_Atomic uint32_t *)(void *)(p))

/* wait-area words: 32-bit, aligned, little-endian */
static inline uint32_t bcast__ld32(const void *p)
{
    return bcast__le32(atomic_load_explicit(A32(p), ORD_LOAD));
}

static inline void bcast__st32(void *p, uint32_t v)
{
    atomic_store_explicit(A32(p), bcast__le32(v), ORD_STORE);
}

static inline void bcast__add32(void *p, uint32_t v)
{
    uint32_t old = atomic_load_explicit(A32(p), memory_order_relaxed), next;

    do /* little-endian in memory, so no fetch_add on a big-endian CPU */
        next = bcast__le32(bcast__le32(old) + v);
    while (!atomic_compare_exchange_weak_explicit(A32(p), &old, next, memory_order_relaxed,
                                                  memory_order_relaxed));
}

/* full fence: store-load order (only a reader about to sleep without membarrier) */
#define bcast__mb() atomic_thread_fence(memory_order_seq_cst)
/* a sleeper's membarrier runs a full fence on the writer's CPU */
#define bcast__wake_point() ((void)0)

#include "../../protocol.h"
