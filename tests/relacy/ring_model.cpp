/*
 * libbcast memory-model check of the ring protocol.
 *
 * src/protocol.h compiled once more, as C++, over Relacy's C++11 atomics.
 * Every shared word of the channel that the protocol loads (the header
 * words at magic, producer, claimed, ready, lap_count and metadata, and
 * every word of the data ring) is an rl::atomic<uint64_t>, loaded and
 * stored relaxed; bcast__rmb() is an acquire fence and bcast__wmb() a
 * release fence, as in the generic core.  Relacy runs a writer thread and a
 * reader thread under the C++11 memory model: a relaxed load may return an
 * older store wherever coherence and the fences allow it, which is what
 * ARM and POWER may do and x86 never shows.
 *
 * The writer sends messages 1..N of changing sizes on a 64-byte ring (it
 * laps several times, with lap-end padding frames); message s carries
 * user_defined s and payload bytes that encode s.  The reader checks every
 * message it accepts: the right bytes and length, s strictly increasing,
 * and s the one after the last unless the reader was overrun (-ENOBUFS,
 * after which it resets).  One test per call mix users make.
 *
 * The payload copies go word by word through the same atomics: a copy out
 * loads every word that covers the bytes; a copy in stores every word it
 * touches, a partial word with the writer's other bytes of it (the writer
 * is the only thread that stores, so its own view of the channel, kept in
 * channel::mem, is the word's latest value).
 *
 * Readers that sleep (the wait tests): the wait area's words are
 * rl::atomic<uint32_t> too, bcast__mb() is a seq_cst fence, and a
 * sleeper's membarrier is a seq_cst fence in the sleeper together with one
 * in the writer at bcast__wake_point().  The futex is Relacy's parking: a
 * sleeper nobody wakes stays parked, and the writer, which waits for its
 * readers after every few messages, fails the test when one is parked with
 * a message to read (a lost wake-up).  The reader's loop is wait.c's,
 * written out below; the rest is protocol.h's own code
 * (bcast__ring_wait_arm, the writer's wake check, bcast__ring_wake,
 * bcast__ring_wait_attach).
 *
 * Each fence site (a bcast__rmb, bcast__wmb or bcast__mb in protocol.h, and
 * the membarrier, both its halves) can be turned off: --sweep runs the
 * suite once per site with that one fence removed and expects a test to
 * fail for every site but those listed in not_needed[] below, each with
 * the reason.  Only the tests that reach a site run for it.
 *
 *   ring_model                       every test, every fence; exit 1 on a failure
 *   ring_model --scale 50            half the iterations (a percentage)
 *   ring_model --only receive        one test
 *   ring_model --disable next_frame#2  that fence removed (see --list)
 *   ring_model --list                the fence sites the tests reach
 *   ring_model --sweep               the fence-removal table: the first test
 *                                    that fails without each fence
 *   ring_model --sweep-all           every test without each fence (slower)
 *
 * wait_fallback_loses passes when Relacy finds a lost wake-up: a sleeper
 * whose writer takes no membarrier fences alone and can miss a wake-up,
 * which is why wait.c sleeps only short slices there.
 *
 * SPDX-License-Identifier: MIT
 */
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <streambuf>
#include <string>
#include <vector>

#include "../../src/ring.h"

/* the C library's values of the error numbers that relacy.hpp redefines
   as its own (its pthread model's), for the protocol and the checks below */
namespace {
const int sys_EAGAIN = EAGAIN, sys_EBUSY = EBUSY, sys_EINTR = EINTR;
}

/* after every C and C++ header: relacy.hpp defines malloc, free, new and
   delete as macros */
#include <relacy/relacy.hpp>

#undef EAGAIN
#undef EBUSY
#undef EINTR
#undef EWOULDBLOCK
#define EAGAIN sys_EAGAIN
#define EBUSY sys_EBUSY
#define EINTR sys_EINTR
#define EWOULDBLOCK sys_EAGAIN

namespace {

/* ------------------------------------------------------------------ */
/* the channel                                                         */

const uint64_t CAP = 64; /* mtu 24, reserve 8: a lap is two to seven frames */
const size_t CHAN_SIZE = BCAST_HEADER_SIZE + CAP;
const size_t RING_WORDS = CAP / 8;
/* the header words the protocol or a reader's open loads */
const size_t HDR_OFF[] = {BCAST__OFF_MAGIC, BCAST__OFF_PRODUCER, BCAST__OFF_CLAIMED,
                          BCAST__OFF_READY, BCAST__OFF_LAP,      BCAST__OFF_METADATA};
const size_t HDR_WORDS = sizeof HDR_OFF / sizeof HDR_OFF[0];

struct channel {
    uint8_t mem[CHAN_SIZE]; /* the writer's view; the handles point here */
    rl::atomic<uint64_t> hdr[HDR_WORDS];
    rl::atomic<uint64_t> ring[RING_WORDS];
};

/* the channel of the running test (set by its before()) */
channel *g_chan;

[[noreturn]] void harness_bug(const char *what, size_t off)
{
    std::fprintf(stderr, "ring_model: %s (channel offset %zu)\n", what, off);
    std::abort();
}

size_t chan_off(const void *p)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)g_chan->mem;

    if (a < b || a >= b + CHAN_SIZE)
        harness_bug("access outside the channel", (size_t)(a - b));
    return (size_t)(a - b);
}

/* the atomic of the 8-byte word at channel offset off, or NULL for a header
   word no reader loads (only the memset and memcpy of bcast__ring_init
   reach those) */
rl::atomic<uint64_t> *word_at(size_t off)
{
    if (off >= BCAST_HEADER_SIZE)
        return &g_chan->ring[(off - BCAST_HEADER_SIZE) / 8];
    for (size_t i = 0; i < HDR_WORDS; i++)
        if (HDR_OFF[i] == off)
            return &g_chan->hdr[i];
    return NULL;
}

/* store the words covering [off, off + n) from the writer's view */
void publish_words(size_t off, size_t n, rl::debug_info_param info)
{
    for (size_t w = off & ~(size_t)7; w < off + n; w += 8) {
        rl::atomic<uint64_t> *a = word_at(w);
        uint64_t v;

        if (!a)
            continue;
        std::memcpy(&v, g_chan->mem + w, 8);
        a->store(v, rl::mo_relaxed, info);
    }
}

/* the writer: n bytes into the channel, relaxed stores */
void model_write(void *dst, const void *src, size_t n, rl::debug_info_param info)
{
    size_t off = chan_off(dst);

    if (n == 0)
        return;
    if (off + n > CHAN_SIZE)
        harness_bug("store past the channel", off + n);
    std::memcpy(g_chan->mem + off, src, n);
    publish_words(off, n, info);
}

/* a reader: n bytes out of the channel, relaxed loads of the words */
void model_read(void *dst, const void *src, size_t n, rl::debug_info_param info)
{
    size_t off = chan_off(src), end = off + n;
    uint8_t *d = (uint8_t *)dst;

    if (end > CHAN_SIZE)
        harness_bug("load past the channel", end);
    for (size_t w = off & ~(size_t)7; w < end; w += 8) {
        rl::atomic<uint64_t> *a = word_at(w);
        uint64_t v;
        uint8_t bytes[8];
        size_t lo = w > off ? w : off, hi = w + 8 < end ? w + 8 : end;

        if (!a)
            harness_bug("load of a header word the model does not share", w);
        v = a->load(rl::mo_relaxed, info);
        std::memcpy(bytes, &v, 8);
        std::memcpy(d + (lo - off), bytes + (lo - w), hi - lo);
    }
}

uint64_t model_ld64(const void *p, rl::debug_info_param info)
{
    uint64_t v;

    if (chan_off(p) & 7)
        harness_bug("unaligned 64-bit load", chan_off(p));
    model_read(&v, p, 8, info);
    return v;
}

void model_st64(void *p, uint64_t v, rl::debug_info_param info)
{
    if ((chan_off(p) & 7) || !word_at(chan_off(p)))
        harness_bug("64-bit store to a word the model does not share", chan_off(p));
    model_write(p, &v, 8, info);
}

uint8_t model_ld8(const void *p, rl::debug_info_param info)
{
    uint8_t v;

    model_read(&v, p, 1, info);
    return v;
}

void model_st8(void *p, uint8_t v, rl::debug_info_param info)
{
    model_write(p, &v, 1, info);
}

/* bcast__ring_init clears and fills the header with memset and memcpy */
void *model_memset(void *d, int c, size_t n, rl::debug_info_param info)
{
    size_t off = chan_off(d);

    if (off + n > CHAN_SIZE)
        harness_bug("memset past the channel", off + n);
    std::memset(g_chan->mem + off, c, n);
    publish_words(off, n, info);
    return d;
}

void *model_memcpy(void *d, const void *s, size_t n, rl::debug_info_param info)
{
    model_write(d, s, n, info);
    return d;
}

/* ------------------------------------------------------------------ */
/* the fences                                                          */

struct fence_site {
    const char *func;
    int line;
    const char *kind; /* acquire, release, seq_cst, membarrier */
};

fence_site g_sites[64];
size_t g_nsites;
int g_off_line = -1; /* the line of protocol.h whose fence is removed */
/* the sites each test reached (bit i: g_sites[i]), and the running test */
uint64_t g_reached[32];
size_t g_cur_test;

/* the site at line (registered on first use); true while it is in place */
bool site(const char *func, int line, const char *kind)
{
    size_t i;

    for (i = 0; i < g_nsites && g_sites[i].line != line; i++)
        ;
    if (i == g_nsites && g_nsites < sizeof g_sites / sizeof g_sites[0])
        g_sites[g_nsites++] = fence_site{func, line, kind};
    if (i < 64 && g_cur_test < 32)
        g_reached[g_cur_test] |= (uint64_t)1 << i;
    return line != g_off_line;
}

void model_fence(const char *func, int line, rl::memory_order mo, rl::debug_info_param info)
{
    const char *kind = mo == rl::mo_acquire ? "acquire"
                       : mo == rl::mo_release ? "release" : "seq_cst";

    if (site(func, line, kind))
        rl::atomic_thread_fence(mo, info);
}

/* ------------------------------------------------------------------ */
/* the wait area, the membarrier and the futex                         */

/*
 * The wait area's words are rl::atomic<uint32_t>, loaded and stored
 * relaxed (bcast__ld32, bcast__st32; bcast__add32 a relaxed fetch_add), as
 * the generic core does.  need_wake is the one word that several threads
 * store to: readers 1, the writer 0.  Relacy orders two stores to a word
 * by when they run, but C++ (and ARM or POWER) may order a reader's
 * announcement before the writer's clear that ran earlier, unless the clear
 * happens before it: that is what W3 and R4 are for (a reader that saw the
 * seq of a wake-up announces after that wake-up's clear).  So a reader's
 * store of need_wake first loads, relaxed, a word the writer stores right
 * after each clear (the clear's number): an older number says the clear
 * does not happen before this store, and the store is then ordered before
 * it, that is, lost under the clear.  Relacy returns an older value only
 * where the memory model allows it, and picks at random among those.
 */
const size_t AREA_OFF[] = {BCAST__WAIT_OFF_MAGIC,     BCAST__WAIT_OFF_VERSION, BCAST__WAIT_OFF_WRITER,
                           BCAST__WAIT_OFF_PID,       BCAST__WAIT_OFF_NEED_WAKE,
                           BCAST__WAIT_OFF_SEQ,       BCAST__WAIT_OFF_ARMS};
const size_t AREA_WORDS = sizeof AREA_OFF / sizeof AREA_OFF[0];
const size_t AREA_SIZE = BCAST__WAIT_OFF_ARMS + 4;

struct wait_area {
    alignas(128) uint8_t mem[AREA_SIZE]; /* the handles point here; never loaded */
    rl::atomic<uint32_t> word[AREA_WORDS];
    rl::atomic<uint32_t> clears; /* the number of the writer's last clear of need_wake */
};

wait_area *g_area;       /* the running test's, or NULL */
uint32_t g_clears;       /* the writer's clears of need_wake so far */
unsigned long g_dropped; /* announcements ordered before a clear, for the report */
/* the writer's process is registered for membarriers: a sleeper's
   membarrier puts a full fence into it (at bcast__wake_point) */
bool g_writer_membarrier;
int g_membarrier_line = -1; /* the line of the bcast__os_membarrier call */

size_t area_off(const void *p)
{
    uintptr_t a = (uintptr_t)p, b = g_area ? (uintptr_t)g_area->mem : 0;

    if (!g_area || a < b || a >= b + AREA_SIZE)
        harness_bug("access outside the wait area", (size_t)(a - b));
    return (size_t)(a - b);
}

rl::atomic<uint32_t> *area_word(const void *p)
{
    size_t off = area_off(p);

    for (size_t i = 0; i < AREA_WORDS; i++)
        if (AREA_OFF[i] == off)
            return &g_area->word[i];
    harness_bug("a wait-area word the model does not have", off);
}

uint32_t model_ld32(const void *p, rl::debug_info_param info)
{
    uintptr_t a = (uintptr_t)p, b = g_area ? (uintptr_t)g_area->mem : 0;

    if (!g_area || a < b || a >= b + AREA_SIZE) /* a writer's own no_wake word */
        return *(const uint32_t *)p;
    return area_word(p)->load(rl::mo_relaxed, info);
}

void model_st32(void *p, uint32_t v, rl::debug_info_param info)
{
    rl::atomic<uint32_t> *a = area_word(p);

    if (area_off(p) == BCAST__WAIT_OFF_NEED_WAKE) {
        if (v == 0) { /* the writer's clear, then its number */
            a->store(0, rl::mo_relaxed, info);
            g_area->clears.store(++g_clears, rl::mo_relaxed, info);
            return;
        }
        if (g_area->clears.load(rl::mo_relaxed, info) != g_clears) {
            g_dropped++; /* not after the last clear: lost under it */
            return;
        }
    }
    a->store(v, rl::mo_relaxed, info);
}

void model_add32(void *p, uint32_t v, rl::debug_info_param info)
{
    area_word(p)->fetch_add(v, rl::mo_relaxed, info);
}

/*
 * The membarrier (MEMBARRIER_CMD_GLOBAL_EXPEDITED): a full fence in the
 * sleeper, and one in every thread of a registered process, which lands
 * somewhere in the writer's code; the only place where the writer's order
 * matters is between its producer store and its need_wake load, which
 * bcast__wake_point marks.  So: a seq_cst fence here, and one at every
 * wake point of a registered writer.  Both halves are one fence site, at
 * the line of the bcast__os_membarrier call.
 */
bool membarrier_off()
{
    return g_membarrier_line >= 0 && g_off_line == g_membarrier_line;
}

int model_membarrier(const char *func, int line, rl::debug_info_param info)
{
    g_membarrier_line = line;
    if (site(func, line, "membarrier"))
        rl::atomic_thread_fence(rl::mo_seq_cst, info);
    return 0;
}

void model_wake_point(rl::debug_info_param info)
{
    if (g_writer_membarrier && !membarrier_off())
        rl::atomic_thread_fence(rl::mo_seq_cst, info);
}

} // namespace

/* ------------------------------------------------------------------ */
/* the protocol over the model's primitives                            */

#define bcast__ld64(p) model_ld64((p), RL_INFO)
#define bcast__st64(p, v) model_st64((p), (v), RL_INFO)
#define bcast__ld8(p) model_ld8((p), RL_INFO)
#define bcast__st8(p, v) model_st8((p), (v), RL_INFO)
/* the frame header: one 64-bit store, fields in bytes 0..3 (as the generic core) */
#define bcast__st_header(f, fields, user)                                                     \
    model_st64((f), (uint64_t)(user) << 32 | (uint32_t)(fields), RL_INFO)
#define bcast__rmb() model_fence(__func__, __LINE__, rl::mo_acquire, RL_INFO)
#define bcast__wmb() model_fence(__func__, __LINE__, rl::mo_release, RL_INFO)
#define bcast__copy_in(d, s, n) model_write((d), (s), (n), RL_INFO)
#define bcast__copy_in_small(d, s, n) model_write((d), (s), (n), RL_INFO)
#define bcast__copy_in_16_32(d, s, n) model_write((d), (s), (n), RL_INFO)
#define bcast__copy_out(d, s, n) model_read((d), (s), (n), RL_INFO)
#define bcast__copy_out_small(d, s, n) model_read((d), (s), (n), RL_INFO)
#define bcast__copy_out_16_32(d, s, n) model_read((d), (s), (n), RL_INFO)
#define memset(d, c, n) model_memset((d), (c), (n), RL_INFO)
#define memcpy(d, s, n) model_memcpy((d), (s), (n), RL_INFO)
/* the wait area */
#define bcast__ld32(p) model_ld32((p), RL_INFO)
#define bcast__st32(p, v) model_st32((p), (v), RL_INFO)
#define bcast__add32(p, v) model_add32((p), (v), RL_INFO)
#define bcast__mb() model_fence(__func__, __LINE__, rl::mo_seq_cst, RL_INFO)
#define bcast__wake_point() model_wake_point(RL_INFO)
#define bcast__os_membarrier() model_membarrier(__func__, __LINE__, RL_INFO)

#include "../../src/protocol.h"

#undef memset
#undef memcpy

#undef bcast__os_membarrier


namespace {

/*
 * The futex.  A sleeper (futex_wait below, the reader's side that wait.c
 * does) takes a full fence, loads the word and, when it still holds the
 * value the sleeper armed with, parks in Relacy's scheduler, all without a
 * scheduling point between the load and the park; FUTEX_WAKE takes a full
 * fence and unparks every sleeper, which then happens after the wake (the
 * kernel's futex hash-bucket lock and barriers).  The sleep has no timeout:
 * wait.c's one-second safety sleep is what a lost wake-up costs, and here
 * a sleeper that nobody wakes stays parked, which the tests report.
 */
const unsigned MAX_SLEEPERS = 2;

struct sleeper {
    bool parked;
    const bcast_reader *r;
};

sleeper g_sleepers[MAX_SLEEPERS];
unsigned long g_sleeps, g_wakes; /* for the report */

void futex_wait(unsigned who, const bcast_reader *r, uint32_t val)
{
    rl::context &c = rl::ctx();
    rl::atomic<uint32_t> *seq = area_word(r->wait + BCAST__WAIT_OFF_SEQ);

    c.sched();
    rl::atomic_thread_fence(rl::mo_seq_cst, RL_INFO);
    {
        rl::preemption_disabler pd(c);
        if (seq->load(rl::mo_relaxed, RL_INFO) != val)
            return; /* EAGAIN: it moved already */
        g_sleepers[who].parked = true;
        g_sleepers[who].r = r;
        g_sleeps++;
    }
    seq->wait(c, false, false, RL_INFO);
    RL_ASSERT(!g_sleepers[who].parked);
}

} // namespace

void bcast__os_wake(const uint8_t *p)
{
    rl::context &c = rl::ctx();
    rl::atomic<uint32_t> *seq = area_word(p);

    c.sched();
    rl::atomic_thread_fence(rl::mo_seq_cst, RL_INFO);
    g_wakes++;
    for (sleeper &s : g_sleepers)
        s.parked = false;
    seq->wake(c, MAX_SLEEPERS, RL_INFO);
}

namespace {

/* ------------------------------------------------------------------ */
/* the messages                                                        */

/* message s: user_defined s, lens[s % 12] bytes, byte 0 is s.  The sizes
   take both fast receive classes, the general path, and lap padding. */
bool g_small_msgs; /* the wait tests: small messages, 16-byte frames */

size_t msg_len(uint32_t seq)
{
    static const uint8_t lens[] = {20, 3, 24, 9, 16, 11, 24, 7, 17, 1, 22, 13};
    static const uint8_t small[] = {5, 8, 1, 3, 7, 2, 6};

    if (g_small_msgs)
        return small[seq % (sizeof small)];
    return lens[seq % (sizeof lens)];
}

uint8_t msg_byte(uint32_t seq, size_t i)
{
    return i == 0 ? (uint8_t)seq : (uint8_t)(seq * 29u + i * 7u + 1u);
}

/* counts over every iteration of the running test, for the report */
unsigned long g_delivered, g_overruns;

/*
 * Pacing, so that the reader is not overrun all the time on so small a
 * ring: the reader stores its position in a word of its own after each
 * call, and the writer, before each message, looks at it a few times while
 * it is more than half a ring behind.  Relaxed loads and stores only, and
 * the reader has no release fence: pacing makes no happens-before edge
 * that the protocol's fences would otherwise have to make.  NULL: none.
 */
rl::atomic<uint64_t> *g_pace;

void pace(const bcast_writer *w)
{
    for (int i = 0; g_pace && i < 8; i++)
        if (w->position - g_pace->load(rl::mo_relaxed, RL_INFO) <= CAP / 2)
            break;
}

/* the filter test's filter drops these */
bool filtered(uint32_t seq)
{
    return seq % 6 == 5;
}

int keep(uint32_t user_defined, void *ctx)
{
    (void)ctx;
    return !filtered(user_defined);
}

/* the writer: messages 1..n, every fourth through claim + commit; before
   every fifth it claims and aborts (a padding frame) */
void writer_run(bcast_writer *w, uint32_t n)
{
    for (uint32_t seq = 1; seq <= n; seq++) {
        uint8_t buf[32];
        size_t len = msg_len(seq);

        for (size_t i = 0; i < len; i++)
            buf[i] = msg_byte(seq, i);
        pace(w);
        if (seq % 5 == 4) {
            void *p;
            RL_ASSERT(bcast__ring_claim(w, len, 0, 0, &p) == 0);
            RL_ASSERT(bcast__ring_abort(w) == 0);
        }
        if (seq % 4 == 3) {
            void *p;
            RL_ASSERT(bcast__ring_claim(w, len, seq, 0, &p) == 0);
            model_write(p, buf, len, RL_INFO); /* the caller fills its claim */
            RL_ASSERT(bcast__ring_commit(w) == 0);
        } else {
            RL_ASSERT(bcast__ring_send(w, buf, len, seq, 0) == 0);
        }
    }
}

/* what a reader has accepted */
struct rstate {
    uint32_t n;    /* messages sent */
    uint32_t last; /* the last message accepted */
    bool overrun;  /* -ENOBUFS (and a reset) since then, or opened mid-stream */
    bool filter;   /* the reader's filter drops the filtered() ones */
};

/* a message header the reader accepted must be the next one sent: the
   header alone (next, poll) is checked against the frontier already */
void accept_header(rstate &s, uint32_t seq, uint64_t len)
{
    uint32_t want = s.last + 1;

    while (s.filter && filtered(want))
        want++;
    RL_ASSERT(seq >= 1 && seq <= s.n);
    RL_ASSERT(seq > s.last);
    RL_ASSERT(!(s.filter && filtered(seq)));
    if (!s.overrun)
        RL_ASSERT(seq == want); /* nothing lost without an overrun */
    RL_ASSERT(len == msg_len(seq));
    s.last = seq;
    s.overrun = false;
    g_delivered++;
}

/* and its payload exactly the bytes sent */
void accept_payload(uint32_t seq, const uint8_t *p, ssize_t len)
{
    RL_ASSERT(len >= 0 && (size_t)len == msg_len(seq));
    for (ssize_t i = 0; i < len; i++)
        RL_ASSERT(p[i] == msg_byte(seq, (size_t)i));
}

void accept(rstate &s, uint32_t seq, const uint8_t *p, ssize_t len)
{
    RL_ASSERT(len >= 0);
    accept_header(s, seq, (uint64_t)len);
    accept_payload(seq, p, len);
}

/* -ENOBUFS: the reader was overrun and resets to the producer position */
void overrun(rstate &s, bcast_reader *r)
{
    s.overrun = true;
    g_overruns++;
    bcast__ring_reset(r);
}

/* an accepted receive without a message: byte 0 says which one it is */
void accept_bytes(rstate &s, const uint8_t *buf, ssize_t len)
{
    RL_ASSERT(len >= 1);
    accept(s, buf[0], buf, len);
}

/* ------------------------------------------------------------------ */
/* the readers: one per call mix                                       */

enum reader_mode {
    NEXT,         /* next + message_read */
    PENDING_NEXT, /* pending, then next + message_read */
    RECEIVE,      /* receive into a buffer */
    RECEIVE_MSG,  /* receive with a message */
    POLL,         /* poll, the handler calls message_read */
    READ_BULK,    /* read_bulk, then the frames parsed */
    RESET,        /* a slow reader: waits for half a ring, then drains; overruns */
    FILTER,       /* a filter set (general paths): next, receive, receive with a message */
};

/* one next + message_read; -EAGAIN and an overrun return false */
bool read_next(rstate &s, bcast_reader *r)
{
    bcast_message m;
    uint8_t buf[CAP];
    int rc = bcast__ring_next(r, &m);
    ssize_t len;

    if (rc == -EAGAIN)
        return false;
    if (rc == -ENOBUFS) {
        overrun(s, r);
        return false;
    }
    RL_ASSERT(rc == 0);
    accept_header(s, (uint32_t)(m.hdr >> 32), m.hdr & BCAST__LEN_MASK);
    len = bcast__ring_message_read(&m, buf);
    if (len == -ENOBUFS) {
        overrun(s, r);
        return false;
    }
    accept_payload((uint32_t)(m.hdr >> 32), buf, len);
    return true;
}

/* one receive; -EAGAIN returns false */
bool read_receive(rstate &s, bcast_reader *r, bool with_msg)
{
    bcast_message m;
    uint8_t buf[CAP];
    ssize_t len = with_msg ? bcast__ring_receive_msg(r, buf, sizeof buf, &m)
                           : bcast__ring_receive(r, buf, sizeof buf);

    if (len == -EAGAIN)
        return false;
    if (len == -ENOBUFS) {
        overrun(s, r);
        return false;
    }
    RL_ASSERT(len >= 0);
    if (with_msg) {
        RL_ASSERT(m.position + BCAST__FRAME_HDR + (uint64_t)len <= r->position);
        accept(s, (uint32_t)(m.hdr >> 32), buf, len);
    } else {
        accept_bytes(s, buf, len);
    }
    return true;
}

struct poll_ctx {
    rstate *s;
    bool overrun;
};

int poll_handler(const bcast_message *m, void *ctx)
{
    poll_ctx *pc = (poll_ctx *)ctx;
    uint8_t buf[CAP];
    ssize_t len;

    accept_header(*pc->s, (uint32_t)(m->hdr >> 32), m->hdr & BCAST__LEN_MASK);
    len = bcast__ring_message_read(m, buf);
    if (len == -ENOBUFS) {
        pc->overrun = true;
        return 1;
    }
    accept_payload((uint32_t)(m->hdr >> 32), buf, len);
    return 0;
}

void read_poll(rstate &s, bcast_reader *r)
{
    poll_ctx pc = {&s, false};
    int rc = bcast__ring_poll(r, poll_handler, &pc, 4);

    if (pc.overrun || rc == -ENOBUFS) {
        overrun(s, r);
        return;
    }
    RL_ASSERT(rc >= 0);
}

void read_bulk(rstate &s, bcast_reader *r)
{
    uint8_t buf[CAP];
    uint64_t start = 0;
    ssize_t n = bcast__ring_read_bulk(r, buf, sizeof buf, &start);
    ssize_t off = 0;

    if (n == -EAGAIN)
        return;
    if (n == -ENOBUFS) {
        overrun(s, r);
        return;
    }
    RL_ASSERT(n > 0);
    RL_ASSERT(start + (uint64_t)n == r->position);
    while (off < n) {
        uint32_t fields, user, len;

        std::memcpy(&fields, buf + off, 4);
        std::memcpy(&user, buf + off + 4, 4);
        len = fields & BCAST__LEN_MASK;
        RL_ASSERT(off + (ssize_t)bcast__frame_len(len) <= n);
        if (!(fields & BCAST__PAD))
            accept(s, user, buf + off + BCAST__FRAME_HDR, len);
        off += (ssize_t)bcast__frame_len(len);
    }
}

void reader_run(reader_mode mode, rstate &s, bcast_reader *r, unsigned steps)
{
    for (unsigned i = 0; i < steps && s.last < s.n; i++) {
        switch (mode) {
        case NEXT:
            read_next(s, r);
            break;
        case PENDING_NEXT:
            /* pending caches the producer: next reads the frame on its strength */
            if (bcast__ring_pending(r))
                read_next(s, r);
            break;
        case RECEIVE:
            read_receive(s, r, false);
            break;
        case RECEIVE_MSG:
            read_receive(s, r, true);
            break;
        case POLL:
            read_poll(s, r);
            break;
        case READ_BULK:
            read_bulk(s, r);
            break;
        case RESET:
            if (bcast__ring_pending(r) >= CAP / 2)
                while (read_receive(s, r, true))
                    ;
            break;
        case FILTER:
            if (i % 3 == 0)
                read_next(s, r);
            else
                read_receive(s, r, i % 3 == 1);
            break;
        }
        if (g_pace)
            g_pace->store(r->position, rl::mo_relaxed, RL_INFO);
    }
}

/* ------------------------------------------------------------------ */
/* the tests                                                           */

/* every shared word starts at zero, as a new file does */
void chan_zero(channel &ch)
{
    std::memset(ch.mem, 0, sizeof ch.mem);
    for (size_t i = 0; i < HDR_WORDS; i++)
        ch.hdr[i].store(0, rl::mo_relaxed, RL_INFO);
    for (size_t i = 0; i < RING_WORDS; i++)
        ch.ring[i].store(0, rl::mo_relaxed, RL_INFO);
}

/* a writer and a reader of one call mix on a channel that bcast__ring_init
   made before either started */
template <int MODE, unsigned N_MSG>
struct ring_test : rl::test_suite<ring_test<MODE, N_MSG>, 2> {
    channel ch;
    rl::atomic<uint64_t> reader_position; /* pacing; the slow reader has none */
    bcast_writer w;
    bcast_reader r;

    void before()
    {
        g_chan = &ch;
        reader_position.store(0, rl::mo_relaxed, RL_INFO);
        g_pace = MODE == RESET ? NULL : &reader_position;
        chan_zero(ch);
        std::memset(&w, 0, sizeof w);
        bcast__writer_setup(&w, ch.mem, CAP);
        bcast__ring_init(&w, NULL, 0);
        std::memset(&r, 0, sizeof r);
        bcast__reader_setup(&r, ch.mem, CAP, 0);
        if (MODE == FILTER) { /* as bcast_reader_set_filter */
            r.filter = keep;
            r.filter_ctx = NULL;
            bcast__reader_fast_bounds(&r, 0);
        }
    }

    void thread(unsigned idx)
    {
        if (idx == 0) {
            writer_run(&w, N_MSG);
        } else {
            rstate s = {N_MSG, 0, false, MODE == FILTER};
            reader_run((reader_mode)MODE, s, &r, 4 * N_MSG);
        }
    }
};

/*
 * Create racing a reader's open: the writer runs bcast__ring_init on a new
 * (zeroed) channel and sends; the reader opens it the way reader.c does
 * (bcast__header_check: ready, magic and version, producer, claimed), and
 * a reader that saw ready == 1 must see the whole header.  It then reads
 * from the producer position, or from the last lap as
 * bcast_reader_open_last_lap picks it.
 */
const uint64_t META = 0x0123456789abcdefull;

template <bool LAST_LAP>
struct init_test : rl::test_suite<init_test<LAST_LAP>, 2> {
    channel ch;
    bcast_writer w;
    bcast_reader r;

    void before()
    {
        g_chan = &ch;
        g_pace = NULL;
        chan_zero(ch);
        std::memset(&w, 0, sizeof w);
        bcast__writer_setup(&w, ch.mem, CAP);
        std::memset(&r, 0, sizeof r);
    }

    void thread(unsigned idx)
    {
        const uint32_t n = 6;

        if (idx == 0) {
            bcast__ring_init(&w, &META, sizeof META);
            writer_run(&w, n);
            return;
        }
        const uint8_t *base = ch.mem;
        uint64_t magic, start, producer, claimed;
        rstate s = {n, 0, true, false};

        /* not ready: bcast_reader_open says -EAGAIN, and the caller tries again */
        for (int tries = 0; bcast__ring_load_ready(base) != 1; tries++)
            if (tries == 20)
                return;
        magic = model_ld64(base + BCAST__OFF_MAGIC, RL_INFO);
        RL_ASSERT((uint32_t)magic == BCAST__MAGIC_LE);
        RL_ASSERT((uint16_t)(magic >> 32) == BCAST__FORMAT_VERSION);
        RL_ASSERT(model_ld64(base + BCAST__OFF_METADATA, RL_INFO) == META);
        if (LAST_LAP) {
            uint64_t lap = bcast__ring_load_lap(base);
            producer = bcast__ring_load_producer(base);
            claimed = bcast__ring_load_claimed(base);
            start = lap * CAP;
            if (producer - start > CAP || claimed - start > CAP)
                start = producer;
        } else {
            producer = bcast__ring_load_producer(base);
            claimed = bcast__ring_load_claimed(base);
            start = producer;
        }
        RL_ASSERT(((producer | claimed) & 7) == 0);
        bcast__reader_setup(&r, base, CAP, start);
        reader_run(RECEIVE_MSG, s, &r, 3 * n);
    }
};

/* ------------------------------------------------------------------ */
/* readers that sleep                                                  */

/*
 * The writer attaches a wait area (bcast__ring_wait_attach, or the state it
 * leaves) and sends messages 1..n, each third through claim + commit, with
 * pauses; the readers wait the way bcast__wait in src/wait.c does (look,
 * arm, sleep on the futex word until it moves or a wake-up comes, look
 * again) and read everything there is after each wait, every message
 * checked as in the ring tests.  The small messages (16-byte frames) and
 * the pauses keep the readers from being overrun: at most three frames are
 * sent between pauses, and an overrun fails the test.
 *
 * A pause waits (a scheduling point at a time) until every reader has read
 * everything sent, then a few steps more while a reader is awake, so that
 * the next message often finds it asleep.  The writer has finished its
 * wake check of the last message by then, so a reader that is parked with
 * a message to read was not woken and will not be: a lost wake-up, failed
 * at once.  (One that is never woken at the end is Relacy's deadlock.)
 * What the pause looks at, the readers' positions and whether they are
 * parked, is the harness's own knowledge: no memory access of the model,
 * so it orders nothing.
 */
enum wait_kind {
    WAIT_ONE,      /* one reader: receive */
    WAIT_TWO,      /* two readers sleeping on the same channel: receive, next */
    WAIT_ATTACH,   /* the writer attaches while a reader is armed already */
    WAIT_FALLBACK, /* no membarrier: the reader fences alone; a loss is expected */
};

/* the writer's steps that touch nothing of the model: a load of a word of
   its own, only to let the scheduler run the readers */
rl::atomic<uint32_t> *g_tick;

void tick()
{
    (void)g_tick->load(rl::mo_relaxed, RL_INFO);
}

bool reader_asleep_with_work(const bcast_writer *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (g_sleepers[i].parked && g_sleepers[i].r->position != w->position)
            return true;
    return false;
}

void writer_pause(const bcast_writer *w, bcast_reader *const *rs, unsigned n, bool check)
{
    for (;;) {
        bool behind = false;

        for (unsigned i = 0; i < n; i++)
            behind |= rs[i]->position != w->position;
        if (check)
            RL_ASSERT(!reader_asleep_with_work(w, n)); /* a lost wake-up */
        if (!behind)
            break;
        tick();
    }
    for (int k = 0; k < 4; k++) {
        bool awake = false;

        for (unsigned i = 0; i < n; i++)
            awake |= !g_sleepers[i].parked;
        if (!awake)
            break;
        tick();
    }
}

/* message seq: claim + commit for every third, else a send */
void send_one(bcast_writer *w, uint32_t seq)
{
    uint8_t buf[32];
    size_t len = msg_len(seq);

    for (size_t i = 0; i < len; i++)
        buf[i] = msg_byte(seq, i);
    if (seq % 3 == 0) {
        void *p;
        RL_ASSERT(bcast__ring_claim(w, len, seq, 0, &p) == 0);
        model_write(p, buf, len, RL_INFO);
        RL_ASSERT(bcast__ring_commit(w) == 0);
    } else {
        RL_ASSERT(bcast__ring_send(w, buf, len, seq, 0) == 0);
    }
}

/* wait.c's bcast__wait for one reader, its sleeps untimed: returns when
   there is something to read */
void reader_wait(unsigned who, bcast_reader *r, bool fallback)
{
    for (;;) {
        uint32_t seq;
        int rc;

        if (bcast__ring_readable(r))
            return;
        if (!(bcast__ring_wait_flags(r) & BCAST__WAIT_WAKER)) {
            tick(); /* no waking writer yet: polled */
            continue;
        }
        rc = bcast__ring_wait_arm(r, &seq);
        if (rc == 1)
            return;
        RL_ASSERT(rc == (fallback ? 2 : 0));
        futex_wait(who, r, seq);
    }
}

/* wait, then read everything there is, until the last message */
void wait_reader_run(unsigned who, bcast_reader *r, uint32_t n, bool fallback)
{
    rstate s = {n, 0, false, false};

    for (unsigned i = 0; s.last < n; i++) {
        reader_wait(who, r, fallback);
        if (who == 1)
            while (read_next(s, r))
                ;
        else
            while (read_receive(s, r, i % 2 == 1))
                ;
        RL_ASSERT(!s.overrun);
    }
}

template <int KIND>
struct wait_test : rl::test_suite<wait_test<KIND>, KIND == WAIT_TWO ? 3 : 2> {
    static const unsigned READERS = KIND == WAIT_TWO ? 2 : 1;
    static const uint32_t N = KIND == WAIT_ONE ? 6 : KIND == WAIT_TWO ? 4 : 5;
    channel ch;
    wait_area area;
    rl::atomic<uint32_t> ticks;
    bcast_writer w;
    bcast_reader r[READERS];

    void before()
    {
        g_chan = &ch;
        g_area = &area;
        g_pace = NULL;
        g_small_msgs = true;
        g_tick = &ticks;
        g_clears = 0;
        g_writer_membarrier = false;
        std::memset(g_sleepers, 0, sizeof g_sleepers);
        chan_zero(ch);
        ticks.store(0, rl::mo_relaxed, RL_INFO);
        std::memset(area.mem, 0, sizeof area.mem);
        for (size_t i = 0; i < AREA_WORDS; i++)
            area.word[i].store(0, rl::mo_relaxed, RL_INFO);
        area.clears.store(0, rl::mo_relaxed, RL_INFO);
        std::memset(&w, 0, sizeof w);
        bcast__writer_setup(&w, ch.mem, CAP);
        bcast__ring_init(&w, NULL, 0);
        for (unsigned i = 0; i < READERS; i++) {
            std::memset(&r[i], 0, sizeof r[i]);
            bcast__reader_setup(&r[i], ch.mem, CAP, 0);
            r[i].wait = area.mem;
        }
        if (KIND == WAIT_ONE || KIND == WAIT_TWO || KIND == WAIT_ATTACH) {
            /* a waking writer attached before (for WAIT_ATTACH, one that
               has gone): the words bcast__ring_wait_attach stores, seq at
               some value */
            area.word[0].store(BCAST__WAIT_MAGIC_LE, rl::mo_relaxed, RL_INFO);
            area.word[1].store(1, rl::mo_relaxed, RL_INFO);
            area.word[2].store(BCAST__WAIT_WAKER | BCAST__WAIT_MEMBARRIER, rl::mo_relaxed,
                               RL_INFO);
            area.word[5].store(41, rl::mo_relaxed, RL_INFO);
        }
        if (KIND == WAIT_ONE || KIND == WAIT_TWO) { /* this writer is the one attached */
            w.wait = area.mem;
            w.wake_flag = area.mem + BCAST__WAIT_OFF_NEED_WAKE;
            g_writer_membarrier = true;
        }
    }

    void thread(unsigned idx)
    {
        bcast_reader *rs[READERS];
        uint32_t seq = 1;

        if (idx > 0) {
            wait_reader_run(idx - 1, &r[idx - 1], N, KIND == WAIT_FALLBACK);
            return;
        }
        for (unsigned i = 0; i < READERS; i++)
            rs[i] = &r[i];
        if (KIND == WAIT_ATTACH) {
            /* two messages with no wait area, a reader perhaps asleep
               already, then the attach (registered for membarriers first,
               as bcast__wait_attach does) */
            for (; seq <= 2; seq++)
                send_one(&w, seq);
            for (int k = 0; k < 4 && !g_sleepers[0].parked; k++)
                tick();
            g_writer_membarrier = true;
            bcast__ring_wait_attach(&w, area.mem, 1, 1);
        } else if (KIND == WAIT_FALLBACK) {
            bcast__ring_wait_attach(&w, area.mem, 0, 1);
        }
        for (; seq <= N; seq++) {
            if (seq % 2 == 1)
                writer_pause(&w, rs, READERS, true);
            send_one(&w, seq);
        }
        writer_pause(&w, rs, READERS, true);
    }
};

/* ------------------------------------------------------------------ */
/* the driver                                                          */

struct null_buf : std::streambuf {
    int overflow(int c) override { return c; }
};

/* Relacy's report of a failure, kept in a fixed buffer: an ostringstream
   would allocate through Relacy's operator new while a simulation runs and
   free outside it */
struct report_buf : std::streambuf {
    char text[1 << 18];
    size_t len = 0;

    int overflow(int c) override
    {
        if (c != EOF && len < sizeof text - 1)
            text[len++] = (char)c;
        return c;
    }
    void clear() { len = 0; }
    std::string str() const { return std::string(text, len); }
};

struct test_entry {
    const char *name;
    bool (*run)(rl::test_params &);
    unsigned long iterations;
    bool expect_loss = false; /* passes when Relacy finds the lost wake-up */
};

template <typename T>
bool run_one(rl::test_params &p)
{
    return rl::simulate<T>(p);
}

const test_entry TESTS[] = {
    {"next", run_one<ring_test<NEXT, 10>>, 40000},
    {"pending_next", run_one<ring_test<PENDING_NEXT, 10>>, 40000},
    {"receive", run_one<ring_test<RECEIVE, 10>>, 40000},
    {"receive_msg", run_one<ring_test<RECEIVE_MSG, 10>>, 40000},
    {"poll", run_one<ring_test<POLL, 10>>, 40000},
    {"read_bulk", run_one<ring_test<READ_BULK, 10>>, 40000},
    {"reset", run_one<ring_test<RESET, 12>>, 40000},
    {"filter", run_one<ring_test<FILTER, 12>>, 40000},
    {"init_open", run_one<init_test<false>>, 40000},
    {"init_open_last_lap", run_one<init_test<true>>, 40000},
    {"wait_one", run_one<wait_test<WAIT_ONE>>, 40000},
    {"wait_two", run_one<wait_test<WAIT_TWO>>, 40000},
    {"wait_attach", run_one<wait_test<WAIT_ATTACH>>, 40000},
    /* the fallback without membarrier can lose a wake-up (why wait.c sleeps
       only 1 ms slices there): the test expects Relacy to find one */
    {"wait_fallback_loses", run_one<wait_test<WAIT_FALLBACK>>, 20000, true},
};
const size_t N_TESTS = sizeof TESTS / sizeof TESTS[0];

/*
 * Fence sites whose removal no test here can catch, and why (named
 * function#k, the k-th fence of the function in protocol.h).
 */
struct not_needed_entry {
    const char *site;
    const char *why;
};
const not_needed_entry NOT_NEEDED[] = {
    {"bcast__ring_init#1",
     "W0 before the clear orders ready = 0 before the clearing stores; only a reader "
     "that loaded a cleared word and then ready could tell, but readers load ready "
     "first (bcast__header_check) and never again, and the old ready == 1 and the new "
     "one are the same value"},
    {"bcast__ring_wait_arm#3",
     "the full fence of a sleeper without membarrier is half of what the Dekker pair "
     "needs: the writer has no fence on that path, so a wake-up can be lost with this "
     "fence in place (wait_fallback_loses finds one), and wait.c sleeps only 1 ms slices "
     "there; no test that passes reaches it"},
};

struct result {
    bool ok;
    unsigned long iterations; /* run, or until the failure */
    double seconds;
    std::string output;
};

result run_test(const test_entry &t, unsigned scale, bool keep_output)
{
    static null_buf nb;
    static std::ostream null_stream(&nb);
    static report_buf rb;
    static std::ostream out(&rb);
    rl::test_params p;
    result res;
    auto t0 = std::chrono::steady_clock::now();

    p.iteration_count = t.iterations * scale / 100;
    if (p.iteration_count == 0)
        p.iteration_count = 1;
    p.search_type = rl::sched_random;
    p.execution_depth_limit = 20000;
    p.output_stream = keep_output ? (std::ostream *)&out : &null_stream;
    p.progress_stream = &null_stream;
    g_delivered = g_overruns = 0;
    g_sleeps = g_wakes = g_dropped = 0;
    g_cur_test = (size_t)(&t - TESTS);
    g_small_msgs = false; /* the wait tests set these in their before() */
    g_area = NULL;
    g_writer_membarrier = false;
    rb.clear();
    res.ok = t.run(p);
    res.iterations = res.ok ? (unsigned long)p.iteration_count
                            : (unsigned long)p.stop_iteration + 1;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.output = rb.str();
    return res;
}

/* function#k: the k-th fence site of the function, in line order */
std::string site_name(size_t i)
{
    unsigned k = 1, total = 0;

    for (size_t j = 0; j < g_nsites; j++) {
        if (std::strcmp(g_sites[j].func, g_sites[i].func) != 0)
            continue;
        total++;
        if (g_sites[j].line < g_sites[i].line)
            k++;
    }
    return total > 1 ? std::string(g_sites[i].func) + "#" + std::to_string(k) : g_sites[i].func;
}

const char *not_needed_reason(const std::string &name)
{
    for (const not_needed_entry &e : NOT_NEEDED)
        if (name == e.site)
            return e.why;
    return NULL;
}

/* run every test (or one); 0 when all pass */
int run_suite(const char *only, unsigned scale)
{
    int failed = 0;

    for (const test_entry &t : TESTS) {
        if (only && std::strcmp(only, t.name) != 0)
            continue;
        result r = run_test(t, scale, true);
        /* the expected failure must be the lost wake-up: a sleeper with
           something to read (writer_pause), or one never woken (deadlock) */
        bool lost = !r.ok && (r.output.find("reader_asleep_with_work") != std::string::npos ||
                              r.output.find("DEADLOCK") != std::string::npos);
        bool ok = t.expect_loss ? lost : r.ok;

        std::printf("%-20s %s  %lu iterations, %.1f s, %lu messages accepted, %lu overruns",
                    t.name, ok ? "ok  " : "FAIL", r.iterations, r.seconds, g_delivered,
                    g_overruns);
        if (t.expect_loss)
            std::printf(lost ? ", a lost wake-up found, as expected\n"
                             : ", no lost wake-up found: one was expected\n");
        else if (g_sleeps || g_wakes)
            std::printf(", %lu sleeps, %lu wake-ups, %lu announcements lost under a clear\n",
                        g_sleeps, g_wakes, g_dropped);
        else
            std::printf("\n");
        if (!ok) {
            std::fputs(r.output.c_str(), stdout);
            failed = 1;
        }
        std::fflush(stdout);
    }
    return failed;
}

std::vector<size_t> sites_by_line()
{
    std::vector<size_t> order;

    for (size_t i = 0; i < g_nsites; i++)
        order.push_back(i);
    for (size_t i = 1; i < order.size(); i++)
        for (size_t j = i; j > 0 && g_sites[order[j]].line < g_sites[order[j - 1]].line; j--)
            std::swap(order[j], order[j - 1]);
    return order;
}

/* a test that can catch the removal of site i: one that reached it with
   every fence in place, and passes with them (the test that expects a lost
   wake-up fails with them) */
bool sweeps(const test_entry &t, size_t i)
{
    return !t.expect_loss && (g_reached[&t - TESTS] >> i & 1);
}

/* each fence removed in turn, every test: the iterations each took to fail */
int sweep_all(unsigned scale)
{
    int bad = 0;

    if (run_suite(NULL, scale))
        return 1;
    std::printf("\nfence removed, then each test: the iterations it took to fail, or -\n");
    for (size_t i : sites_by_line()) {
        std::string name = site_name(i);
        bool caught = false;

        g_off_line = g_sites[i].line;
        std::printf("%s (%d):", name.c_str(), g_sites[i].line);
        for (const test_entry &t : TESTS) {
            if (!sweeps(t, i))
                continue;
            result r = run_test(t, scale, false);
            if (!r.ok)
                std::printf(" %s %lu", t.name, r.iterations);
            caught |= !r.ok;
        }
        g_off_line = -1;
        std::printf("%s\n", caught ? "" : " none");
        if (caught == (not_needed_reason(name) != NULL))
            bad = 1;
        std::fflush(stdout);
    }
    return bad;
}

/* each fence removed in turn: which test fails, after how many iterations */
int sweep(unsigned scale)
{
    int bad = 0;

    std::printf("baseline, every fence in place:\n");
    if (run_suite(NULL, scale))
        return 1;
    std::printf("\n%-34s %-10s %-20s %s\n", "fence site (protocol.h line)", "fence",
                "caught by", "iterations");
    for (size_t i : sites_by_line()) {
        std::string name = site_name(i);
        const char *why = not_needed_reason(name);
        const char *by = NULL;
        result r = {};

        g_off_line = g_sites[i].line;
        for (const test_entry &t : TESTS) {
            if (!sweeps(t, i))
                continue;
            r = run_test(t, scale, false);
            if (!r.ok) {
                by = t.name;
                break;
            }
        }
        g_off_line = -1;
        std::printf("%-34s %-10s %-20s ", (name + " (" + std::to_string(g_sites[i].line) + ")").c_str(),
                    g_sites[i].kind, by ? by : "-");
        if (by)
            std::printf("%lu (%.2f s)%s\n", r.iterations, r.seconds,
                        why ? "  UNEXPECTED: listed as not needed" : "");
        else
            std::printf("not caught%s\n", why ? ": not needed (see below)" : "  FAIL");
        if (by ? why != NULL : why == NULL)
            bad = 1;
        std::fflush(stdout);
    }
    std::printf("\nnot needed:\n");
    for (const not_needed_entry &e : NOT_NEEDED)
        std::printf("  %s: %s\n", e.site, e.why);
    return bad;
}

int usage()
{
    std::fprintf(stderr, "usage: ring_model [--scale PERCENT] [--only TEST] [--disable SITE] "
                         "[--list | --sweep | --sweep-all]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    unsigned scale = 100;
    const char *only = NULL, *disable = NULL;
    bool list = false, do_sweep = false, do_sweep_all = false;

    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--scale" && i + 1 < argc)
            scale = (unsigned)std::strtoul(argv[++i], NULL, 10);
        else if (a == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (a == "--disable" && i + 1 < argc)
            disable = argv[++i];
        else if (a == "--list")
            list = true;
        else if (a == "--sweep")
            do_sweep = true;
        else if (a == "--sweep-all")
            do_sweep_all = true;
        else
            return usage();
    }
    if (do_sweep)
        return sweep(scale);
    if (do_sweep_all)
        return sweep_all(scale);
    if (list || disable) {
        /* one short pass finds the sites the tests reach */
        for (const test_entry &t : TESTS)
            run_test(t, 1, false);
    }
    if (list) {
        for (size_t i : sites_by_line())
            std::printf("%-32s line %d, %s\n", site_name(i).c_str(), g_sites[i].line,
                        g_sites[i].kind);
        return 0;
    }
    if (disable) {
        for (size_t i = 0; i < g_nsites; i++)
            if (site_name(i) == disable)
                g_off_line = g_sites[i].line;
        if (g_off_line < 0) {
            std::fprintf(stderr, "ring_model: no fence site %s (see --list)\n", disable);
            return 2;
        }
        std::printf("fence %s (protocol.h line %d) removed\n", disable, g_off_line);
    }
    return run_suite(only, scale);
}
