/*
 * bcast-tail: print the messages of a file-backed channel as they arrive.
 *
 * A plain reader (bcast_reader_open_file*), so it never disturbs the
 * writer.  Overruns are reported on stderr with the number of bytes lost
 * and reading goes on from the producer position.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

enum start { START_PRODUCER, START_ZERO, START_LAST_LAP, START_POSITION };
enum format { FORMAT_TEXT, FORMAT_HEX, FORMAT_PAYLOAD };

#define MAX_FILTERS 64

struct tail_opts {
    int follow;
    enum start start;
    uint64_t position;
    uint64_t limit; /* 0 = no limit */
    int have_limit;
    enum format format;
    uint32_t filters[MAX_FILTERS];
    size_t nfilters;
    const char *path;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-tail [OPTION]... PATH\n"
            "Print the messages of the libbcast channel file PATH.\n"
            "Without -f or -n, print what is pending and exit.\n"
            "\n"
            "  -f, --follow            keep waiting for new messages\n"
            "      --from-start        start at stream position 0\n"
            "      --last-lap          start at the oldest lap still in the ring\n"
            "      --position=N        start at stream position N (a multiple of 8)\n"
            "  -n, --count=N           stop after N messages\n"
            "  -p, --payload           print only each payload, then a newline\n"
            "  -x, --hex               print payloads as a hex dump\n"
            "  -u, --filter=USER       only messages whose user_defined is USER\n"
            "                          (repeat for several values)\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "By default reading starts at the producer position (new messages only).\n"
            "Each line: position user_defined flags length \"payload\".\n"
            "Exit status: 0 ok, 1 usage error, 2 runtime error.\n");
}

static int keep(uint32_t user, void *ctx)
{
    const struct tail_opts *o = ctx;

    for (size_t i = 0; i < o->nfilters; i++)
        if (o->filters[i] == user)
            return 1;
    return 0;
}

static const char *flags_text(int flags, char *buf)
{
    buf[0] = '\0';
    if (flags & BCAST_MORE)
        strcat(buf, "MORE,");
    if (flags & BCAST_CONTINUATION)
        strcat(buf, "CONT,");
    if (flags & BCAST_HEARTBEAT)
        strcat(buf, "HB,");
    if (!buf[0])
        return "-";
    buf[strlen(buf) - 1] = '\0';
    return buf;
}

static void print_escaped(const unsigned char *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        switch (c) {
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\0': fputs("\\0", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '"': fputs("\\\"", stdout); break;
        default:
            if (c < 0x20 || c > 0x7e)
                printf("\\x%02x", c);
            else
                putchar(c);
        }
    }
    putchar('"');
}

static void print_hexdump(const unsigned char *p, size_t n)
{
    for (size_t off = 0; off < n; off += 16) {
        size_t row = n - off < 16 ? n - off : 16;
        printf("  %08zx ", off);
        for (size_t i = 0; i < 16; i++) {
            if (i == 8)
                putchar(' ');
            if (i < row)
                printf(" %02x", p[off + i]);
            else
                fputs("   ", stdout);
        }
        fputs("  |", stdout);
        for (size_t i = 0; i < row; i++)
            putchar(p[off + i] >= 0x20 && p[off + i] <= 0x7e ? p[off + i] : '.');
        fputs("|\n", stdout);
    }
}

/* open the reader where the options say; 0 or -errno */
static int open_reader(const struct tail_opts *o, struct bcast_reader **r)
{
    const int flags = BCAST_FILE_NO_POPULATE;

    switch (o->start) {
    case START_ZERO:
        return bcast_reader_open_file_at(o->path, 0, flags, r);
    case START_POSITION:
        return bcast_reader_open_file_at(o->path, o->position, flags, r);
    case START_LAST_LAP:
        return bcast_reader_open_file_last_lap(o->path, flags, r);
    case START_PRODUCER:
    default:
        return bcast_reader_open_file(o->path, flags, r);
    }
}

static int tail(const struct tail_opts *o, struct bcast_reader *r)
{
    struct bcast_message *msg = bcast_message_new();
    size_t cap = bcast_reader_mtu(r);
    unsigned char *buf;
    uint64_t printed = 0;
    int in_train = 0, status = TOOL_EXIT_OK;
    long idle = 0;

    if (cap > 65536)
        cap = 65536; /* grown on -ERANGE */
    buf = malloc(cap ? cap : 1);
    if (!msg || !buf) {
        tool_error(o->path, -ENOMEM);
        status = TOOL_EXIT_ERROR;
        goto out;
    }
    if (o->nfilters)
        bcast_reader_set_filter(r, keep, (void *)o);

    while (!tool_stop && !(o->have_limit && printed >= o->limit)) {
        ssize_t n = bcast_reader_receive(r, buf, cap, msg);
        char fbuf[32];
        int flags;

        if (n == -EAGAIN) {
            if (!o->follow && !o->have_limit)
                break;
            fflush(stdout);
            tool_idle(&idle);
            continue;
        }
        if (n == -ENOBUFS) {
            uint64_t before = bcast_reader_position(r);
            bcast_reader_reset(r);
            if (in_train) { /* the rest of that message is gone */
                putchar('\n');
                in_train = 0;
            }
            fflush(stdout);
            fprintf(stderr, "%s: %s: overrun at position %llu, %llu bytes lost\n", tool_name,
                    o->path, (unsigned long long)before,
                    (unsigned long long)(bcast_reader_position(r) - before));
            continue;
        }
        if (n == -ERANGE) {
            size_t want = bcast_message_len(msg);
            unsigned char *nb = realloc(buf, want);
            if (!nb) {
                tool_error(o->path, -ENOMEM);
                status = TOOL_EXIT_ERROR;
                break;
            }
            buf = nb;
            cap = want;
            continue;
        }
        if (n < 0) {
            fflush(stdout);
            tool_error(o->path, (int)n);
            status = TOOL_EXIT_ERROR;
            break;
        }
        idle = 0;
        flags = bcast_message_flags(msg);
        if (o->format == FORMAT_PAYLOAD) {
            if (flags & BCAST_HEARTBEAT)
                continue; /* no payload */
            if (in_train && !(flags & BCAST_CONTINUATION))
                putchar('\n'); /* a train cut short by its writer */
            fwrite(buf, 1, (size_t)n, stdout);
            in_train = (flags & BCAST_MORE) != 0;
            if (!in_train) {
                putchar('\n');
                printed++;
            }
            continue;
        }
        printf("%llu %lu %s %zu", (unsigned long long)bcast_message_position(msg),
               (unsigned long)bcast_message_user_defined(msg), flags_text(flags, fbuf),
               (size_t)n);
        if (o->format == FORMAT_HEX) {
            putchar('\n');
            print_hexdump(buf, (size_t)n);
        } else {
            putchar(' ');
            print_escaped(buf, (size_t)n);
            putchar('\n');
        }
        printed++;
    }
    if (in_train)
        putchar('\n');
out:
    free(buf);
    bcast_message_free(msg);
    return status;
}

int main(int argc, char **argv)
{
    enum { OPT_FROM_START = 256, OPT_LAST_LAP, OPT_POSITION };
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"from-start", no_argument, NULL, OPT_FROM_START},
        {"last-lap", no_argument, NULL, OPT_LAST_LAP},
        {"position", required_argument, NULL, OPT_POSITION},
        {"count", required_argument, NULL, 'n'},
        {"payload", no_argument, NULL, 'p'},
        {"hex", no_argument, NULL, 'x'},
        {"filter", required_argument, NULL, 'u'},
        TOOL_LONGOPTS_END,
    };
    struct tail_opts o;
    struct bcast_reader *r;
    int opt, rc, starts = 0, formats = 0, status;

    memset(&o, 0, sizeof o);
    tool_name = "bcast-tail";
    while ((opt = tool_getopt(argc, argv, TOOL_OPTSTRING("fn:pxu:"), longopts, usage)) != -1) {
        switch (opt) {
        case 'f':
            o.follow = 1;
            break;
        case OPT_FROM_START:
            o.start = START_ZERO;
            starts++;
            break;
        case OPT_LAST_LAP:
            o.start = START_LAST_LAP;
            starts++;
            break;
        case OPT_POSITION:
            if (tool_parse_u64(optarg, &o.position) < 0)
                return tool_usage_error("invalid --position '%s'", optarg);
            if (o.position & 7)
                return tool_usage_error("--position must be a multiple of 8, not %s", optarg);
            o.start = START_POSITION;
            starts++;
            break;
        case 'n':
            if (tool_parse_u64(optarg, &o.limit) < 0)
                return tool_usage_error("invalid count '%s'", optarg);
            o.have_limit = 1;
            break;
        case 'p':
            o.format = FORMAT_PAYLOAD;
            formats++;
            break;
        case 'x':
            o.format = FORMAT_HEX;
            formats++;
            break;
        case 'u':
            if (o.nfilters == MAX_FILTERS)
                return tool_usage_error("at most %d --filter values", MAX_FILTERS);
            if (tool_parse_u32(optarg, &o.filters[o.nfilters]) < 0)
                return tool_usage_error("invalid --filter '%s'", optarg);
            o.nfilters++;
            break;
        }
    }
    if (starts > 1)
        return tool_usage_error("--from-start, --last-lap and --position exclude each other");
    if (formats > 1)
        return tool_usage_error("--payload and --hex exclude each other");
    o.path = argv[optind];

    tool_catch_signals();
    if ((rc = open_reader(&o, &r)) < 0) {
        tool_open_error(o.path, rc, TOOL_OPEN_READER, 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(o.path);
    status = tail(&o, r);
    bcast_reader_close(r);
    rc = tool_finish_stdout();
    return status ? status : rc;
}
