/*
 * bcast-stat: show the state of a file-backed channel (capacity, MTU,
 * positions, lap count, writer lock, metadata), once or every interval
 * with the message and byte rates seen by a reader.
 *
 * The capacity, MTU and metadata come from the public API; the producer
 * and claimed positions and the lap count, which the API does not expose,
 * from a pread of the header.  Nothing here writes to the channel or
 * blocks its writer: the writer lock's state comes from /proc/locks, and
 * the lock file is never opened.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <bcast.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

struct stat_opts {
    int json;
    int watch;
    double interval;
    uint64_t count; /* samples to print with --watch; 0 = until stopped */
    const char *path;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-stat [OPTION]... PATH\n"
            "Show the state of the libbcast channel file PATH.\n"
            "\n"
            "  -j, --json              print one JSON object\n"
            "  -w, --watch[=SECONDS]   print a line of rates every SECONDS (default 1)\n"
            "  -c, --count=N           with --watch, stop after N lines\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "Exit status: 0 ok, 1 usage error, 2 runtime error.\n");
}

static void json_string(const unsigned char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* the metadata without its trailing NULs; *text when it is printable ASCII */
static size_t metadata_trim(const unsigned char *md, int *text)
{
    size_t n = BCAST_METADATA_SIZE;

    while (n > 0 && md[n - 1] == 0)
        n--;
    *text = 1;
    for (size_t i = 0; i < n; i++)
        if (md[i] < 0x20 || md[i] > 0x7e)
            *text = 0;
    return n;
}

static void print_hex(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static const char *json_bool(int b)
{
    return b ? "true" : "false";
}

/* the writer lock state of tool_writer_locked(): held, free, or unknown
   (JSON null) when it could not be told, never an error: a monitor keeps
   working without access to the lock file */
static const char *lock_word(int locked)
{
    return locked < 0 ? "unknown" : locked ? "held" : "free";
}

static const char *json_lock(int locked)
{
    return locked < 0 ? "null" : json_bool(locked);
}

static void print_stat(const struct stat_opts *o, struct bcast_reader *r,
                       const struct tool_header *h, int locked)
{
    const unsigned char *md = bcast_reader_metadata(r);
    int text;
    size_t mdlen = metadata_trim(md, &text);

    if (o->json) {
        printf("{\"path\":");
        json_string((const unsigned char *)o->path, strlen(o->path));
        printf(",\"capacity\":%zu,\"mtu\":%zu,\"producer_position\":%llu,"
               "\"claimed_position\":%llu,\"lap_count\":%llu,\"writer_locked\":%s,"
               "\"metadata_encoding\":\"%s\",\"metadata\":",
               bcast_reader_capacity(r), bcast_reader_mtu(r),
               (unsigned long long)h->producer_position,
               (unsigned long long)h->claimed_position, (unsigned long long)h->lap_count,
               json_lock(locked), text ? "text" : "hex");
        if (text) {
            json_string(md, mdlen);
        } else {
            putchar('"');
            print_hex(md, mdlen);
            putchar('"');
        }
        printf("}\n");
        return;
    }
    printf("path:              %s\n", o->path);
    printf("capacity:          %zu\n", bcast_reader_capacity(r));
    printf("mtu:               %zu\n", bcast_reader_mtu(r));
    printf("producer_position: %llu\n", (unsigned long long)h->producer_position);
    printf("claimed_position:  %llu\n", (unsigned long long)h->claimed_position);
    printf("lap_count:         %llu\n", (unsigned long long)h->lap_count);
    if (locked < 0)
        printf("writer_lock:       unknown (%s)\n", bcast_strerror(locked));
    else
        printf("writer_lock:       %s\n", lock_word(locked));
    if (mdlen == 0)
        printf("metadata:          (none)\n");
    else if (text)
        printf("metadata:          %.*s\n", (int)mdlen, (const char *)md);
    else {
        printf("metadata (hex):    ");
        print_hex(md, mdlen);
        putchar('\n');
    }
}

struct counts {
    uint64_t messages; /* complete, non-heartbeat messages */
    uint64_t bytes;    /* payload bytes of non-heartbeat frames */
    uint64_t lost;     /* bytes skipped after overruns */
};

/*
 * Read what the writer published since the last call, in bulk windows, and
 * count it.  Returns 1 when something was read, 0 when idle, -errno on a
 * corrupt channel.  Bounded so a fast writer cannot keep it from returning.
 */
static int drain(struct bcast_reader *r, void **buf, size_t *cap, struct counts *c)
{
    struct bcast_message *msg = bcast_message_new();
    int busy = 0, rc = 0;

    if (!msg)
        return -ENOMEM;
    for (int round = 0; round < 64 && !tool_stop; round++) {
        uint64_t start;
        ssize_t n = bcast_reader_read_bulk(r, *buf, *cap, &start);
        size_t off = 0;

        if (n == -EAGAIN)
            break;
        if (n == -ENOBUFS) {
            uint64_t before = bcast_reader_position(r);
            bcast_reader_reset(r);
            c->lost += bcast_reader_position(r) - before;
            busy = 1;
            continue;
        }
        if (n == -ERANGE && *cap < bcast_reader_capacity(r) / 2) {
            size_t want = bcast_reader_capacity(r) / 2;
            void *nb = realloc(*buf, want);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            *buf = nb;
            *cap = want;
            continue;
        }
        if (n < 0) {
            rc = (int)n;
            break;
        }
        busy = 1;
        while ((rc = bcast_bulk_next(*buf, (size_t)n, &off, start, msg)) == 0) {
            int flags = bcast_message_flags(msg);
            if (flags & BCAST_HEARTBEAT)
                continue;
            c->bytes += bcast_message_len(msg);
            if (!(flags & BCAST_MORE))
                c->messages++;
        }
        if (rc != -EAGAIN)
            break;
        rc = 0;
    }
    bcast_message_free(msg);
    return rc < 0 ? rc : busy;
}

static int watch(const struct stat_opts *o, struct bcast_reader *r)
{
    size_t cap = bcast_reader_capacity(r) / 2;
    struct counts c = {0, 0, 0};
    double last = tool_now(), next = last + o->interval;
    uint64_t lines = 0;
    long idle = 0;
    void *buf;

    if (cap > (1u << 20))
        cap = 1u << 20; /* grown to capacity / 2 if a frame needs it */
    if (!(buf = malloc(cap))) {
        tool_error(o->path, -ENOMEM);
        return TOOL_EXIT_ERROR;
    }
    while (!tool_stop) {
        int rc = drain(r, &buf, &cap, &c);
        double now;

        if (rc < 0) {
            free(buf);
            tool_error(o->path, rc);
            return TOOL_EXIT_ERROR;
        }
        now = tool_now();
        if (now >= next) {
            struct tool_header h;
            double dt = now - last;
            int locked;

            if ((rc = tool_header_read(o->path, &h)) < 0) {
                free(buf);
                tool_error(o->path, rc);
                return TOOL_EXIT_ERROR;
            }
            locked = tool_writer_locked(o->path);
            if (o->json)
                printf("{\"producer_position\":%llu,\"claimed_position\":%llu,"
                       "\"lap_count\":%llu,\"writer_locked\":%s,\"interval\":%.3f,"
                       "\"messages\":%llu,\"bytes\":%llu,\"lost_bytes\":%llu,"
                       "\"messages_per_sec\":%.1f,\"mb_per_sec\":%.3f}\n",
                       (unsigned long long)h.producer_position,
                       (unsigned long long)h.claimed_position,
                       (unsigned long long)h.lap_count, json_lock(locked), dt,
                       (unsigned long long)c.messages, (unsigned long long)c.bytes,
                       (unsigned long long)c.lost, (double)c.messages / dt,
                       (double)c.bytes / dt / 1e6);
            else
                printf("producer=%llu msgs/s=%.1f MB/s=%.3f lost=%llu writer=%s\n",
                       (unsigned long long)h.producer_position, (double)c.messages / dt,
                       (double)c.bytes / dt / 1e6, (unsigned long long)c.lost,
                       lock_word(locked));
            fflush(stdout);
            c = (struct counts){0, 0, 0};
            last = now;
            next += o->interval;
            if (next <= now)
                next = now + o->interval; /* fell behind: do not print bursts */
            if (o->count && ++lines >= o->count)
                break;
            continue;
        }
        if (rc == 0)
            tool_idle(&idle);
        else
            idle = 0;
    }
    free(buf);
    return TOOL_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"watch", optional_argument, NULL, 'w'},
        {"count", required_argument, NULL, 'c'},
        TOOL_LONGOPTS_END,
    };
    struct stat_opts o = {0, 0, 1.0, 0, NULL};
    struct bcast_reader *r;
    struct tool_header h;
    int opt, rc, locked, status;

    tool_name = "bcast-stat";
    while ((opt = tool_getopt(argc, argv, TOOL_OPTSTRING("jw::c:"), longopts, usage)) != -1) {
        switch (opt) {
        case 'j':
            o.json = 1;
            break;
        case 'w':
            o.watch = 1;
            if (optarg) {
                char *end;
                errno = 0;
                o.interval = strtod(optarg, &end);
                if (errno || end == optarg || *end || !isfinite(o.interval) ||
                    o.interval <= 0 || o.interval > 86400)
                    return tool_usage_error("invalid --watch interval '%s'", optarg);
            }
            break;
        case 'c':
            if (tool_parse_u64(optarg, &o.count) < 0 || o.count == 0)
                return tool_usage_error("invalid --count '%s'", optarg);
            break;
        }
    }
    if (o.count && !o.watch)
        return tool_usage_error("--count needs --watch");
    o.path = argv[optind];

    if ((rc = bcast_reader_open_file(o.path, BCAST_FILE_NO_POPULATE, &r)) < 0) {
        tool_open_error(o.path, rc, TOOL_OPEN_READER, 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(o.path);
    if ((rc = tool_header_read(o.path, &h)) < 0) {
        bcast_reader_close(r);
        tool_error(o.path, rc);
        return TOOL_EXIT_ERROR;
    }
    locked = tool_writer_locked(o.path); /* < 0: unknown, said in the field */
    if (o.watch) {
        tool_catch_signals();
        if (!o.json)
            print_stat(&o, r, &h, locked);
        fflush(stdout);
        status = watch(&o, r);
    } else {
        print_stat(&o, r, &h, locked);
        status = TOOL_EXIT_OK;
    }
    bcast_reader_close(r);
    rc = tool_finish_stdout();
    return status ? status : rc;
}
