/*
 * libbcast readers that sleep: what the sleep/wake protocol of
 * src/protocol.h needs from the OS (futex, membarrier, clocks), and the
 * waiting loop of bcast_reader_wait() and bcast_wait_any().
 *
 * A waiting reader looks, spins for its spin budget, then sleeps on the
 * futex word of its channel's wait area after announcing itself
 * (bcast__ring_wait_arm).  The writer wakes it on its next publish with
 * one FUTEX_WAKE per sleep episode.  A reader whose writer does not wake
 * (no wait area, a writer that does not know it, as the Rust crate's, or a
 * writer whose process cannot take membarriers) polls instead, sleeping in
 * slices that double from 50 us to 1 ms.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

#define NS 1000000000LL
#define SLICE_MIN_NS 50000LL    /* polling: the first sleep */
#define SLICE_MAX_NS 1000000LL  /* polling: the longest sleep */
#define SAFETY_NS NS            /* a futex sleep never lasts longer than this */
#define WAITV_MAX 128           /* FUTEX_WAITV_MAX */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / NS), (long)(ns % NS)};
    return ts;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

int bcast__os_membarrier(void)
{
#ifdef SYS_membarrier
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0)
        return 0;
    return -errno;
#else
    return -ENOSYS;
#endif
}

void bcast__os_wake(const uint8_t *p)
{
    syscall(SYS_futex, p, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* the writer's process takes global expedited membarriers from its sleepers */
static int membarrier_register(void)
{
#ifdef SYS_membarrier
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
#else
    return 0;
#endif
}

void bcast__wait_attach(struct bcast_writer *w, uint8_t *area)
{
    bcast__ring_wait_attach(w, area, membarrier_register(), (uint32_t)getpid());
}

/* the reader's wait area: the caller's, or a file reader's <path>.wait,
   looked for again at most once a second while there is none (a writer
   may make it later: one that starts after the reader, or a waking writer
   after one that does not know it) */
static uint8_t *wait_area(struct bcast_reader *r)
{
    if (!r->wait && r->mapping && r->wait_look_ns != INT64_MAX) {
        int64_t now = now_ns();

        if (now >= r->wait_look_ns) {
            r->wait = bcast__mapping_wait(r->mapping);
            r->wait_look_ns = now + NS;
        }
    }
    return r->wait;
}

/* the first of n readers with something to read, or -1 */
static int ready_one(struct bcast_reader *const *rs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bcast__ring_readable(rs[i]))
            return (int)i;
    return -1;
}

/* futex sleep on the words of n armed readers (seq: their values), at most
   ns; 0, or -EINTR */
static int sleep_armed(struct bcast_reader *const *rs, const uint32_t *seq, const int *armed,
                       size_t n, int64_t ns)
{
    struct timespec ts = ts_of(ns);
    size_t k = 0, one = 0;
    long rc;

    for (size_t i = 0; i < n; i++)
        if (armed[i])
            k++, one = i;
    if (k == 1) {
        /* the word in memory is little-endian: compare it as it is */
        rc = syscall(SYS_futex, rs[one]->wait + BCAST__WAIT_OFF_SEQ, FUTEX_WAIT,
                     bcast__le32(seq[one]), &ts, NULL, 0);
    } else {
#ifdef SYS_futex_waitv
        struct futex_waitv v[WAITV_MAX];
        struct timespec abs = ts_of(now_ns() + ns);

        k = 0;
        for (size_t i = 0; i < n && k < WAITV_MAX; i++)
            if (armed[i]) {
                v[k].val = bcast__le32(seq[i]);
                v[k].uaddr = (uintptr_t)(rs[i]->wait + BCAST__WAIT_OFF_SEQ);
                v[k].flags = FUTEX_32;
                v[k].__reserved = 0;
                k++;
            }
        rc = syscall(SYS_futex_waitv, v, k, 0, &abs, CLOCK_MONOTONIC);
        if (rc < 0 && errno == ENOSYS) /* before Linux 5.16: a short sleep */
#endif
        {
            struct timespec slice = ts_of(ns < SLICE_MAX_NS ? ns : SLICE_MAX_NS);
            rc = nanosleep(&slice, NULL);
        }
    }
    return rc < 0 && errno == EINTR ? -EINTR : 0;
}

int bcast__wait(struct bcast_reader *const *rs, size_t n, int64_t timeout_ns)
{
    uint32_t seq[WAITV_MAX];
    int armed[WAITV_MAX];
    int64_t start = now_ns(), deadline = INT64_MAX, spin_end, slice = SLICE_MIN_NS;
    uint64_t spin = UINT64_MAX;
    int i;

    if (timeout_ns >= 0 && timeout_ns < INT64_MAX - start)
        deadline = start + timeout_ns;
    if ((i = ready_one(rs, n)) >= 0)
        return i;
    for (size_t k = 0; k < n; k++)
        if (rs[k]->spin_ns < spin)
            spin = rs[k]->spin_ns;
    spin_end = spin < (uint64_t)(deadline - start) ? start + (int64_t)spin : deadline;
    for (unsigned iter = 1; spin; iter++) {
        if ((i = ready_one(rs, n)) >= 0)
            return i;
        cpu_relax();
        if (!(iter & 63) && now_ns() >= spin_end)
            break;
    }
    for (;;) {
        int64_t left = deadline - now_ns(), ns;
        int sliced = 0, any = 0, rc;

        if (left <= 0)
            return -ETIMEDOUT;
        for (size_t k = 0; k < n; k++) {
            armed[k] = 0;
            if (wait_area(rs[k]) && (bcast__ring_wait_flags(rs[k]) & BCAST__WAIT_WAKER)) {
                rc = bcast__ring_wait_arm(rs[k], &seq[k]);
                if (rc == 1)
                    return (int)k;
                armed[k] = any = 1;
                sliced |= rc == 2;
            } else {
                sliced = 1; /* this one is polled */
            }
        }
        ns = sliced ? slice : SAFETY_NS;
        if (ns > left)
            ns = left;
        if (any) {
            rc = sleep_armed(rs, seq, armed, n, ns);
        } else {
            struct timespec ts = ts_of(ns);
            rc = nanosleep(&ts, NULL) < 0 && errno == EINTR ? -EINTR : 0;
        }
        if ((i = ready_one(rs, n)) >= 0)
            return i;
        if (rc < 0)
            return rc;
        if (sliced && slice < SLICE_MAX_NS)
            slice *= 2;
    }
}

BCAST_EXPORT int bcast_wait_any(struct bcast_reader *const *readers, size_t n,
                                int64_t timeout_ns)
{
    if (!readers || n == 0 || n > WAITV_MAX)
        return -EINVAL;
    for (size_t k = 0; k < n; k++)
        if (!readers[k])
            return -EINVAL;
    return bcast__wait(readers, n, timeout_ns);
}
