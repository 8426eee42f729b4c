/*
 * bcast-tail: print the messages of a file-backed channel as they arrive.
 *
 * A plain reader (bcast_reader_open_file*): it never changes the channel,
 * and costs the writer only a wake-up call when it has gone to sleep.
 * Overruns are reported on stderr with the number of bytes lost
 * and reading goes on from the producer position.  Like tail(1): -n N
 * starts at the last N messages the ring holds, -f follows the channel,
 * -F follows its name (waits for it, and reopens it when it is replaced).
 * While idle it sleeps in bcast_reader_wait(), 0.2 s at most at a time.
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
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

enum start { START_PRODUCER, START_OLDEST, START_LAST_LAP, START_POSITION, START_LAST_N };
enum format { FORMAT_TEXT, FORMAT_HEX, FORMAT_PAYLOAD };

#define MAX_FILTERS 64

struct tail_opts {
    int follow;
    int follow_name; /* -F: wait for PATH, reopen it when it is replaced */
    enum start start;
    uint64_t position;
    uint64_t last;  /* -n: the last N messages */
    uint64_t limit; /* --count */
    int have_limit;
    enum format format;
    int utf8; /* print valid UTF-8 as it is */
    uint32_t filters[MAX_FILTERS];
    size_t nfilters;
    const char *path;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-tail [OPTION]... PATH\n"
            "Print the messages of the libbcast channel file PATH.\n"
            "Without -f, -F or --count, print what is there and exit.\n"
            "\n"
            "  -n, --lines=N           start at the last N messages the ring holds\n"
            "  -f, --follow            keep waiting for new messages\n"
            "  -F, --follow-name       like -f, but wait for PATH to appear and reopen\n"
            "                          it when it is replaced\n"
            "      --from-start        start at the oldest message the ring holds\n"
            "      --last-lap          start at the oldest lap still in the ring\n"
            "      --position=N        start at stream position N (a multiple of 8)\n"
            "      --count=N           stop after N messages (waits for them)\n"
            "  -p, --payload           print only each payload, then a newline\n"
            "  -x, --hex               print payloads as a hex dump\n"
            "      --utf8              print valid UTF-8 as it is (the default when\n"
            "                          standard output is a terminal)\n"
            "      --ascii             escape every byte outside printable ASCII\n"
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

/* the length of the valid UTF-8 sequence at p that is not a control
   character (C1 controls are U+0080..U+009F), or 0 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t len;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
        return 0; /* overlong, out of range, a surrogate, or a C1 control */
    return len;
}

static void print_escaped(const unsigned char *p, size_t n, int utf8)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        size_t len;

        if (utf8 && c >= 0x80 && (len = utf8_len(p + i, n - i)) > 0) {
            fwrite(p + i, 1, len, stdout);
            i += len - 1;
            continue;
        }
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

/*
 * The oldest message the ring still holds, from a pread of the header:
 * position 0 while the writer has not lapped, otherwise the start of the
 * latest lap (bcast_reader_open_last_lap's rule: frames never wrap, so a
 * lap start is a frame boundary) when it is committed and not overwritten,
 * otherwise the producer position.
 */
static uint64_t oldest_held(const struct tool_header *h)
{
    uint64_t start;

    if (h->claimed_position <= h->capacity && h->producer_position <= h->capacity)
        return 0;
    start = h->lap_count * h->capacity;
    if (h->producer_position - start > h->capacity || h->claimed_position - start > h->capacity)
        start = h->producer_position;
    return start & ~(uint64_t)7;
}

/*
 * Where the last n messages (heartbeats not counted, a fragmented message
 * counted once, the --filter applied) start: a lazy reader walks the frame
 * headers from the oldest message held up to the producer position read
 * first, remembering the last n message starts.  0 and *start, or -errno.
 * An overrun during the walk (a writer faster than the walk) starts it
 * again, three times at most, then settles for the producer position.
 */
static int last_n_start(const struct tail_opts *o, uint64_t n, uint64_t *start)
{
    struct bcast_message *msg = bcast_message_new();
    uint64_t *starts = NULL, slots;
    int rc = 0;

    if (!msg)
        return -ENOMEM;
    for (int attempt = 0; attempt < 4; attempt++) {
        struct bcast_reader *r;
        struct tool_header h;
        uint64_t seen = 0, oldest;

        if ((rc = tool_header_read(o->path, &h)) < 0)
            break;
        *start = h.producer_position & ~(uint64_t)7;
        if (n == 0 || attempt == 3)
            break;
        /* the ring holds at most capacity / 8 frames */
        slots = n < h.capacity / 8 + 1 ? n : h.capacity / 8 + 1;
        free(starts);
        if (!(starts = malloc(slots * sizeof *starts))) {
            rc = -ENOMEM;
            break;
        }
        oldest = oldest_held(&h);
        if ((rc = bcast_reader_open_file_at(o->path, oldest, BCAST_FILE_NO_POPULATE, &r)) < 0)
            break;
        if (o->nfilters)
            bcast_reader_set_filter(r, keep, (void *)o);
        while ((rc = bcast_reader_next(r, msg)) == 0) {
            uint64_t pos = bcast_message_position(msg);
            int flags = bcast_message_flags(msg);

            if (pos >= h.producer_position)
                break;
            if (flags & (BCAST_HEARTBEAT | BCAST_CONTINUATION))
                continue;
            starts[seen % slots] = pos;
            seen++;
        }
        bcast_reader_close(r);
        if (rc == -ENOBUFS)
            continue;
        if (rc < 0 && rc != -EAGAIN)
            break;
        rc = 0;
        if (seen)
            *start = seen <= n ? starts[0] : starts[(seen - n) % slots];
        break;
    }
    free(starts);
    bcast_message_free(msg);
    return rc;
}

/* open the reader where the start rule says; 0 or -errno */
static int open_at(const struct tail_opts *o, enum start how, struct bcast_reader **r)
{
    const int flags = BCAST_FILE_NO_POPULATE;
    struct tool_header h;
    uint64_t start;
    int rc;

    switch (how) {
    case START_LAST_LAP:
        return bcast_reader_open_file_last_lap(o->path, flags, r);
    case START_OLDEST:
        if ((rc = tool_header_read(o->path, &h)) < 0)
            return rc;
        start = oldest_held(&h);
        return bcast_reader_open_file_at(o->path, start, flags, r);
    case START_POSITION:
        return bcast_reader_open_file_at(o->path, o->position, flags, r);
    case START_LAST_N:
        if ((rc = last_n_start(o, o->last, &start)) < 0)
            return rc;
        return bcast_reader_open_file_at(o->path, start, flags, r);
    case START_PRODUCER:
    default:
        return bcast_reader_open_file(o->path, flags, r);
    }
}

/* the file PATH names now: 0, or -errno (-ENOENT when there is none) */
static int path_id(const char *path, dev_t *dev, ino_t *ino)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -errno;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

/* the reader and the file it reads, for -F */
struct source {
    struct bcast_reader *r;
    dev_t dev;
    ino_t ino;
    int removed;     /* PATH was gone at the last look */
    double next_look; /* when to stat PATH again */
};

/*
 * Open PATH as the start rule says, and remember which file it is (the
 * file must be the same before and after the open, or it was replaced
 * meanwhile and is opened again).  With -F, a missing or half-created
 * channel is waited for.  0, 1 when stopped by a signal, or -errno.
 */
static int source_open(const struct tail_opts *o, enum start how, struct source *src)
{
    int said = 0;

    for (;;) {
        dev_t dev = 0, dev2 = 0;
        ino_t ino = 0, ino2 = 0;
        int rc = path_id(o->path, &dev, &ino);

        if (rc == 0)
            rc = open_at(o, how, &src->r);
        if (rc == 0) {
            if (path_id(o->path, &dev2, &ino2) == 0 && dev2 == dev && ino2 == ino) {
                src->dev = dev;
                src->ino = ino;
                src->removed = 0;
                src->next_look = tool_now() + 0.2;
                if (said) {
                    fflush(stdout);
                    fprintf(stderr, "%s: %s: has appeared; following it\n", tool_name, o->path);
                }
                return 0;
            }
            bcast_reader_close(src->r); /* replaced during the open */
            src->r = NULL;
            continue;
        }
        if (!o->follow_name || (rc != -ENOENT && rc != -EAGAIN))
            return rc;
        if (!said && rc == -ENOENT) {
            fprintf(stderr, "%s: %s: %s; waiting for it to appear\n", tool_name, o->path,
                    bcast_strerror(rc));
            said = 1;
        }
        if (tool_stop)
            return 1;
        usleep(100000);
        how = START_OLDEST; /* a channel that appears is new: all of it */
    }
}

/*
 * -F, while idle: whether PATH now names another channel.  Says so on
 * stderr and switches to it, reading it from its oldest message.  0, 1
 * when stopped by a signal, or -errno.
 */
static int source_check(const struct tail_opts *o, struct source *src)
{
    struct bcast_reader *old = src->r;
    dev_t dev = 0;
    ino_t ino = 0;
    int rc;

    if (tool_now() < src->next_look)
        return 0;
    src->next_look = tool_now() + 0.2;
    rc = path_id(o->path, &dev, &ino);
    if (rc == -ENOENT) {
        if (!src->removed) {
            fflush(stdout);
            fprintf(stderr, "%s: %s: has been removed; waiting for a new channel\n", tool_name,
                    o->path);
            src->removed = 1;
        }
        return 0;
    }
    if (rc < 0 || (dev == src->dev && ino == src->ino))
        return 0;
    src->r = NULL;
    rc = source_open(o, START_OLDEST, src);
    if (rc < 0 && (rc == -EAGAIN || rc == -EINVAL)) {
        src->r = old; /* still being created: look again soon */
        return 0;
    }
    if (rc != 0) {
        src->r = old;
        return rc;
    }
    bcast_reader_close(old);
    fflush(stdout);
    fprintf(stderr, "%s: %s: has been replaced; following the new channel\n", tool_name,
            o->path);
    if (o->nfilters)
        bcast_reader_set_filter(src->r, keep, (void *)o);
    return 0;
}

/* the longest a wait for messages may sleep: tool_stop is looked at
   after every wait, and with -F PATH is looked at every 0.2 s */
#define WAIT_MAX_NS 200000000LL

static int64_t wait_ns(const struct tail_opts *o, const struct source *src)
{
    double left;

    if (!o->follow_name)
        return WAIT_MAX_NS;
    left = (src->next_look - tool_now()) * 1e9;
    if (left <= 0)
        return 0;
    return left < (double)WAIT_MAX_NS ? (int64_t)left : WAIT_MAX_NS;
}

static int tail(const struct tail_opts *o, struct source *src)
{
    struct bcast_message *msg = bcast_message_new();
    struct bcast_reader *r = src->r;
    size_t cap = bcast_reader_mtu(r);
    unsigned char *buf;
    uint64_t printed = 0;
    int in_train = 0, status = TOOL_EXIT_OK;

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
            int rc;

            if (!o->follow && !o->have_limit)
                break;
            fflush(stdout);
            if (o->follow_name && (rc = source_check(o, src)) != 0) {
                if (rc < 0) {
                    tool_error(o->path, rc);
                    status = TOOL_EXIT_ERROR;
                }
                break;
            }
            if (src->r != r) { /* a new channel: its MTU may differ */
                size_t want = bcast_reader_mtu(src->r);
                unsigned char *nb;

                r = src->r;
                if (want > 65536)
                    want = 65536;
                if (want > cap && (nb = realloc(buf, want)) != NULL) {
                    buf = nb;
                    cap = want;
                }
                if (in_train) {
                    putchar('\n');
                    in_train = 0;
                }
                continue;
            }
            /* sleep until the writer wakes us; bounded so that a signal
               that lands just before the sleep, or (-F) a replaced file,
               is noticed soon (an interrupted wait returns -EINTR) */
            bcast_reader_wait(r, wait_ns(o, src));
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
            print_escaped(buf, (size_t)n, o->utf8);
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
    enum { OPT_FROM_START = 256, OPT_LAST_LAP, OPT_POSITION, OPT_COUNT, OPT_UTF8, OPT_ASCII };
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"follow-name", no_argument, NULL, 'F'},
        {"from-start", no_argument, NULL, OPT_FROM_START},
        {"last-lap", no_argument, NULL, OPT_LAST_LAP},
        {"position", required_argument, NULL, OPT_POSITION},
        {"lines", required_argument, NULL, 'n'},
        {"count", required_argument, NULL, OPT_COUNT},
        {"utf8", no_argument, NULL, OPT_UTF8},
        {"ascii", no_argument, NULL, OPT_ASCII},
        {"payload", no_argument, NULL, 'p'},
        {"hex", no_argument, NULL, 'x'},
        {"filter", required_argument, NULL, 'u'},
        TOOL_LONGOPTS_END,
    };
    struct tail_opts o;
    struct source src;
    int opt, rc, starts = 0, formats = 0, encodings = 0, status;

    memset(&o, 0, sizeof o);
    memset(&src, 0, sizeof src);
    tool_name = "bcast-tail";
    o.utf8 = isatty(STDOUT_FILENO);
    while ((opt = tool_getopt(argc, argv, TOOL_OPTSTRING("fFn:pxu:"), longopts, usage)) != -1) {
        switch (opt) {
        case 'f':
            o.follow = 1;
            break;
        case 'F':
            o.follow = 1;
            o.follow_name = 1;
            break;
        case OPT_FROM_START:
            o.start = START_OLDEST;
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
            if (tool_parse_u64(optarg, &o.last) < 0)
                return tool_usage_error("invalid number of messages '%s'", optarg);
            o.start = START_LAST_N;
            starts++;
            break;
        case OPT_COUNT:
            if (tool_parse_u64(optarg, &o.limit) < 0)
                return tool_usage_error("invalid count '%s'", optarg);
            o.have_limit = 1;
            break;
        case OPT_UTF8:
        case OPT_ASCII:
            o.utf8 = opt == OPT_UTF8;
            encodings++;
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
        return tool_usage_error("-n, --from-start, --last-lap and --position exclude each other");
    if (formats > 1)
        return tool_usage_error("--payload and --hex exclude each other");
    if (encodings > 1)
        return tool_usage_error("--utf8 and --ascii exclude each other");
    o.path = argv[optind];

    tool_catch_signals();
    if ((rc = source_open(&o, o.start, &src)) != 0) {
        if (rc > 0) /* stopped while waiting for PATH */
            return tool_finish_stdout();
        tool_open_error(o.path, rc, TOOL_OPEN_READER, 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(o.path);
    status = tail(&o, &src);
    bcast_reader_close(src.r);
    rc = tool_finish_stdout();
    return status ? status : rc;
}
