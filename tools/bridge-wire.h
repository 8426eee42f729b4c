/*
 * The bcast-bridge wire format: one ZeroMQ message per frame of the source
 * channel, a 56-byte header followed by the frame's payload.  All numbers
 * are little-endian; bcast-bridge(1) documents the layout.
 *
 *   0  u8   kind: 'D' a frame of the source channel, 'B' a bridge beat
 *   1  u32  user_defined of the frame (0 in a beat)
 *   5  u8   magic 0xB7
 *   6  u8   version (1)
 *   7  u8   flags: BCAST_MORE, BCAST_CONTINUATION, BCAST_HEARTBEAT as the
 *           source frame had them; BRIDGE_FINAL in the beat of a publisher
 *           that stops
 *   8  u64  epoch: a random number drawn by each publisher when it starts
 *  16  u64  seq: frames this publisher sent before this one (in a beat:
 *           all the frames it sent)
 *  24  u64  value_seq: frames with the same user_defined sent before
 *           this one (0 in a beat)
 *  32  u64  source position of the frame (in a beat: the publisher's reader)
 *  40  u64  source bytes lost so far: overruns of the publisher's reader
 *  48  u64  source overruns so far
 *
 * The first five bytes are the ZeroMQ topic: a subscriber that wants only
 * user_defined N subscribes to 'D' + N, and to 'B' for the beats.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_BRIDGE_WIRE_H
#define BCAST_BRIDGE_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BRIDGE_HEADER_SIZE 56
#define BRIDGE_TOPIC_SIZE 5
#define BRIDGE_MAGIC 0xB7
#define BRIDGE_VERSION 1
#define BRIDGE_KIND_DATA 'D'
#define BRIDGE_KIND_BEAT 'B'
/* the source frame flags that cross the bridge */
#define BRIDGE_FRAME_FLAGS 0x7
/* a beat sent by a publisher that stops: nothing follows from its epoch */
#define BRIDGE_FINAL 0x80

/* the subscriber's gap notices in its local channel (bcast-bridge(1)) */
#define BRIDGE_GAP_USER_DEFINED 0xFFFFFFFFu
#define BRIDGE_GAP_SIZE 40
#define BRIDGE_GAP_MAGIC "BCASTGAP"
#define BRIDGE_GAP_LOST 1      /* frames sent by the publisher that did not arrive */
#define BRIDGE_GAP_OVERRUN 2   /* the publisher's reader was overrun */
#define BRIDGE_GAP_RESTART 4   /* a new publisher (epoch) */

struct bridge_header {
    uint8_t kind;
    uint8_t flags;
    uint32_t user_defined;
    uint64_t epoch;
    uint64_t seq;
    uint64_t value_seq;
    uint64_t position;
    uint64_t lost_bytes;
    uint64_t overruns;
};

static inline void bridge_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t bridge_get64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline void bridge_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t bridge_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void bridge_topic(unsigned char *p, uint32_t user_defined)
{
    p[0] = BRIDGE_KIND_DATA;
    bridge_put32(p + 1, user_defined);
}

static inline void bridge_encode(unsigned char *p, const struct bridge_header *h)
{
    p[0] = h->kind;
    bridge_put32(p + 1, h->user_defined);
    p[5] = BRIDGE_MAGIC;
    p[6] = BRIDGE_VERSION;
    p[7] = h->flags;
    bridge_put64(p + 8, h->epoch);
    bridge_put64(p + 16, h->seq);
    bridge_put64(p + 24, h->value_seq);
    bridge_put64(p + 32, h->position);
    bridge_put64(p + 40, h->lost_bytes);
    bridge_put64(p + 48, h->overruns);
}

/* 0, or -EPROTO (not a bridge message), -EPROTONOSUPPORT (another version) */
static inline int bridge_decode(const unsigned char *p, size_t len, struct bridge_header *h)
{
    if (len < BRIDGE_HEADER_SIZE || p[5] != BRIDGE_MAGIC ||
        (p[0] != BRIDGE_KIND_DATA && p[0] != BRIDGE_KIND_BEAT))
        return -EPROTO;
    if (p[6] != BRIDGE_VERSION)
        return -EPROTONOSUPPORT;
    h->kind = p[0];
    h->user_defined = bridge_get32(p + 1);
    h->flags = p[7];
    h->epoch = bridge_get64(p + 8);
    h->seq = bridge_get64(p + 16);
    h->value_seq = bridge_get64(p + 24);
    h->position = bridge_get64(p + 32);
    h->lost_bytes = bridge_get64(p + 40);
    h->overruns = bridge_get64(p + 48);
    if (h->kind == BRIDGE_KIND_DATA && (h->flags & ~BRIDGE_FRAME_FLAGS))
        return -EPROTO;
    return 0;
}

#endif /* BCAST_BRIDGE_WIRE_H */
