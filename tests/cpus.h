/*
 * Which CPU a test thread or process runs on, for the suites that run a
 * writer and readers side by side (check_concurrency, check_stress): the
 * writer on the first CPU this process may use, the readers on the second.
 * Include after _GNU_SOURCE (cpu_set_t, sched_setaffinity).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_CPUS_H
#define BCAST_CPUS_H

#if !defined(_GNU_SOURCE)
#error "define _GNU_SOURCE before including cpus.h (cpu_set_t)"
#endif

#include <sched.h>

/* the nth CPU (from 0) this process may run on; the last one when there
   are fewer, -1 when the affinity cannot be read */
static inline int cpu_nth(int n)
{
    cpu_set_t set;
    int i, seen = 0, last = -1;

    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return -1;
    for (i = 0; i < CPU_SETSIZE; i++) {
        if (!CPU_ISSET(i, &set))
            continue;
        if (seen++ == n)
            return i;
        last = i;
    }
    return last;
}

/* run the calling thread on cpu only, as far as the system lets it; cpu < 0
   leaves it where it may run */
static inline void pin_to(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set); /* best effort */
}

#endif /* BCAST_CPUS_H */
