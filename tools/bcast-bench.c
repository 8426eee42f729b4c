/*
 * bcast-bench: libbcast benchmarks, in the shapes of doc/BENCHMARKS.
 *
 *   bcast-bench rtt        [--shm] [--cpus A,B] [--json]
 *   bcast-bench throughput [--readers N] [--api next|poll|bulk] [--size B]
 *                          [--messages N] [--dir DIR] [--cpus W,R1,R2...] [--json]
 *   bcast-bench ops        [--mode write|write+read|write+read-msg|write+next]
 *                          [--iterations N] [--json]
 *   bcast-bench wake       [--round-trips N] [--blocks N] [--idle-seconds S]
 *                          [--readers N] [--messages N] [--size B] [--spin NS]
 *                          [--dir DIR] [--cpus A,B,...] [--json]
 *
 * Only the public API of libbcast is used.  Times come from
 * clock_gettime(CLOCK_MONOTONIC); percentiles from the full sample array.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <bcast.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64
#define EXIT_USAGE 1
#define EXIT_RUNTIME 2

struct opts {
    int cpus[MAX_CPUS];
    int ncpus;
    int json;
    int shm;
    int readers;
    const char *api;
    size_t size;
    uint64_t messages;
    uint64_t iterations;
    const char *mode;
    const char *dir;
    int blocks;
    int harness;
    uint64_t idle_pause;
    int messages_set;      /* --messages given (wake's default is 1000000) */
    uint64_t round_trips;  /* wake: measured round trips of each kind */
    double idle_seconds;   /* wake: how long the idle reader waits */
    uint64_t spin_ns;      /* wake: --spin for the idle and fan-out readers */
    int spin_set;
    int wake_readers;      /* wake: readers of the fan-out (4) */
};

static struct opts o = {
    .readers = 1, .api = "poll", .size = 73, .messages = 10000000,
    .iterations = 1000000, .mode = "write+read", .dir = "/dev/shm", .blocks = 11,
    .idle_pause = 1, .round_trips = 20000, .idle_seconds = 10, .wake_readers = 4,
};

static void die(const char *what, int rc)
{
    fprintf(stderr, "bcast-bench: %s: %s\n", what, bcast_strerror(rc));
    exit(EXIT_RUNTIME);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int ncpus_online(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* CPU for role i: from --cpus, else i modulo the online CPUs (writer on 0) */
static int cpu_for(int i)
{
    if (o.ncpus)
        return o.cpus[i < o.ncpus ? i : o.ncpus - 1];
    if (i == 0)
        return 0;
    return ncpus_online() > 1 ? 1 + (i - 1) % (ncpus_online() - 1) : 0;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        fprintf(stderr, "bcast-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

static void *alloc_channel(size_t capacity, size_t *size)
{
    void *mem;
    *size = bcast_channel_size(capacity);
    mem = aligned_alloc(BCAST_ALIGNMENT, *size);
    if (!mem)
        die("aligned_alloc", -ENOMEM);
    memset(mem, 0, *size);
    return mem;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *sorted, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* ------------------------------------------------------------------ */
/* rtt                                                                 */

#define RTT_WARMUP 100000
#define RTT_MEASURED 1000000
#define LINE 128

/* the raw floor: one 64-bit word per direction, each on its own line */
struct pingpong {
    _Alignas(LINE) _Atomic uint64_t ping;
    _Alignas(LINE) _Atomic uint64_t pong;
};

struct rtt_side {
    struct pingpong *pp;
    /* --shm: the same lines in a /dev/shm file, written through pp_rw and
       read through pp_ro, a read-only mapping as a library reader has */
    struct pingpong *pp_rw, *pp_ro;
    void *mem_a, *mem_b; /* heap channels (threads) */
    size_t size;
    const char *path_a, *path_b; /* files (--shm) */
    uint64_t per_block;
};

/* block k of the schedule measures kind k % rtt_kinds(): 0 the floor,
   1 the library, 2 (--shm) the floor read through read-only mappings */
static int rtt_kinds(void)
{
    return o.shm ? 3 : 2;
}

/* the lines a floor block of kind 0 or 2 reads (rd) and writes (wr) */
static struct pingpong *rtt_floor_lines(const struct rtt_side *s, int kind,
                                        const struct pingpong **rd)
{
    *rd = kind == 0 ? s->pp : s->pp_ro;
    return kind == 0 ? s->pp : s->pp_rw;
}

static void rtt_echo(struct rtt_side *s)
{
    struct bcast_reader *ra;
    struct bcast_writer *wb;
    uint64_t buf[8];
    int rc;

    if (s->path_a) {
        while ((rc = bcast_reader_open_file_at(s->path_a, 0, 0, &ra)) == -EAGAIN || rc == -ENOENT)
            cpu_relax();
        if (rc < 0 || (rc = bcast_writer_join_file(s->path_b, 0, &wb)) < 0)
            die("rtt echo open", rc);
    } else if ((rc = bcast_reader_open_at(s->mem_a, s->size, 0, &ra)) < 0 ||
               (rc = bcast_writer_join(s->mem_b, s->size, &wb)) < 0) {
        die("rtt echo open", rc);
    }
    for (int k = 0; k < rtt_kinds() * o.blocks; k++) {
        uint64_t n = k < rtt_kinds() ? RTT_WARMUP : s->per_block, base = (uint64_t)k << 40;
        if (k % rtt_kinds() != 1) {
            const struct pingpong *rd;
            struct pingpong *wr = rtt_floor_lines(s, k % rtt_kinds(), &rd);
            for (uint64_t i = 1; i <= n; i++) {
                while (atomic_load_explicit(&rd->ping, memory_order_acquire) != base + i)
                    ;
                atomic_store_explicit(&wr->pong, base + i, memory_order_release);
            }
        } else {
            for (uint64_t i = 0; i < n; i++) {
                ssize_t len;
                while ((len = bcast_reader_receive(ra, buf, sizeof buf, NULL)) == -EAGAIN)
                    ;
                if (len < 0)
                    die("rtt echo receive", (int)len);
                if ((rc = bcast_writer_send(wb, buf, (size_t)len, 0, 0)) < 0)
                    die("rtt echo send", rc);
            }
        }
    }
    bcast_reader_close(ra);
    bcast_writer_close(wb);
}

static void *rtt_echo_thread(void *arg)
{
    pin(cpu_for(1));
    rtt_echo(arg);
    return NULL;
}

/* one case: percentiles, and p50 over the floor's (and, when floor_ro_p50
   is not 0, over the read-only floor's as ratio_ro) */
static void print_lat(const char *name, uint64_t *v, size_t n, uint64_t floor_p50,
                      uint64_t floor_ro_p50)
{
    qsort(v, n, sizeof *v, cmp_u64);
    uint64_t p50 = pct(v, n, 50), p90 = pct(v, n, 90), p99 = pct(v, n, 99),
             p999 = pct(v, n, 99.9), max = v[n - 1];
    double ratio = floor_p50 ? (double)p50 / (double)floor_p50 : 1.0;
    double ratio_ro = floor_ro_p50 ? (double)p50 / (double)floor_ro_p50 : 0.0;
    char ro[64] = "";
    if (o.json) {
        if (floor_ro_p50)
            snprintf(ro, sizeof ro, ",\"ratio_ro\":%.3f", ratio_ro);
        printf("{\"bench\":\"rtt\",\"case\":\"%s\",\"mode\":\"%s\",\"cpus\":[%d,%d],"
               "\"samples\":%zu,\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64
               ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64
               ",\"ratio\":%.3f%s}\n",
               name, o.shm ? "processes" : "threads", cpu_for(0), cpu_for(1), n, p50, p90, p99,
               p999, max, ratio, ro);
    } else {
        if (floor_ro_p50)
            snprintf(ro, sizeof ro, " %8.3f", ratio_ro);
        printf("%-8s %9zu %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %10" PRIu64
               " %7.3f%s\n",
               name, n, p50, p90, p99, p999, max, ratio, ro);
    }
}

/* --shm: the floor's lines in a file of dir, mapped writable and read-only */
static void rtt_floor_file(struct rtt_side *s)
{
    char path[256];
    int fd;
    void *rw, *ro;

    snprintf(path, sizeof path, "%s/bcast-bench-rtt-floor.%d", o.dir, (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        die(path, -errno);
    unlink(path); /* the mappings keep it */
    if (ftruncate(fd, sizeof(struct pingpong)) < 0)
        die(path, -errno);
    rw = mmap(NULL, sizeof(struct pingpong), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ro = mmap(NULL, sizeof(struct pingpong), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (rw == MAP_FAILED || ro == MAP_FAILED)
        die(path, -ENOMEM);
    s->pp_rw = rw;
    s->pp_ro = ro;
}

static int cmd_rtt(void)
{
    struct rtt_side s = {0};
    struct bcast_writer *wa;
    struct bcast_reader *rb;
    char path_a[256], path_b[256];
    uint64_t *lib, *flr, *fro = NULL, nl = 0, nf = 0, nr = 0, buf[8];
    pthread_t th;
    pid_t child = 0;
    int rc;

    s.per_block = RTT_MEASURED / (uint64_t)(o.blocks - 1);
    lib = malloc(sizeof *lib * RTT_MEASURED);
    flr = malloc(sizeof *flr * RTT_MEASURED);
    s.pp = mmap(NULL, sizeof *s.pp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!lib || !flr || s.pp == MAP_FAILED)
        die("memory", -ENOMEM);
    memset(s.pp, 0, sizeof *s.pp);

    if (o.shm) {
        rtt_floor_file(&s);
        if (!(fro = malloc(sizeof *fro * RTT_MEASURED)))
            die("memory", -ENOMEM);
        snprintf(path_a, sizeof path_a, "%s/bcast-bench-rtt-a.%d", o.dir, (int)getpid());
        snprintf(path_b, sizeof path_b, "%s/bcast-bench-rtt-b.%d", o.dir, (int)getpid());
        s.path_a = path_a;
        s.path_b = path_b;
        if ((rc = bcast_writer_create_file(path_a, 65536, 0, &wa)) < 0)
            die(path_a, rc);
        {
            struct bcast_writer *tmp;
            if ((rc = bcast_writer_create_file(path_b, 65536, 0, &tmp)) < 0)
                die(path_b, rc);
            bcast_writer_close(tmp); /* the echo process joins it */
        }
        if ((rc = bcast_reader_open_file_at(path_b, 0, 0, &rb)) < 0)
            die(path_b, rc);
        child = fork();
        if (child < 0)
            die("fork", -errno);
        if (child == 0) {
            pin(cpu_for(1));
            rtt_echo(&s);
            _exit(0);
        }
    } else {
        s.mem_a = alloc_channel(65536, &s.size);
        s.mem_b = alloc_channel(65536, &s.size);
        if ((rc = bcast_writer_create(s.mem_a, s.size, NULL, 0, &wa)) < 0)
            die("create", rc);
        {
            struct bcast_writer *tmp;
            if ((rc = bcast_writer_create(s.mem_b, s.size, NULL, 0, &tmp)) < 0)
                die("create", rc);
            bcast_writer_close(tmp);
        }
        if ((rc = bcast_reader_open_at(s.mem_b, s.size, 0, &rb)) < 0)
            die("open", rc);
        if (pthread_create(&th, NULL, rtt_echo_thread, &s) != 0)
            die("pthread_create", -EAGAIN);
    }
    pin(cpu_for(0));

    for (int k = 0; k < rtt_kinds() * o.blocks; k++) {
        uint64_t n = k < rtt_kinds() ? RTT_WARMUP : s.per_block, base = (uint64_t)k << 40;
        int keep = k >= rtt_kinds();
        if (k % rtt_kinds() != 1) {
            const struct pingpong *rd;
            struct pingpong *wr = rtt_floor_lines(&s, k % rtt_kinds(), &rd);
            uint64_t *out = k % rtt_kinds() == 0 ? flr : fro, *nout = out == flr ? &nf : &nr;
            for (uint64_t i = 1; i <= n; i++) {
                uint64_t t0 = now_ns();
                atomic_store_explicit(&wr->ping, base + i, memory_order_release);
                while (atomic_load_explicit(&rd->pong, memory_order_acquire) != base + i)
                    ;
                if (keep)
                    out[(*nout)++] = now_ns() - t0;
            }
        } else {
            for (uint64_t i = 0; i < n; i++) {
                uint64_t t0 = now_ns();
                ssize_t len;
                if ((rc = bcast_writer_send(wa, &t0, sizeof t0, 0, 0)) < 0)
                    die("send", rc);
                while ((len = bcast_reader_receive(rb, buf, sizeof buf, NULL)) == -EAGAIN)
                    ;
                if (len != sizeof t0 || buf[0] != t0)
                    die("rtt: echo mismatch", len < 0 ? (int)len : -EBADMSG);
                if (keep)
                    lib[nl++] = now_ns() - t0;
            }
        }
    }
    if (o.shm) {
        int st;
        waitpid(child, &st, 0);
        unlink(path_a);
        unlink(path_b);
        {
            char lk[300];
            snprintf(lk, sizeof lk, "%s.lock", path_a);
            unlink(lk);
            snprintf(lk, sizeof lk, "%s.wait", path_a);
            unlink(lk);
            snprintf(lk, sizeof lk, "%s.lock", path_b);
            unlink(lk);
            snprintf(lk, sizeof lk, "%s.wait", path_b);
            unlink(lk);
        }
    } else {
        pthread_join(th, NULL);
    }
    if (!o.json) {
        printf("rtt: 8-byte round trips, 64 KiB channels, %s on CPUs %d,%d; %d blocks of %" PRIu64
               " each side, first discarded\n",
               o.shm ? "two processes over /dev/shm" : "two threads", cpu_for(0), cpu_for(1),
               o.blocks - 1, s.per_block);
        if (o.shm)
            printf("floor-ro: the floor with each side reading the other's line through a "
                   "read-only mapping,\nas a reader maps a channel file; ratio-ro: p50 over "
                   "its p50\n");
        printf("%-8s %9s %8s %8s %8s %8s %10s %7s%s\n", "case", "samples", "p50", "p90", "p99",
               "p99.9", "max", "ratio", o.shm ? " ratio-ro" : "");
    }
    qsort(flr, nf, sizeof *flr, cmp_u64);
    uint64_t floor_p50 = pct(flr, nf, 50), floor_ro_p50 = 0;
    if (fro) {
        qsort(fro, nr, sizeof *fro, cmp_u64);
        floor_ro_p50 = pct(fro, nr, 50);
    }
    print_lat("floor", flr, nf, floor_p50, 0);
    print_lat("bcast", lib, nl, floor_p50, floor_ro_p50);
    if (fro)
        print_lat("floor-ro", fro, nr, floor_p50, 0);
    bcast_writer_close(wa);
    bcast_reader_close(rb);
    free(s.mem_a); /* heap channels (threads); NULL with --shm */
    free(s.mem_b);
    munmap(s.pp, sizeof *s.pp);
    if (fro) {
        munmap(s.pp_rw, sizeof *s.pp_rw);
        munmap((void *)s.pp_ro, sizeof *s.pp_ro);
        free(fro);
    }
    free(lib);
    free(flr);
    return 0;
}

/* ------------------------------------------------------------------ */
/* throughput                                                          */

/* a counting reader's answer to one read call that delivered got messages
   and returned rc: messages counted (1: read again at once); an overrun
   counted and the reader reset (1); nothing to read (0); an error, kept in
   *err (-1) */
static int tally(struct bcast_reader *r, uint64_t got, int rc, uint64_t *received,
                 uint64_t *overruns, int *err)
{
    if (got) {
        *received += got;
        return 1;
    }
    if (rc == -ENOBUFS) {
        ++*overruns;
        bcast_reader_reset(r);
        return 1;
    }
    if (rc < 0 && rc != -EAGAIN) {
        *err = rc;
        return -1;
    }
    return 0;
}

struct tp_reader {
    pthread_t th;
    int cpu;
    const char *path;
    uint64_t received;
    uint64_t overruns;
    uint64_t done_ns;
    int err;
    char pad[64];
};

static _Atomic int tp_writer_done;
static _Atomic int tp_ready;

static int tp_count(const struct bcast_message *m, void *ctx)
{
    (void)m;
    ++*(uint64_t *)ctx;
    return 0;
}

static void *tp_reader_main(void *arg)
{
    struct tp_reader *t = arg;
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    /* bulk windows of 256 KiB: large enough to amortise the call, small
       enough that a window is copied long before the writer laps it */
    size_t bulk_cap = 256u << 10;
    uint8_t *buf = malloc(bulk_cap);
    int api = strcmp(o.api, "next") == 0 ? 0 : strcmp(o.api, "poll") == 0 ? 1 : 2;
    int rc;

    pin(t->cpu);
    if (!m || !buf) {
        t->err = -ENOMEM;
        atomic_fetch_add(&tp_ready, 1);
        return NULL;
    }
    if ((rc = bcast_reader_open_file(t->path, 0, &r)) < 0) {
        t->err = rc;
        atomic_fetch_add(&tp_ready, 1);
        return NULL;
    }
    atomic_fetch_add(&tp_ready, 1);
    for (;;) {
        long got;
        if (api == 0) {
            rc = bcast_reader_next(r, m);
            got = rc == 0;
        } else if (api == 1) {
            uint64_t n = 0;
            rc = bcast_reader_poll(r, tp_count, &n, 256);
            got = (long)n;
        } else {
            uint64_t start;
            ssize_t len = bcast_reader_read_bulk(r, buf, bulk_cap, &start);
            size_t off = 0;
            got = 0;
            rc = len < 0 ? (int)len : 0;
            if (len > 0)
                while (bcast_bulk_next(buf, (size_t)len, &off, start, m) == 0)
                    got++;
        }
        int next = tally(r, (uint64_t)got, rc, &t->received, &t->overruns, &t->err);
        if (next > 0)
            continue;
        if (next < 0)
            break;
        /* idle: look at the producer line only once the writer is done, so the
           reader's spinning costs the writer no extra cache-line transfers */
        if (atomic_load_explicit(&tp_writer_done, memory_order_acquire) &&
            bcast_reader_pending(r) == 0)
            break;
        /* --idle-pause: a reader that found nothing waits before it looks at
           the producer line again, so a caught-up reader takes that line from
           the writer once per batch instead of once per message */
        for (uint64_t k = 0; k < o.idle_pause; k++)
            cpu_relax();
    }
    t->done_ns = now_ns();
    bcast_reader_close(r);
    bcast_message_free(m);
    free(buf);
    return NULL;
}

static int cmd_throughput(void)
{
    /* --readers 0: the writer alone, for what a reader costs it */
    struct tp_reader *rd = calloc((size_t)o.readers + 1, sizeof *rd);
    struct bcast_writer *w;
    char path[256], lock[300];
    uint8_t payload[1 << 16];
    uint64_t t0, t1, last = 0;
    int rc, shared = 0;

    if (!rd)
        die("calloc", -ENOMEM);
    if (o.size > sizeof payload)
        die("--size", -EMSGSIZE);
    snprintf(path, sizeof path, "%s/bcast-bench-tp.%d", o.dir, (int)getpid());
    snprintf(lock, sizeof lock, "%s.lock", path);
    if ((rc = bcast_writer_create_file(path, 8u << 20, 0, &w)) < 0)
        die(path, rc);
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    atomic_store(&tp_writer_done, 0);
    atomic_store(&tp_ready, 0);
    for (int i = 0; i < o.readers; i++) {
        rd[i].cpu = cpu_for(1 + i);
        rd[i].path = path;
        for (int j = 0; j < i; j++)
            if (rd[j].cpu == rd[i].cpu)
                shared = 1;
        if (pthread_create(&rd[i].th, NULL, tp_reader_main, &rd[i]) != 0)
            die("pthread_create", -EAGAIN);
    }
    pin(cpu_for(0));
    while (atomic_load(&tp_ready) < o.readers)
        cpu_relax();
    t0 = now_ns();
    for (uint64_t i = 0; i < o.messages; i++)
        if ((rc = bcast_writer_send(w, payload, o.size, (uint32_t)i, 0)) < 0)
            die("send", rc);
    t1 = now_ns();
    atomic_store_explicit(&tp_writer_done, 1, memory_order_release);
    for (int i = 0; i < o.readers; i++) {
        pthread_join(rd[i].th, NULL);
        if (rd[i].err)
            die("reader", rd[i].err);
        if (rd[i].done_ns > last)
            last = rd[i].done_ns;
    }
    bcast_writer_close(w);
    unlink(path);
    unlink(lock);
    snprintf(lock, sizeof lock, "%s.wait", path);
    unlink(lock);

    double pub = (double)(t1 - t0) / (double)o.messages;
    double settle = o.readers ? (double)(last - t0) / (double)o.messages : pub;
    double gbps = (double)o.size * (double)o.messages / (double)(t1 - t0);
    if (!o.json) {
        printf("throughput: 8 MiB channel in %s, %zu-byte payloads, %" PRIu64
               " messages, %d reader(s) using %s, idle pause %" PRIu64 "; writer on CPU %d\n",
               o.dir, o.size, o.messages, o.readers, o.api, o.idle_pause, cpu_for(0));
        if (shared)
            printf("note: readers share CPUs (fewer CPUs than readers + 1): fan-out numbers "
                   "here measure CPU sharing, not the library\n");
        printf("publish %.2f ns/msg, settle %.2f ns/msg, %.3f GB/s payload\n", pub, settle, gbps);
        if (o.readers)
            printf("%-8s %4s %12s %10s %10s\n", "reader", "cpu", "received", "delivery%",
                   "overruns");
    } else if (!o.readers) {
        printf("{\"bench\":\"throughput\",\"size\":%zu,\"messages\":%" PRIu64
               ",\"readers\":0,\"writer_cpu\":%d,\"publish_ns_per_msg\":%.3f,"
               "\"payload_gb_per_s\":%.4f}\n",
               o.size, o.messages, cpu_for(0), pub, gbps);
    }
    for (int i = 0; i < o.readers; i++) {
        double pctd = 100.0 * (double)rd[i].received / (double)o.messages;
        if (o.json)
            printf("{\"bench\":\"throughput\",\"size\":%zu,\"messages\":%" PRIu64
                   ",\"readers\":%d,\"api\":\"%s\",\"idle_pause\":%" PRIu64
                   ",\"writer_cpu\":%d,\"reader\":%d,"
                   "\"reader_cpu\":%d,\"cpus_shared\":%s,\"publish_ns_per_msg\":%.3f,"
                   "\"settle_ns_per_msg\":%.3f,\"payload_gb_per_s\":%.4f,"
                   "\"received\":%" PRIu64 ",\"delivery_pct\":%.4f,\"overruns\":%" PRIu64 "}\n",
                   o.size, o.messages, o.readers, o.api, o.idle_pause, cpu_for(0), i, rd[i].cpu,
                   shared ? "true" : "false", pub, settle, gbps, rd[i].received, pctd,
                   rd[i].overruns);
        else
            printf("%-8d %4d %12" PRIu64 " %10.4f %10" PRIu64 "\n", i, rd[i].cpu,
                   rd[i].received, pctd, rd[i].overruns);
    }
    free(rd);
    return 0;
}

/* ------------------------------------------------------------------ */
/* ops: a plain loop for callgrind (make bench-ops subtracts a 0-iteration run) */

typedef int (*send_fn)(struct bcast_writer *, const void *, size_t, uint32_t, int);
typedef ssize_t (*receive_fn)(struct bcast_reader *, void *, size_t, struct bcast_message *);
typedef int (*next_fn)(struct bcast_reader *, struct bcast_message *);
typedef ssize_t (*read_fn)(const struct bcast_message *, void *, size_t);

/* --harness: the same loop around functions that do nothing, to count the
   loop and call overhead alone */
static __attribute__((noinline)) int stub_send(struct bcast_writer *w, const void *p, size_t len,
                                               uint32_t user, int flags)
{
    (void)w, (void)p, (void)len, (void)user, (void)flags;
    __asm__ __volatile__("" ::: "memory");
    return 0;
}

static __attribute__((noinline)) ssize_t stub_receive(struct bcast_reader *r, void *buf,
                                                      size_t cap, struct bcast_message *m)
{
    (void)r, (void)buf, (void)m;
    __asm__ __volatile__("" ::: "memory");
    return cap >= 32 ? 32 : -ERANGE;
}

static __attribute__((noinline)) int stub_next(struct bcast_reader *r, struct bcast_message *m)
{
    (void)r, (void)m;
    __asm__ __volatile__("" ::: "memory");
    return 0;
}

static __attribute__((noinline)) ssize_t stub_read(const struct bcast_message *m, void *buf,
                                                   size_t cap)
{
    (void)m, (void)buf;
    __asm__ __volatile__("" ::: "memory");
    return cap >= 32 ? 32 : -ERANGE;
}

/* the loop bodies of --mode */
enum ops_mode { OPS_WRITE, OPS_READ, OPS_READ_MSG, OPS_NEXT };

static int ops_mode(const char *name)
{
    static const char *const names[] = {"write", "write+read", "write+read-msg", "write+next"};

    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/*
 * ops --mode large, large-send, memcpy: the cost of messages of any size,
 * for make bench-ops: a 1 MiB message on a 4 MiB ring sent with
 * bcast_writer_send_large and read whole with bcast_assembler_receive
 * (large), sent only (large-send), and a plain memcpy of 1 MiB (memcpy).
 */
#define OPS_LARGE (1u << 20)

static int ops_large(void)
{
    size_t size;
    void *mem = alloc_channel(4u << 20, &size);
    uint8_t *msg = malloc(OPS_LARGE), *copy = malloc(OPS_LARGE);
    struct bcast_message *m = bcast_message_new();
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_assembler *a;
    int rc, mode = strcmp(o.mode, "large") == 0 ? 0 : strcmp(o.mode, "large-send") == 0 ? 1 : 2;

    if (!msg || !copy || !m)
        die("ops", -ENOMEM);
    memset(msg, 0x5a, OPS_LARGE);
    if ((rc = bcast_writer_create(mem, size, NULL, 0, &w)) < 0 ||
        (rc = bcast_reader_open(mem, size, &r)) < 0 ||
        (rc = bcast_assembler_new(r, NULL, OPS_LARGE, 0, &a)) < 0)
        die("ops", rc);
    for (uint64_t i = 0; i < o.iterations; i++) {
        if (mode == 2) {
            memcpy(copy, msg, OPS_LARGE);
            __asm__ __volatile__("" ::"r"(copy) : "memory");
            continue;
        }
        if ((rc = bcast_writer_send_large(w, msg, OPS_LARGE, (uint32_t)i)) < 0)
            die("ops: send_large", rc);
        if (mode == 0 && bcast_assembler_receive(a, m) != OPS_LARGE)
            die("ops: assembler", -EBADMSG);
    }
    printf("ops: %s, 1 MiB messages, 4 MiB channel: %" PRIu64 " iterations\n", o.mode,
           o.iterations);
    bcast_assembler_free(a);
    bcast_message_free(m);
    bcast_reader_close(r);
    bcast_writer_close(w);
    free(copy);
    free(msg);
    free(mem);
    return 0;
}

static int cmd_ops(void)
{
    size_t size;
    void *mem = alloc_channel(65536, &size);
    struct bcast_writer *w;
    struct bcast_reader *r;
    struct bcast_message *m = bcast_message_new();
    uint8_t msg[32], buf[64];
    int rc, mode = ops_mode(o.mode);
    uint64_t t0, t1;
    /* called through pointers, as a plugin host that uses dlsym would */
    send_fn volatile send_p = o.harness ? stub_send : bcast_writer_send;
    receive_fn volatile receive_p = o.harness ? stub_receive : bcast_reader_receive;
    next_fn volatile next_p = o.harness ? stub_next : bcast_reader_next;
    read_fn volatile read_p = o.harness ? stub_read : bcast_message_read;
    send_fn snd = send_p;
    receive_fn rcv = receive_p;
    next_fn nxt = next_p;
    read_fn rd = read_p;

    if (mode < 0 && (strcmp(o.mode, "large") == 0 || strcmp(o.mode, "large-send") == 0 ||
                     strcmp(o.mode, "memcpy") == 0)) {
        bcast_message_free(m);
        free(mem);
        return ops_large();
    }
    if (mode < 0) {
        fprintf(stderr, "bcast-bench: ops: --mode is write, write+read, write+read-msg, "
                        "write+next, large, large-send or memcpy\n");
        return EXIT_USAGE;
    }
    if (!m)
        die("ops", -ENOMEM);
    memset(msg, 0x5a, sizeof msg);
    if ((rc = bcast_writer_create(mem, size, NULL, 0, &w)) < 0 ||
        (rc = bcast_reader_open(mem, size, &r)) < 0)
        die("ops", rc);
    t0 = now_ns();
    switch (mode) {
    case OPS_WRITE:
        for (uint64_t i = 0; i < o.iterations; i++)
            snd(w, msg, sizeof msg, (uint32_t)i, 0);
        break;
    case OPS_READ:
        for (uint64_t i = 0; i < o.iterations; i++) {
            snd(w, msg, sizeof msg, (uint32_t)i, 0);
            if (rcv(r, buf, sizeof buf, NULL) != sizeof msg)
                die("ops: receive", -EBADMSG);
        }
        break;
    case OPS_READ_MSG:
        for (uint64_t i = 0; i < o.iterations; i++) {
            snd(w, msg, sizeof msg, (uint32_t)i, 0);
            if (rcv(r, buf, sizeof buf, m) != sizeof msg)
                die("ops: receive", -EBADMSG);
        }
        break;
    case OPS_NEXT:
        for (uint64_t i = 0; i < o.iterations; i++) {
            snd(w, msg, sizeof msg, (uint32_t)i, 0);
            if (nxt(r, m) != 0 || rd(m, buf, sizeof buf) != sizeof msg)
                die("ops: next", -EBADMSG);
        }
        break;
    }
    t1 = now_ns();
    if (o.json)
        printf("{\"bench\":\"ops\",\"mode\":\"%s\",\"harness_only\":%s,\"iterations\":%" PRIu64
               ",\"ns_per_iteration\":%.3f}\n",
               o.mode, o.harness ? "true" : "false", o.iterations,
               o.iterations ? (double)(t1 - t0) / (double)o.iterations : 0.0);
    else
        printf("ops: %s%s, 32-byte messages, 64 KiB channel: %" PRIu64
               " iterations, %.2f ns each (run under callgrind for instruction counts: "
               "make bench-ops)\n",
               o.mode, o.harness ? " (harness only)" : "", o.iterations,
               o.iterations ? (double)(t1 - t0) / (double)o.iterations : 0.0);
    bcast_message_free(m);
    bcast_reader_close(r);
    bcast_writer_close(w);
    free(mem);
    return 0;
}

/* ------------------------------------------------------------------ */
/* wake: readers that sleep                                            */

/* the wait area's counters (bcast-format(5)): little-endian u32 words */
#define WAIT_OFF_SEQ 132  /* one more per wake-up call of the writer */
#define WAIT_OFF_ARMS 136 /* one more per sleep episode a reader began */

/* this process's voluntary context switches so far: its sleeps */
static uint64_t sleeps_so_far(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_nvcsw;
}

/* the floor: a futex word per direction, each on its own line */
struct futex_pp {
    _Alignas(LINE) _Atomic uint32_t ping;
    _Alignas(LINE) _Atomic uint32_t pong;
};

static void futex_wake_one(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* look, then sleep at once until *word is want (as a reader with spin 0) */
static void futex_until(_Atomic uint32_t *word, uint32_t want)
{
    uint32_t v;

    while ((v = atomic_load_explicit(word, memory_order_acquire)) != want)
        syscall(SYS_futex, word, FUTEX_WAIT, v, NULL, NULL, 0);
}

/* <path>.wait of a file channel, mapped read-only to watch its counters;
   NULL when there is none */
static const uint8_t *wait_words_map(const char *path)
{
    char wpath[300];
    void *p;
    int fd;

    snprintf(wpath, sizeof wpath, "%s.wait", path);
    if ((fd = open(wpath, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    p = mmap(NULL, BCAST_WAIT_AREA_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static uint32_t wait_word(const uint8_t *area, size_t off)
{
    uint32_t v = __atomic_load_n((const uint32_t *)(const void *)(area + off), __ATOMIC_ACQUIRE);
    return le32toh(v);
}

static void wait_words_unmap(const uint8_t *area)
{
    if (area)
        munmap((void *)area, BCAST_WAIT_AREA_SIZE);
}

/* remove a channel file and its sidecars */
static void unlink_channel(const char *path)
{
    static const char *const sfx[] = {".lock", ".wait"};
    char p[300];

    unlink(path);
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

/* receive one message, sleeping in bcast_reader_wait while there is none;
   a peer silent for 10 s is gone */
static ssize_t wake_receive(struct bcast_reader *r, uint64_t *buf, size_t cap)
{
    ssize_t len;

    while ((len = bcast_reader_receive(r, buf, cap, NULL)) == -EAGAIN) {
        int rc = bcast_reader_wait(r, 10 * 1000000000LL);
        if (rc < 0 && rc != -EINTR)
            die("wake: wait", rc);
    }
    if (len < 0)
        die("wake: receive", (int)len);
    return len;
}

struct wake_pp {
    const char *path_a, *path_b;
    struct futex_pp *fp;
    uint64_t per_block;
};

/* side 1: echoes in both kinds of block, in the same schedule as side 0 */
static void wake_echo(const struct wake_pp *s)
{
    struct bcast_reader *ra;
    struct bcast_writer *wb;
    uint64_t buf[8];
    uint32_t c = 0;
    int rc;

    if ((rc = bcast_reader_open_file_at(s->path_a, 0, 0, &ra)) < 0 ||
        (rc = bcast_writer_join_file(s->path_b, 0, &wb)) < 0)
        die("wake echo open", rc);
    bcast_reader_set_wait_spin(ra, 0);
    for (int k = 0; k < 2 * o.blocks; k++) {
        if (k % 2 == 0) {
            for (uint64_t i = 0; i < s->per_block; i++) {
                futex_until(&s->fp->ping, ++c);
                atomic_store_explicit(&s->fp->pong, c, memory_order_release);
                futex_wake_one(&s->fp->pong);
            }
        } else {
            for (uint64_t i = 0; i < s->per_block; i++) {
                ssize_t len = wake_receive(ra, buf, sizeof buf);
                if ((rc = bcast_writer_send(wb, buf, (size_t)len, 0, 0)) < 0)
                    die("wake echo send", rc);
            }
        }
    }
    bcast_reader_close(ra);
    bcast_writer_close(wb);
}

static void print_wake_lat(const char *name, uint64_t *v, size_t n, uint64_t floor_p50,
                           double csw, double wakes, double sleeps)
{
    qsort(v, n, sizeof *v, cmp_u64);
    uint64_t p50 = pct(v, n, 50), p90 = pct(v, n, 90), p99 = pct(v, n, 99), max = v[n - 1];
    double ratio = floor_p50 ? (double)p50 / (double)floor_p50 : 1.0;

    if (o.json) {
        char extra[192] = "";
        int at = snprintf(extra, sizeof extra, ",\"side0_csw_per_rt\":%.3f", csw);
        if (wakes >= 0)
            snprintf(extra + at, sizeof extra - (size_t)at,
                     ",\"wake_calls_per_rt\":%.3f,\"sleep_episodes_per_rt\":%.3f", wakes, sleeps);
        printf("{\"bench\":\"wake\",\"case\":\"%s\",\"mode\":\"processes\",\"cpus\":[%d,%d],"
               "\"samples\":%zu,\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64
               ",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"ratio\":%.3f%s}\n",
               name, cpu_for(0), cpu_for(1), n, p50, p90, p99, max, ratio, extra);
    } else {
        printf("%-8s %9zu %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %10" PRIu64 " %7.3f %8.3f",
               name, n, p50, p90, p99, max, ratio, csw);
        if (wakes >= 0)
            printf("   %.2f wake-up calls, %.2f sleep episodes per round trip", wakes, sleeps);
        putchar('\n');
    }
}

/* the wake-up round trip against the futex floor, in alternating blocks */
static void wake_pingpong(void)
{
    struct wake_pp s = {0};
    struct bcast_writer *wa, *tmp;
    struct bcast_reader *rb;
    char path_a[256], path_b[256];
    const uint8_t *wait_a, *wait_b;
    uint64_t *lib, *flr, nl = 0, nf = 0, buf[8], wakes = 0, sleeps = 0, csw[2] = {0, 0};
    uint64_t total;
    uint32_t c = 0;
    pid_t child;
    int rc, st;

    s.per_block = o.round_trips / (uint64_t)(o.blocks - 1);
    if (s.per_block == 0)
        s.per_block = 1;
    total = s.per_block * (uint64_t)(o.blocks - 1);
    lib = malloc(sizeof *lib * total);
    flr = malloc(sizeof *flr * total);
    s.fp = mmap(NULL, sizeof *s.fp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!lib || !flr || s.fp == MAP_FAILED)
        die("memory", -ENOMEM);
    memset(s.fp, 0, sizeof *s.fp);
    snprintf(path_a, sizeof path_a, "%s/bcast-bench-wake-a.%d", o.dir, (int)getpid());
    snprintf(path_b, sizeof path_b, "%s/bcast-bench-wake-b.%d", o.dir, (int)getpid());
    s.path_a = path_a;
    s.path_b = path_b;
    if ((rc = bcast_writer_create_file(path_a, 65536, 0, &wa)) < 0)
        die(path_a, rc);
    if ((rc = bcast_writer_create_file(path_b, 65536, 0, &tmp)) < 0)
        die(path_b, rc);
    bcast_writer_close(tmp); /* the echo process joins it */
    if ((rc = bcast_reader_open_file_at(path_b, 0, 0, &rb)) < 0)
        die(path_b, rc);
    bcast_reader_set_wait_spin(rb, 0);
    wait_a = wait_words_map(path_a);
    wait_b = wait_words_map(path_b);
    fflush(stdout);
    child = fork();
    if (child < 0)
        die("fork", -errno);
    if (child == 0) {
        pin(cpu_for(1));
        wake_echo(&s);
        _exit(0);
    }
    pin(cpu_for(0));
    for (int k = 0; k < 2 * o.blocks; k++) {
        int keep = k >= 2;
        uint64_t csw0 = sleeps_so_far();
        if (k % 2 == 0) {
            for (uint64_t i = 0; i < s.per_block; i++) {
                uint64_t t0 = now_ns();
                atomic_store_explicit(&s.fp->ping, ++c, memory_order_release);
                futex_wake_one(&s.fp->ping);
                futex_until(&s.fp->pong, c);
                if (keep)
                    flr[nf++] = now_ns() - t0;
            }
        } else {
            uint32_t seq0 = 0, arms0 = 0;
            if (keep && wait_a && wait_b) {
                seq0 = wait_word(wait_a, WAIT_OFF_SEQ) + wait_word(wait_b, WAIT_OFF_SEQ);
                arms0 = wait_word(wait_a, WAIT_OFF_ARMS) + wait_word(wait_b, WAIT_OFF_ARMS);
            }
            for (uint64_t i = 0; i < s.per_block; i++) {
                uint64_t t0 = now_ns();
                ssize_t len;
                if ((rc = bcast_writer_send(wa, &t0, sizeof t0, 0, 0)) < 0)
                    die("send", rc);
                len = wake_receive(rb, buf, sizeof buf);
                if (len != sizeof t0 || buf[0] != t0)
                    die("wake: echo mismatch", -EBADMSG);
                if (keep)
                    lib[nl++] = now_ns() - t0;
            }
            if (keep && wait_a && wait_b) {
                wakes += (uint32_t)(wait_word(wait_a, WAIT_OFF_SEQ) +
                                    wait_word(wait_b, WAIT_OFF_SEQ) - seq0);
                sleeps += (uint32_t)(wait_word(wait_a, WAIT_OFF_ARMS) +
                                     wait_word(wait_b, WAIT_OFF_ARMS) - arms0);
            }
        }
        if (keep)
            csw[k % 2] += sleeps_so_far() - csw0;
    }
    waitpid(child, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("wake: the echo process failed", -ECHILD);
    if (!o.json) {
        printf("wake: 8-byte round trips between two processes on CPUs %d,%d, each asleep "
               "(spin 0)\nin bcast_reader_wait on a 64 KiB channel file in %s; floor: a raw "
               "futex ping-pong\n(FUTEX_WAIT/FUTEX_WAKE on two words of a shared page); %d "
               "blocks of %" PRIu64 " each, first discarded\n",
               cpu_for(0), cpu_for(1), o.dir, o.blocks - 1, s.per_block);
        printf("csw: voluntary context switches of side 0 per round trip (getrusage): how\n"
               "often it really slept\n");
        printf("%-8s %9s %8s %8s %8s %10s %7s %8s\n", "case", "samples", "p50", "p90", "p99",
               "max", "ratio", "csw");
    }
    qsort(flr, nf, sizeof *flr, cmp_u64);
    uint64_t floor_p50 = pct(flr, nf, 50);
    print_wake_lat("floor", flr, nf, floor_p50, (double)csw[0] / (double)nf, -1, -1);
    print_wake_lat("bcast", lib, nl, floor_p50, (double)csw[1] / (double)nl,
                   wait_a && wait_b ? (double)wakes / (double)nl : -1,
                   (double)sleeps / (double)nl);
    bcast_writer_close(wa);
    bcast_reader_close(rb);
    wait_words_unmap(wait_a);
    wait_words_unmap(wait_b);
    unlink_channel(path_a);
    unlink_channel(path_b);
    munmap(s.fp, sizeof *s.fp);
    free(lib);
    free(flr);
}

/* the readers' spin budget, as JSON (null: the library's default) and as text */
static const char *spin_json(void)
{
    static char b[32];

    if (!o.spin_set)
        return "null";
    snprintf(b, sizeof b, "%" PRIu64, o.spin_ns);
    return b;
}

static const char *spin_text(void)
{
    static char b[48];

    if (!o.spin_set)
        return "the library's default spin";
    snprintf(b, sizeof b, "spin %" PRIu64 " ns", o.spin_ns);
    return b;
}

/* what a reader process reports back through shared memory */
struct wake_report {
    uint64_t received, overruns, returns, cpu_ns, wall_ns;
    int err;
    char pad[64];
};

static uint64_t rusage_ns(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* the idle cost: a reader process waits --idle-seconds on a silent channel
   whose writer is alive; its CPU time (getrusage) over the wall time */
static void wake_idle(void)
{
    struct wake_report *rep;
    struct bcast_writer *w;
    const uint8_t *words;
    char path[256];
    uint32_t arms0 = 0, seq0 = 0, arms = 0, seq = 0;
    int64_t span = (int64_t)(o.idle_seconds * 1e9);
    pid_t child;
    int rc, st;

    rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rep == MAP_FAILED)
        die("memory", -ENOMEM);
    memset(rep, 0, sizeof *rep);
    snprintf(path, sizeof path, "%s/bcast-bench-wake-idle.%d", o.dir, (int)getpid());
    if ((rc = bcast_writer_create_file(path, 65536, 0, &w)) < 0)
        die(path, rc);
    if ((words = wait_words_map(path)) != NULL) {
        arms0 = wait_word(words, WAIT_OFF_ARMS);
        seq0 = wait_word(words, WAIT_OFF_SEQ);
    }
    fflush(stdout);
    child = fork();
    if (child < 0)
        die("fork", -errno);
    if (child == 0) {
        struct bcast_reader *r;
        uint64_t c0, t0, t;

        pin(cpu_for(1));
        if ((rc = bcast_reader_open_file(path, 0, &r)) < 0) {
            rep->err = rc;
            _exit(1);
        }
        if (o.spin_set)
            bcast_reader_set_wait_spin(r, o.spin_ns);
        c0 = rusage_ns();
        t0 = now_ns();
        while ((t = now_ns()) - t0 < (uint64_t)span) {
            rc = bcast_reader_wait(r, span - (int64_t)(t - t0));
            rep->returns++;
            if (rc == 0) {
                rep->err = -EBADMSG; /* the channel is silent */
                break;
            }
        }
        rep->wall_ns = now_ns() - t0;
        rep->cpu_ns = rusage_ns() - c0;
        bcast_reader_close(r);
        _exit(0);
    }
    waitpid(child, &st, 0);
    if (words) {
        arms = wait_word(words, WAIT_OFF_ARMS) - arms0;
        seq = wait_word(words, WAIT_OFF_SEQ) - seq0;
    }
    bcast_writer_close(w);
    wait_words_unmap(words);
    unlink_channel(path);
    if (rep->err || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("wake: the idle reader failed", rep->err ? rep->err : -ECHILD);
    double pct_cpu = rep->wall_ns ? 100.0 * (double)rep->cpu_ns / (double)rep->wall_ns : 0.0;
    if (o.json) {
        printf("{\"bench\":\"wake\",\"case\":\"idle\",\"cpu\":%d,\"seconds\":%.3f,"
               "\"spin_ns\":%s,\"cpu_ns\":%" PRIu64 ",\"cpu_pct\":%.5f,"
               "\"wait_returns\":%" PRIu64 ",\"sleep_episodes\":%" PRIu32
               ",\"wake_calls\":%" PRIu32 "}\n",
               cpu_for(1), (double)rep->wall_ns / 1e9, spin_json(), rep->cpu_ns, pct_cpu,
               rep->returns, arms, seq);
    } else {
        printf("idle: a reader process on CPU %d waiting %.3f s on a silent channel (its "
               "writer alive, %s):\n  CPU time %.3f ms (user + system, "
               "getrusage) = %.5f %% of one CPU; %" PRIu32 " sleep episodes, %" PRIu32
               " wake-up calls\n",
               cpu_for(1), (double)rep->wall_ns / 1e9, spin_text(), (double)rep->cpu_ns / 1e6, pct_cpu, arms, seq);
    }
    munmap(rep, sizeof *rep);
}

struct fan_shared {
    _Atomic int ready;
    _Atomic int done;
    struct wake_report rd[MAX_CPUS];
};

/* the writer's wake-ups with --readers processes waiting on a channel that
   receives --messages as fast as the writer can send them */
static void wake_fanout(void)
{
    struct fan_shared *sh;
    struct bcast_writer *w;
    const uint8_t *words;
    char path[256];
    uint8_t payload[1 << 16];
    uint32_t arms0 = 0, seq0 = 0, arms = 0, seq = 0;
    uint64_t t0, t1, alone;
    pid_t pids[MAX_CPUS];
    int rc, all_armed = 0, shared = 0;

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("memory", -ENOMEM);
    memset(sh, 0, sizeof *sh);
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)i;
    snprintf(path, sizeof path, "%s/bcast-bench-wake-fan.%d", o.dir, (int)getpid());
    if ((rc = bcast_writer_create_file(path, 8u << 20, 0, &w)) < 0)
        die(path, rc);
    words = wait_words_map(path);
    pin(cpu_for(0));
    /* the same sends with nobody waiting, for comparison */
    t0 = now_ns();
    for (uint64_t i = 0; i < o.messages; i++)
        if ((rc = bcast_writer_send(w, payload, o.size, (uint32_t)i, 0)) < 0)
            die("send", rc);
    alone = now_ns() - t0;
    if (words) {
        arms0 = wait_word(words, WAIT_OFF_ARMS);
        seq0 = wait_word(words, WAIT_OFF_SEQ);
    }
    fflush(stdout);
    for (int i = 0; i < o.wake_readers; i++) {
        for (int j = 0; j < i; j++)
            if (cpu_for(1 + j) == cpu_for(1 + i))
                shared = 1;
        if ((pids[i] = fork()) < 0)
            die("fork", -errno);
        if (pids[i] == 0) {
            struct wake_report *me = &sh->rd[i];
            struct bcast_reader *r;

            pin(cpu_for(1 + i));
            if ((rc = bcast_reader_open_file(path, 0, &r)) < 0) {
                me->err = rc;
                atomic_fetch_add(&sh->ready, 1);
                _exit(1);
            }
            if (o.spin_set)
                bcast_reader_set_wait_spin(r, o.spin_ns);
            atomic_fetch_add(&sh->ready, 1);
            for (;;) {
                uint64_t n = 0;
                int next;
                rc = bcast_reader_poll(r, tp_count, &n, 256);
                next = tally(r, n, rc, &me->received, &me->overruns, &me->err);
                if (next > 0)
                    continue;
                if (next < 0)
                    break;
                if (atomic_load(&sh->done) && bcast_reader_pending(r) == 0)
                    break;
                bcast_reader_wait(r, 100000000);
                me->returns++;
            }
            bcast_reader_close(r);
            _exit(me->err ? 1 : 0);
        }
    }
    while (atomic_load(&sh->ready) < o.wake_readers)
        usleep(1000);
    /* every reader asleep: as many sleep episodes begun as readers (10 s at most) */
    for (int tries = 0; words && tries < 10000; tries++) {
        if ((uint32_t)(wait_word(words, WAIT_OFF_ARMS) - arms0) >= (uint32_t)o.wake_readers) {
            all_armed = 1;
            break;
        }
        usleep(1000);
    }
    if (words)
        seq0 = wait_word(words, WAIT_OFF_SEQ);
    t0 = now_ns();
    for (uint64_t i = 0; i < o.messages; i++)
        if ((rc = bcast_writer_send(w, payload, o.size, (uint32_t)i, 0)) < 0)
            die("send", rc);
    t1 = now_ns();
    if (words) {
        arms = wait_word(words, WAIT_OFF_ARMS) - arms0;
        seq = wait_word(words, WAIT_OFF_SEQ) - seq0;
    }
    atomic_store(&sh->done, 1);
    bcast_writer_close(w); /* wakes the sleepers */
    for (int i = 0; i < o.wake_readers; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (sh->rd[i].err)
            die("wake: reader", sh->rd[i].err);
    }
    wait_words_unmap(words);
    unlink_channel(path);

    double pub = (double)(t1 - t0) / (double)o.messages;
    double pub_alone = (double)alone / (double)o.messages;
    if (o.json) {
        printf("{\"bench\":\"wake\",\"case\":\"fanout\",\"readers\":%d,\"messages\":%" PRIu64
               ",\"size\":%zu,\"writer_cpu\":%d,\"cpus_shared\":%s,\"all_asleep_at_start\":%s,"
               "\"spin_ns\":%s,\"wake_calls\":%" PRIu32 ",\"sleep_episodes\":%" PRIu32
               ",\"publish_ns_per_msg\":%.3f,\"publish_alone_ns_per_msg\":%.3f,\"delivery_pct\":[",
               o.wake_readers, o.messages, o.size, cpu_for(0), shared ? "true" : "false",
               all_armed ? "true" : "false", spin_json(), seq, arms, pub,
               pub_alone);
        for (int i = 0; i < o.wake_readers; i++)
            printf("%s%.4f", i ? "," : "",
                   100.0 * (double)sh->rd[i].received / (double)o.messages);
        printf("],\"overruns\":[");
        for (int i = 0; i < o.wake_readers; i++)
            printf("%s%" PRIu64, i ? "," : "", sh->rd[i].overruns);
        printf("]}\n");
    } else {
        printf("fanout: %d reader processes waiting%s (%s), writer on CPU %d, "
               "%" PRIu64 " messages of %zu bytes\n  into an 8 MiB channel as fast as it can:\n",
               o.wake_readers, all_armed ? ", all asleep at the start" : "",
               spin_text(), cpu_for(0), o.messages, o.size);
        if (shared)
            printf("  (readers share CPUs: fewer CPUs than readers + 1)\n");
        printf("  %" PRIu32 " wake-up calls for %" PRIu32 " sleep episodes; publish %.2f "
               "ns/msg (%.2f with nobody waiting)\n  delivery %%:",
               seq, arms, pub, pub_alone);
        for (int i = 0; i < o.wake_readers; i++)
            printf(" %.2f", 100.0 * (double)sh->rd[i].received / (double)o.messages);
        printf("; overruns:");
        for (int i = 0; i < o.wake_readers; i++)
            printf(" %" PRIu64, sh->rd[i].overruns);
        printf("\n");
    }
    munmap(sh, sizeof *sh);
}

static int cmd_wake(void)
{
    if (!o.messages_set)
        o.messages = 1000000;
    wake_pingpong();
    if (o.idle_seconds > 0)
        wake_idle();
    if (o.wake_readers > 0)
        wake_fanout();
    return 0;
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-bench COMMAND [OPTIONS]\n"
            "Benchmarks of libbcast (see bcast-bench(1)).\n\n"
            "Commands:\n"
            "  rtt          8-byte round-trip latency against the raw cache-line floor\n"
            "  throughput   one writer, N readers, no back-pressure\n"
            "  ops          a send (and receive) loop for instruction counting\n"
            "  wake         round trip through sleeping readers against a futex floor,\n"
            "               an idle reader's CPU time, wake-up calls with readers asleep\n\n"
            "Options:\n"
            "  --cpus A,B,...      CPUs to pin to, writer first (default 0, then 1..)\n"
            "  --json              one JSON object per case on stdout\n"
            "  --shm               rtt: two processes over /dev/shm files\n"
            "  --blocks N          rtt, wake: alternating blocks per side, first discarded (11)\n"
            "  --readers N         throughput: reader threads (1; 0: the writer alone);\n"
            "                      wake: readers asleep (4)\n"
            "  --api next|poll|bulk  throughput: read path (poll)\n"
            "  --size BYTES        throughput: payload size (73)\n"
            "  --messages N        throughput: messages published (10000000); wake: (1000000)\n"
            "  --idle-pause N      throughput: pause instructions after a read found nothing (1)\n"
            "  --dir DIR           throughput, rtt --shm, wake: directory for channel files\n"
            "                      (/dev/shm)\n"
            "  --round-trips N     wake: measured round trips of each kind (20000)\n"
            "  --idle-seconds S    wake: how long the idle reader waits (10; 0: skip)\n"
            "  --spin NS           wake: spin budget of the idle and fan-out readers\n"
            "                      (the library's default)\n"
            "  --mode MODE         ops: loop body: write, write+read (the default),\n"
            "                      write+read-msg (receive with a message) or\n"
            "                      write+next (next, then bcast_message_read);\n"
            "                      large (1 MiB: send_large, assembler_receive),\n"
            "                      large-send, memcpy (1 MiB)\n"
            "  --iterations N      ops: iterations (1000000)\n"
            "  --harness           ops: call functions that do nothing (the loop's own cost)\n"
            "  -h, --help          this text\n"
            "  -V, --version       library version\n\n"
            "Exit status: 0 ok, 1 usage, 2 runtime error.\n");
}

static int parse_cpus(const char *s)
{
    char *end;
    o.ncpus = 0;
    while (*s && o.ncpus < MAX_CPUS) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v >= CPU_SETSIZE)
            return -1;
        o.cpus[o.ncpus++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return o.ncpus ? 0 : -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *v = x;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"cpus", required_argument, 0, 'c'},     {"json", no_argument, 0, 'j'},
        {"shm", no_argument, 0, 's'},            {"readers", required_argument, 0, 'r'},
        {"api", required_argument, 0, 'a'},      {"size", required_argument, 0, 'z'},
        {"messages", required_argument, 0, 'm'}, {"iterations", required_argument, 0, 'i'},
        {"mode", required_argument, 0, 'o'},     {"dir", required_argument, 0, 'd'},
        {"blocks", required_argument, 0, 'b'},   {"harness", no_argument, 0, 'H'},
        {"idle-pause", required_argument, 0, 'P'},
        {"round-trips", required_argument, 0, 'R'}, {"idle-seconds", required_argument, 0, 'I'},
        {"spin", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},        {0, 0, 0, 0},
    };
    const char *cmd;
    uint64_t v;
    int c;

    while ((c = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (parse_cpus(optarg) < 0)
                goto bad;
            break;
        case 'j': o.json = 1; break;
        case 's': o.shm = 1; break;
        case 'r':
            if (parse_u64(optarg, &v) < 0 || v > MAX_CPUS - 1)
                goto bad;
            o.readers = o.wake_readers = (int)v;
            break;
        case 'a':
            if (strcmp(optarg, "next") && strcmp(optarg, "poll") && strcmp(optarg, "bulk"))
                goto bad;
            o.api = optarg;
            break;
        case 'z':
            if (parse_u64(optarg, &v) < 0 || v > 65536)
                goto bad;
            o.size = (size_t)v;
            break;
        case 'm':
            if (parse_u64(optarg, &v) < 0 || v < 1)
                goto bad;
            o.messages = v;
            o.messages_set = 1;
            break;
        case 'i':
            if (parse_u64(optarg, &v) < 0)
                goto bad;
            o.iterations = v;
            break;
        case 'o': o.mode = optarg; break;
        case 'd': o.dir = optarg; break;
        case 'b':
            if (parse_u64(optarg, &v) < 0 || v < 2 || v > 1000)
                goto bad;
            o.blocks = (int)v;
            break;
        case 'H': o.harness = 1; break;
        case 'R':
            if (parse_u64(optarg, &v) < 0 || v < 1 || v > 100000000)
                goto bad;
            o.round_trips = v;
            break;
        case 'I': {
            char *end;
            errno = 0;
            o.idle_seconds = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.idle_seconds >= 0) ||
                o.idle_seconds > 86400)
                goto bad;
            break;
        }
        case 'S':
            if (parse_u64(optarg, &v) < 0 || v > 1000000000)
                goto bad;
            o.spin_ns = v;
            o.spin_set = 1;
            break;
        case 'P':
            if (parse_u64(optarg, &v) < 0 || v > 1000000)
                goto bad;
            o.idle_pause = v;
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("bcast-bench (libbcast) %s\n", bcast_version()); return 0;
        default: goto usage_err;
        }
    }
    if (optind + 1 != argc)
        goto usage_err;
    cmd = argv[optind];
    if (strcmp(cmd, "rtt") == 0)
        return cmd_rtt();
    if (strcmp(cmd, "throughput") == 0)
        return cmd_throughput();
    if (strcmp(cmd, "ops") == 0)
        return cmd_ops();
    if (strcmp(cmd, "wake") == 0)
        return cmd_wake();
    fprintf(stderr, "bcast-bench: unknown command '%s'\n", cmd);
    goto usage_err;
bad:
    fprintf(stderr, "bcast-bench: bad value for an option: '%s'\n", optarg);
usage_err:
    usage(stderr);
    return EXIT_USAGE;
}
