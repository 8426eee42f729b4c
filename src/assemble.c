/*
 * libbcast reassembly: whole messages out of fragment trains
 * (bcast_assembler_new(3)).  Built on the reader API alone (through the
 * hidden aliases of ring.h): it reads frames with bcast_reader_next,
 * bcast_reader_receive or bcast_reader_poll, copies
 * each fragment's payload after the ones before it, and hands a message
 * over only when its last fragment came.  The ring core knows nothing of it.
 *
 * A train is dropped, counted and reported when it breaks: an overrun or
 * a corrupt frame (the reader's own error), a new message before the last
 * fragment (its writer stopped in the middle and another one went on:
 * -EPIPE), the reader moved by a call other than the assembler's (reset,
 * skip, another read: -EPIPE), a message longer than the buffer
 * (-EMSGSIZE).  Fragments with no first fragment (the reader started or
 * was reset in the middle of a train) are dropped and counted quietly.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "ring.h"

/* the first size of a buffer the assembler owns */
#define ASSEMBLE_FIRST_BUF 4096
/* place(): the frame is not for the caller */
#define SKIP (-4096 - 1)

struct bcast_assembler {
    struct bcast_reader *r;
    uint8_t *buf;         /* the message being gathered at its start */
    size_t cap;           /* bytes of buf */
    size_t max;           /* the longest message: cap for a caller's buffer */
    size_t have;          /* bytes gathered of the open train */
    int owned;            /* buf is ours and grows up to max */
    int flags;            /* BCAST_ASSEMBLE_* */
    int open;             /* a first fragment was taken, not yet the last */
    int skipping;         /* the rest of a dropped train is being skipped */
    uint32_t user;        /* the first fragment's user_defined */
    uint64_t first;       /* the first fragment's position */
    uint64_t expect;      /* the reader's position after the last frame taken */
    uint64_t dropped;     /* trains dropped */
    int pending;          /* an error to report at the next call */
    int ready;            /* a whole message waits in ready_msg (after pending) */
    struct bcast_message ready_msg;
};

BCAST_EXPORT int bcast_assembler_new(struct bcast_reader *r, void *buf, size_t cap, int flags,
                                     struct bcast_assembler **out)
{
    struct bcast_assembler *a;

    if (!r || !out || (flags & ~BCAST_ASSEMBLE_HEARTBEATS) || (!buf && cap == 0))
        return -EINVAL;
    if (!(a = calloc(1, sizeof *a)))
        return -ENOMEM;
    a->r = r;
    a->flags = flags;
    a->max = cap < BCAST__LEN_MASK ? cap : BCAST__LEN_MASK;
    if (buf) {
        a->buf = buf;
        a->cap = cap;
    } else {
        a->owned = 1;
        a->cap = a->max < ASSEMBLE_FIRST_BUF ? a->max : ASSEMBLE_FIRST_BUF;
        if (!(a->buf = malloc(a->cap))) {
            free(a);
            return -ENOMEM;
        }
    }
    a->expect = r->position;
    *out = a;
    return 0;
}

BCAST_EXPORT void bcast_assembler_free(struct bcast_assembler *a)
{
    if (!a)
        return;
    if (a->owned)
        free(a->buf);
    free(a);
}

BCAST_EXPORT uint64_t bcast_assembler_dropped(const struct bcast_assembler *a)
{
    return a ? a->dropped : 0;
}

/* the open train is lost: counted once, and the rest of it skipped */
static void drop(struct bcast_assembler *a)
{
    if (a->open) {
        a->dropped++;
        a->skipping = 1;
    }
    a->open = 0;
    a->have = 0;
}

/* room for need bytes at the start of buf: 0, or -ENOMEM */
static int grow(struct bcast_assembler *a, size_t need)
{
    size_t cap;
    uint8_t *b;

    if (need <= a->cap)
        return 0;
    if (!a->owned || need > a->max)
        return -ENOMEM; /* place() keeps every message within max */
    cap = a->cap > a->max / 2 ? a->max : a->cap * 2;
    if (cap < need)
        cap = need;
    if (!(b = realloc(a->buf, cap)))
        return -ENOMEM;
    a->buf = b;
    a->cap = cap;
    return 0;
}

/*
 * What the frame m does to the train, before its payload is copied: the
 * offset in buf its payload goes to, SKIP, or -EMSGSIZE (the frame is
 * dropped).  A new message that finds a train open ends it (-EPIPE,
 * pending) and starts at offset 0.
 */
static int64_t place(struct bcast_assembler *a, const struct bcast_message *m)
{
    int f = bcast__msg_flags((uint32_t)m->hdr);
    size_t n = bcast__msg_len(m);

    if (f & BCAST_HEARTBEAT) {
        if (!(a->flags & BCAST_ASSEMBLE_HEARTBEATS))
            return SKIP;
        /* after the fragments gathered, which stay as they are */
        return n > a->max - a->have ? -EMSGSIZE : (int64_t)a->have;
    }
    if (!(f & BCAST_CONTINUATION)) { /* a message starts */
        if (a->open) {
            drop(a);
            if (!a->pending)
                a->pending = -EPIPE;
        }
        a->skipping = 0;
        if (n > a->max) {
            a->dropped++;
            a->skipping = (f & BCAST_MORE) != 0;
            return -EMSGSIZE;
        }
        a->open = 1;
        a->have = 0;
        a->user = (uint32_t)(m->hdr >> 32);
        a->first = m->position;
        return 0;
    }
    if (!a->open) {
        /* no first fragment: counted once per train */
        if (!a->skipping)
            a->dropped++;
        a->skipping = (f & BCAST_MORE) != 0;
        return SKIP;
    }
    if (n > a->max - a->have) {
        drop(a);
        a->skipping = (f & BCAST_MORE) != 0;
        return -EMSGSIZE;
    }
    return (int64_t)a->have;
}

/* a whole message, or a heartbeat, at buf + off, n bytes */
static void fill(struct bcast_message *out, const uint8_t *payload, size_t n, uint32_t fields,
                 uint32_t user, uint64_t position)
{
    out->reader = NULL;
    out->payload = payload;
    out->position = position;
    out->hdr = (uint64_t)(BCAST__FIN | fields | (uint32_t)n) | (uint64_t)user << 32;
}

/* the payload of the frame m is at buf + off, n bytes: 1 with *out filled
   when a message is whole (or a heartbeat to hand over), else 0 */
static int settle(struct bcast_assembler *a, const struct bcast_message *m, int64_t off,
                  size_t n, struct bcast_message *out)
{
    uint32_t fields = (uint32_t)m->hdr;

    if (fields & BCAST__HB) {
        fill(out, a->buf + off, n, BCAST__HB, (uint32_t)(m->hdr >> 32), m->position);
        return 1;
    }
    a->have += n;
    if (!(fields & BCAST__FIN))
        return 0;
    fill(out, a->buf, a->have, 0, a->user, a->first);
    a->open = 0;
    a->have = 0;
    return 1;
}

/* take the frame m, read by next or poll (lazy): 1, 0 or -errno as settle */
static int take_lazy(struct bcast_assembler *a, const struct bcast_message *m,
                     struct bcast_message *out)
{
    int64_t off = place(a, m);
    size_t n = bcast__msg_len(m);
    ssize_t got;

    if (off == SKIP)
        return 0;
    if (off < 0)
        return (int)off;
    if (grow(a, (size_t)off + n) < 0) { /* the frame is gone: its train too */
        if (!(m->hdr & BCAST__HB)) {
            drop(a);
            a->skipping = !(m->hdr & BCAST__FIN);
        }
        return -ENOMEM;
    }
    got = bcast__message_read(m, a->buf + off, a->cap - (size_t)off);
    if (got < 0) {
        drop(a);
        return (int)got;
    }
    return settle(a, m, off, (size_t)got, out);
}

/*
 * The start of every call: a train open when the reader was moved by
 * another call is lost (-EPIPE); then an error held back, then a message
 * held back behind it.  Returns 0 to go on reading, 1 with *out filled,
 * or -errno.
 */
static int begin(struct bcast_assembler *a, struct bcast_message *out)
{
    int e;

    if (a->open && a->r->position != a->expect) {
        drop(a);
        return -EPIPE;
    }
    if ((e = a->pending)) {
        a->pending = 0;
        return e;
    }
    if (a->ready) {
        a->ready = 0;
        *out = a->ready_msg;
        return 1;
    }
    return 0;
}

/* after a frame was taken (rc as settle): a held-back error comes first,
   and a whole message behind it waits */
static int end(struct bcast_assembler *a, int rc, struct bcast_message *out)
{
    a->expect = a->r->position;
    if (rc < 0 && rc != -EAGAIN && rc != -EMSGSIZE && rc != -ENOMEM)
        drop(a); /* an overrun or a corrupt frame */
    if (rc >= 0 && a->pending) {
        if (rc == 1) {
            a->ready = 1;
            a->ready_msg = *out;
        }
        rc = a->pending;
        a->pending = 0;
    }
    return rc;
}

BCAST_EXPORT int bcast_assembler_next(struct bcast_assembler *a, struct bcast_message *msg)
{
    int rc;

    if (!a || !msg)
        return -EINVAL;
    if ((rc = begin(a, msg)))
        return rc < 0 ? rc : 0;
    do {
        struct bcast_message m;

        if ((rc = bcast__reader_next(a->r, &m)) < 0)
            break;
        rc = take_lazy(a, &m, msg);
    } while (rc == 0 && !a->pending);
    rc = end(a, rc, msg);
    return rc < 0 ? rc : 0;
}

/* the receive of one frame into buf at the end of the train: 1, 0 or
   -errno as settle */
static int receive_one(struct bcast_assembler *a, struct bcast_message *out)
{
    struct bcast_message m;
    ssize_t n = bcast__reader_receive(a->r, a->buf + a->have, a->cap - a->have, &m);
    size_t at;
    int64_t off;

    if (n == -ERANGE) {
        /* longer than the room left: the frame stays, m names it */
        off = place(a, &m);
        if (off == SKIP || off < 0) {
            int rc = bcast__reader_skip(a->r);
            return rc < 0 ? rc : off == SKIP ? 0 : (int)off;
        }
        if (grow(a, (size_t)off + bcast__msg_len(&m)) < 0) {
            /* the frame stays, to be read again; its train is dropped, and
               the rest of it skipped when it is not the first fragment */
            if (!(m.hdr & BCAST__HB)) {
                drop(a);
                a->skipping = (m.hdr & BCAST__CONT) != 0;
            }
            return -ENOMEM;
        }
        n = bcast__reader_receive(a->r, a->buf + off, a->cap - (size_t)off, &m);
        if (n < 0)
            return n == -ERANGE ? -EBADMSG : (int)n; /* the same frame, longer now: corrupt */
        return settle(a, &m, off, (size_t)n, out);
    }
    if (n < 0)
        return (int)n;
    at = a->have;
    off = place(a, &m);
    if (off == SKIP)
        return 0;
    if (off < 0)
        return (int)off;
    if ((size_t)off != at) /* a new message after a cut train: to the start */
        memmove(a->buf + off, a->buf + at, (size_t)n);
    return settle(a, &m, off, (size_t)n, out);
}

BCAST_EXPORT ssize_t bcast_assembler_receive(struct bcast_assembler *a, struct bcast_message *msg)
{
    int rc;

    if (!a || !msg)
        return -EINVAL;
    if ((rc = begin(a, msg)))
        return rc < 0 ? rc : (ssize_t)bcast__msg_len(msg);
    do
        rc = receive_one(a, msg);
    while (rc == 0 && !a->pending);
    rc = end(a, rc, msg);
    return rc < 0 ? rc : (ssize_t)bcast__msg_len(msg);
}

struct poll_state {
    struct bcast_assembler *a;
    bcast_handler fn;
    void *ctx;
    size_t limit;
    size_t n;  /* messages handed over */
    int stop;  /* the handler asked to stop */
};

/* hand a message over; 1 to stop the poll */
static int hand_over(struct poll_state *ps, const struct bcast_message *out)
{
    struct bcast_assembler *a = ps->a;
    uint64_t pos = a->r->position;

    ps->n++;
    ps->stop = ps->fn(out, ps->ctx) != 0;
    if (a->r->position != pos) { /* the handler moved the reader */
        if (a->open) {
            drop(a);
            a->pending = -EPIPE;
        }
        a->expect = a->r->position;
        return 1;
    }
    return ps->stop || ps->n >= ps->limit;
}

static int poll_frame(const struct bcast_message *m, void *ctx)
{
    struct poll_state *ps = ctx;
    struct bcast_assembler *a = ps->a;
    struct bcast_message out;
    int rc = take_lazy(a, m, &out);

    a->expect = a->r->position;
    if (rc < 0) {
        if (!a->pending)
            a->pending = rc;
        return 1;
    }
    if (a->pending) { /* a train was cut: reported before this message */
        if (rc == 1) {
            a->ready = 1;
            a->ready_msg = out;
        }
        return 1;
    }
    return rc == 1 ? hand_over(ps, &out) : 0;
}

BCAST_EXPORT int bcast_assembler_poll(struct bcast_assembler *a, bcast_handler fn, void *ctx,
                                      size_t limit)
{
    struct poll_state ps = {a, fn, ctx, bcast__poll_limit(limit), 0, 0};
    struct bcast_message out;
    int rc;

    if (!a || !fn)
        return -EINVAL;
    if (ps.limit == 0)
        return 0;
    if ((rc = begin(a, &out)) < 0)
        return rc;
    if (rc == 1 && hand_over(&ps, &out))
        return (int)ps.n;
    rc = bcast__reader_poll(a->r, poll_frame, &ps, INT_MAX);
    a->expect = a->r->position;
    if (ps.n)
        return (int)ps.n;
    if (a->pending) {
        rc = a->pending;
        a->pending = 0;
        return rc;
    }
    if (rc < 0) {
        if (rc != -EAGAIN)
            drop(a);
        return rc;
    }
    return -EAGAIN; /* only fragments and skipped frames were there */
}
