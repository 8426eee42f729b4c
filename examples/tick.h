/*
 * The message examples/pub.c sends and examples/sub.c receives.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_EXAMPLE_TICK_H
#define BCAST_EXAMPLE_TICK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* user_defined of a message: what it is */
#define TICK_DATA 1u /* a tick */
#define TICK_END 2u  /* the publisher is done; seq = ticks sent */

struct tick {
    uint64_t seq;
    uint64_t sent_ns; /* CLOCK_MONOTONIC, the same clock in every process */
    char text[48];
};

static inline uint64_t tick_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void tick_make(struct tick *t, uint64_t seq)
{
    memset(t, 0, sizeof *t);
    t->seq = seq;
    snprintf(t->text, sizeof t->text, "tick %llu", (unsigned long long)seq);
    t->sent_ns = tick_now_ns(); /* last, right before the send */
}

/* bytes of t worth sending: the text without the unused tail */
static inline size_t tick_len(const struct tick *t)
{
    return offsetof(struct tick, text) + strlen(t->text);
}

#endif
