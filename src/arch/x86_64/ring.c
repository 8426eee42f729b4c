/*
 * libbcast ring core for x86-64: the primitives of the ring protocol with
 * each fence spelled out, then the protocol (src/protocol.h) compiled for
 * them.
 *
 * x86-64 is TSO: stores become visible in program order, and loads are not
 * reordered with older loads.  The one reordering the hardware does is a
 * store followed by a load of another location (the store waits in the
 * store buffer), and the ring protocol never needs that order.  So:
 *
 *   bcast__wmb()  store-store fence (W0, W1, W2): stores already leave in
 *                 program order; only the compiler must not move them, so
 *                 it is a compiler barrier.
 *   bcast__rmb()  load-load fence (R1, R2, R3): loads are already done in
 *                 program order (a load that a later one passed is replayed
 *                 by the CPU); a compiler barrier.
 *
 * No mfence, no lfence and no locked instruction on any path.  A shared
 * word is a plain aligned volatile access: an aligned 64-bit load or store
 * is a single access on x86-64, so a reader never sees half of a position.
 * A frame header goes out as two 32-bit stores (user_defined, then fields
 * and length): TSO keeps them in that order, both before the producer store
 * that publishes them, and a lapped reader that sees either half of a later
 * lap's header also sees the frontier that overruns it (W1 came first).
 *
 * Streaming (non-temporal) stores are not ordered by TSO: a caller that
 * fills a claim with them must issue sfence before bcast_writer_commit.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#if !defined(__x86_64__) || defined(__ILP32__)
#error "the x86-64 ring core needs an x86-64 compiler with 64-bit pointers (configure picks the generic core otherwise)"
#endif

#include <errno.h>
#include <string.h>

#include "../../ring.h"
#include "../copy.h"

/* compiler barrier: keeps the compiler from moving memory accesses across */
#define bcast__barrier() __asm__ __volatile__("" ::: "memory")
/* store-store fence: TSO orders stores; only the compiler must not */
#define bcast__wmb() bcast__barrier()
/* load-load fence: TSO orders loads; only the compiler must not */
#define bcast__rmb() bcast__barrier()

/* shared words: x86-64 is little-endian, the format's byte order */
static inline uint64_t bcast__ld64(const void *p)
{
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

static inline void bcast__st64(void *p, uint64_t v)
{
    __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

static inline uint8_t bcast__ld8(const void *p)
{
    return *(const volatile uint8_t *)p;
}

static inline void bcast__st8(void *p, uint8_t v)
{
    *(volatile uint8_t *)p = v;
}

/* the frame header: two 32-bit stores, user_defined first (see above) */
static inline void bcast__st_header(void *frame, uint32_t fields, uint32_t user)
{
    *(volatile uint32_t *)((uint8_t *)frame + 4) = user;
    *(volatile uint32_t *)frame = fields;
}

/* wait-area words: 32-bit, aligned, little-endian like the CPU */
static inline uint32_t bcast__ld32(const void *p)
{
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
}

static inline void bcast__st32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

/* a locked add: only a reader about to sleep takes it */
static inline void bcast__add32(void *p, uint32_t v)
{
    __atomic_fetch_add((uint32_t *)p, v, __ATOMIC_RELAXED);
}

/* full fence: the one reordering TSO does, a store passing a later load,
   takes mfence (only a reader about to sleep without membarrier) */
#define bcast__mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
/* a sleeper's membarrier runs a full fence on the writer's CPU */
#define bcast__wake_point() ((void)0)

#include "../../protocol.h"
