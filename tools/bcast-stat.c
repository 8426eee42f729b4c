/*
 * bcast-stat: show the state of file-backed channels (capacity, MTU,
 * positions, lap count, writer lock, metadata), once or, for one channel,
 * every interval with the writer's rates; or list the channels of a
 * directory.
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
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tool.h"

struct stat_opts {
    int json;
    int list;
    int watch;
    double interval;
    uint64_t count; /* samples to print with --watch; 0 = until stopped */
    const char *path;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-stat [OPTION]... PATH...\n"
            "  or:  bcast-stat --list [OPTION]... [DIR]\n"
            "Show the state of the libbcast channel files PATH..., or list the\n"
            "channels in DIR (default /dev/shm).\n"
            "\n"
            "  -j, --json              print one JSON object per channel or line\n"
            "  -l, --list              list every channel in DIR: capacity, positions,\n"
            "                          writer, owner\n"
            "  -w, --watch[=SECONDS]   for one PATH, print the writer's rates every\n"
            "                          SECONDS (default 1), each line with the time\n"
            "  -c, --count=N           with --watch, stop after N lines\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "Rates: ring bytes from the producer position; messages and payload\n"
            "bytes counted by reading, scaled up when the writer outran this reader\n"
            "(sampled < 100%%).  MB = 10^6 bytes.\n"
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
    uint64_t lost;     /* ring bytes this reader skipped after overruns */
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

/* the wall-clock time, "2026-12-06T11:00:01.123+0000" (local time, ISO 8601) */
static const char *timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    char zone[8];
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(zone, sizeof zone, "%z", &tm) == 0)
        zone[0] = '\0';
    snprintf(buf + n, size - n, ".%03ld%s", ts.tv_nsec / 1000000, zone);
    return buf;
}

/*
 * Every interval, one line of the writer's rates.  The ring rate is the
 * producer position's advance (frame headers and padding included), which
 * is exact whatever this reader manages.  Messages and payload bytes are
 * counted by reading; when the writer outran the reader (sampled < 100%),
 * they are scaled by the share of the ring bytes it read.
 */
static int watch(const struct stat_opts *o, struct bcast_reader *r, uint64_t producer)
{
    size_t cap = bcast_reader_capacity(r) / 2;
    struct counts c = {0, 0, 0};
    double last = tool_now(), next = last + o->interval;
    uint64_t lines = 0, last_read = bcast_reader_position(r);
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
            double dt = now - last, share = 1.0, msgs, payload;
            uint64_t ring, read_now = bcast_reader_position(r), read;
            char when[48];
            int locked;

            if ((rc = tool_header_read(o->path, &h)) < 0) {
                free(buf);
                tool_error(o->path, rc);
                return TOOL_EXIT_ERROR;
            }
            locked = tool_writer_locked(o->path);
            ring = h.producer_position - producer;
            read = read_now - last_read - c.lost;
            if (c.lost && read > 0 && read < ring)
                share = (double)read / (double)ring;
            else if (c.lost)
                share = 0;
            msgs = share > 0 ? (double)c.messages / share : 0;
            payload = share > 0 ? (double)c.bytes / share : 0;
            timestamp(when, sizeof when);
            if (o->json)
                printf("{\"time\":\"%s\",\"producer_position\":%llu,\"claimed_position\":%llu,"
                       "\"lap_count\":%llu,\"writer_locked\":%s,\"interval\":%.3f,"
                       "\"ring_bytes\":%llu,\"ring_bytes_per_sec\":%.1f,"
                       "\"messages\":%.0f,\"messages_per_sec\":%.1f,"
                       "\"payload_bytes\":%.0f,\"payload_bytes_per_sec\":%.1f,"
                       "\"mb_per_sec\":%.3f,\"sampled\":%.4f,\"estimated\":%s}\n",
                       when, (unsigned long long)h.producer_position,
                       (unsigned long long)h.claimed_position,
                       (unsigned long long)h.lap_count, json_lock(locked), dt,
                       (unsigned long long)ring, (double)ring / dt, msgs, msgs / dt, payload,
                       payload / dt, payload / dt / 1e6, share, json_bool(share < 1.0));
            else
                printf("%s producer=%llu msgs/s=%s%.1f payload_MB/s=%s%.3f ring_MB/s=%.3f "
                       "sampled=%.2f%% writer=%s\n",
                       when, (unsigned long long)h.producer_position, share < 1.0 ? "~" : "",
                       msgs / dt, share < 1.0 ? "~" : "", payload / dt / 1e6,
                       (double)ring / dt / 1e6, share * 100.0, lock_word(locked));
            fflush(stdout);
            c = (struct counts){0, 0, 0};
            producer = h.producer_position;
            last_read = read_now;
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

/* the owner of a file: its user name, or the uid as a number */
static const char *owner_name(uid_t uid, char *buf, size_t size)
{
    struct passwd *pw = getpwuid(uid);

    if (pw && pw->pw_name)
        return pw->pw_name;
    snprintf(buf, size, "%lu", (unsigned long)uid);
    return buf;
}

/*
 * --list: every regular file in dir whose header reads as a channel, in
 * name order, one line (or JSON object) each.  Files that are not
 * channels, lock files and channels being created are left out.
 */
static int list_dir(const struct stat_opts *o, const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);

    if (n < 0) {
        tool_error(dir, -errno);
        return TOOL_EXIT_ERROR;
    }
    if (!o->json)
        printf("%12s %20s %20s %6s %-6s %-10s %s\n", "CAPACITY", "PRODUCER", "CLAIMED", "LAPS",
               "WRITER", "OWNER", "PATH");
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        struct tool_header h;
        struct stat st;
        char *path = NULL, ubuf[24];
        int locked;

        if (name[0] == '.' || (len > 5 && strcmp(name + len - 5, ".lock") == 0) ||
            (len > 5 && strcmp(name + len - 5, ".wait") == 0) ||
            asprintf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0) {
            free(names[i]);
            continue;
        }
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && tool_header_read(path, &h) == 0) {
            locked = tool_writer_locked(path);
            if (o->json) {
                printf("{\"path\":");
                json_string((const unsigned char *)path, strlen(path));
                printf(",\"capacity\":%llu,\"size\":%llu,\"producer_position\":%llu,"
                       "\"claimed_position\":%llu,\"lap_count\":%llu,\"writer_locked\":%s,"
                       "\"owner\":",
                       (unsigned long long)h.capacity, (unsigned long long)st.st_size,
                       (unsigned long long)h.producer_position,
                       (unsigned long long)h.claimed_position, (unsigned long long)h.lap_count,
                       locked < 0 ? "null" : json_bool(locked));
                json_string((const unsigned char *)owner_name(st.st_uid, ubuf, sizeof ubuf),
                            strlen(owner_name(st.st_uid, ubuf, sizeof ubuf)));
                printf(",\"uid\":%lu}\n", (unsigned long)st.st_uid);
            } else {
                printf("%12llu %20llu %20llu %6llu %-6s %-10s %s\n",
                       (unsigned long long)h.capacity, (unsigned long long)h.producer_position,
                       (unsigned long long)h.claimed_position, (unsigned long long)h.lap_count,
                       locked < 0 ? "?" : locked ? "held" : "free",
                       owner_name(st.st_uid, ubuf, sizeof ubuf), path);
            }
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return TOOL_EXIT_OK;
}

/* the state of one channel, printed once; the exit status */
static int stat_one(struct stat_opts *o, const char *path)
{
    struct bcast_reader *r;
    struct tool_header h;
    int rc, locked, status;

    o->path = path;
    if ((rc = bcast_reader_open_file(o->path, BCAST_FILE_NO_POPULATE, &r)) < 0) {
        tool_open_error(o->path, rc, TOOL_OPEN_READER, 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(o->path);
    if ((rc = tool_header_read(o->path, &h)) < 0) {
        bcast_reader_close(r);
        tool_error(o->path, rc);
        return TOOL_EXIT_ERROR;
    }
    locked = tool_writer_locked(o->path); /* < 0: unknown, said in the field */
    if (o->watch) {
        tool_catch_signals();
        if (!o->json)
            print_stat(o, r, &h, locked);
        fflush(stdout);
        status = watch(o, r, h.producer_position);
    } else {
        print_stat(o, r, &h, locked);
        status = TOOL_EXIT_OK;
    }
    bcast_reader_close(r);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"list", no_argument, NULL, 'l'},
        {"watch", optional_argument, NULL, 'w'},
        {"count", required_argument, NULL, 'c'},
        TOOL_LONGOPTS_END,
    };
    struct stat_opts o = {0, 0, 0, 1.0, 0, NULL};
    int opt, rc, status = TOOL_EXIT_OK;

    tool_name = "bcast-stat";
    while ((opt = tool_getopt_n(argc, argv, TOOL_OPTSTRING("jlw::c:"), longopts, usage, 0, -1)) !=
           -1) {
        switch (opt) {
        case 'j':
            o.json = 1;
            break;
        case 'l':
            o.list = 1;
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
    if (o.list) {
        if (o.watch)
            return tool_usage_error("--list and --watch exclude each other");
        if (argc - optind > 1)
            return tool_usage_error("too many arguments");
        status = list_dir(&o, optind < argc ? argv[optind] : "/dev/shm");
    } else {
        if (optind == argc)
            return tool_usage_error("missing PATH");
        if (o.watch && argc - optind > 1)
            return tool_usage_error("--watch takes one PATH");
        for (int i = optind; i < argc; i++) {
            if (i > optind && !o.json)
                putchar('\n');
            if ((rc = stat_one(&o, argv[i])) != TOOL_EXIT_OK)
                status = rc;
            fflush(stdout);
        }
    }
    rc = tool_finish_stdout();
    return status ? status : rc;
}
