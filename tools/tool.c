/*
 * Helpers shared by the bcast tools; see tool.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <bcast.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/* bcast-format(5) offsets, kept here on purpose: the tools read the raw header */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_PRODUCER 128
#define OFF_CLAIMED 256
#define OFF_LAP 512

volatile sig_atomic_t tool_stop;
const char *tool_name = "bcast";

static uint64_t le64_at(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

int tool_header_read(const char *path, struct tool_header *h)
{
    unsigned char hdr[BCAST_HEADER_SIZE];
    struct stat st;
    uint64_t capacity;
    ssize_t n;
    int fd, err = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        err = -EISDIR;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = -EINVAL;
        goto out;
    }
    if (st.st_size == 0) {
        err = -EAGAIN; /* a creator between creat and ftruncate */
        goto out;
    }
    capacity = (uint64_t)st.st_size - BCAST_HEADER_SIZE;
    if ((uint64_t)st.st_size <= BCAST_HEADER_SIZE || capacity < 16 ||
        (capacity & (capacity - 1))) {
        err = -EINVAL;
        goto out;
    }
    n = pread(fd, hdr, sizeof hdr, 0);
    if (n < 0) {
        err = -errno;
        goto out;
    }
    if ((size_t)n != sizeof hdr) {
        err = -EINVAL; /* truncated under us */
        goto out;
    }
    if (memcmp(hdr + OFF_MAGIC, "BCST", 4) != 0) {
        static const unsigned char zero[4];
        err = memcmp(hdr + OFF_MAGIC, zero, 4) == 0 ? -EAGAIN : -EPROTO;
        goto out;
    }
    if ((hdr[OFF_VERSION] | (hdr[OFF_VERSION + 1] << 8)) != 1) {
        err = -EPROTONOSUPPORT;
        goto out;
    }
    h->capacity = capacity;
    h->producer_position = le64_at(hdr + OFF_PRODUCER);
    h->claimed_position = le64_at(hdr + OFF_CLAIMED);
    h->lap_count = le64_at(hdr + OFF_LAP);
out:
    close(fd);
    return err;
}

static char *lock_path_of(const char *path)
{
    size_t n = strlen(path);
    char *lock_path = malloc(n + sizeof ".lock");

    if (lock_path) {
        memcpy(lock_path, path, n);
        memcpy(lock_path + n, ".lock", sizeof ".lock");
    }
    return lock_path;
}

int tool_writer_locked(const char *path)
{
    char *lock_path = lock_path_of(path);
    char line[256];
    struct stat st;
    FILE *f;
    int held = 0;

    if (!lock_path)
        return -ENOMEM;
    if (lstat(lock_path, &st) < 0) {
        int err = errno;
        free(lock_path);
        return err == ENOENT ? 0 : -err;
    }
    free(lock_path);
    /* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF", one line per lock;
       "1: -> FLOCK ..." lines are waiters, not holders */
    if (!(f = fopen("/proc/locks", "re")))
        return -errno;
    while (!held && fgets(line, sizeof line, f)) {
        unsigned maj, min;
        unsigned long long ino;
        char *p = strchr(line, ':');
        int fields = 0;

        if (!p || strstr(line, "->"))
            continue;
        /* the device and inode are the 6th field (counting "N:") */
        for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
            if (++fields == 6 && sscanf(tok, "%x:%x:%llu", &maj, &min, &ino) == 3 &&
                maj == major(st.st_dev) && min == minor(st.st_dev) &&
                ino == (unsigned long long)st.st_ino)
                held = 1;
    }
    fclose(f);
    return held;
}

/* the detail of tool_open_error() for the file at p: 1 when it said one */
static int explain(const char *p, int err, enum tool_open how, uint64_t capacity, int is_lock)
{
    struct stat st;
    uint64_t size, cap;

    if (lstat(p, &st) < 0)
        return 0;
    if (is_lock && (err == -EINVAL || err == -EAGAIN) && S_ISREG(st.st_mode))
        return 0; /* any regular file is a lock file */
    switch (err) {
    case -ELOOP:
        if (!S_ISLNK(st.st_mode))
            return 0;
        fprintf(stderr, "%s: %s: is a symbolic link (a writer does not follow one)\n",
                tool_name, p);
        return 1;
    case -EPERM:
        if (how == TOOL_OPEN_WRITER && st.st_uid != geteuid()) {
            fprintf(stderr, "%s: %s: owned by uid %lu, not by uid %lu: not joined\n", tool_name,
                    p, (unsigned long)st.st_uid, (unsigned long)geteuid());
            return 1;
        }
        if ((how == TOOL_OPEN_WRITER && (st.st_mode & 022)) || (st.st_mode & 002)) {
            fprintf(stderr, "%s: %s: writable by %s (mode %04o): not trusted\n", tool_name, p,
                    (st.st_mode & 002) ? "everyone" : "its group", (unsigned)st.st_mode & 07777);
            return 1;
        }
        return 0;
    case -EACCES:
        if (access(p, how == TOOL_OPEN_WRITER ? R_OK | W_OK : R_OK) == 0)
            return 0;
        fprintf(stderr, "%s: %s: %s\n", tool_name, p, strerror(EACCES));
        return 1;
    case -EINVAL:
    case -EAGAIN:
        if (S_ISLNK(st.st_mode) && stat(p, &st) < 0)
            return 0;
        if (!S_ISREG(st.st_mode)) {
            fprintf(stderr, "%s: %s: not a regular file\n", tool_name, p);
            return 1;
        }
        size = (uint64_t)st.st_size;
        if (size == 0) {
            fprintf(stderr, "%s: %s: empty file: not a channel (yet; or its creator died)\n",
                    tool_name, p);
            return 1;
        }
        cap = size - BCAST_HEADER_SIZE;
        if (size <= BCAST_HEADER_SIZE || cap < 16 || (cap & (cap - 1))) {
            fprintf(stderr, "%s: %s: not a channel: size %llu is not 1664 + a power of two\n",
                    tool_name, p, (unsigned long long)size);
            return 1;
        }
        if (capacity && cap != capacity) {
            fprintf(stderr, "%s: %s: exists with capacity %llu, not %llu\n", tool_name, p,
                    (unsigned long long)cap, (unsigned long long)capacity);
            return 1;
        }
        if (err == -EAGAIN) {
            fprintf(stderr, "%s: %s: not ready: its writer is still initialising it\n",
                    tool_name, p);
            return 1;
        }
        return 0;
    case -EPROTO:
        fprintf(stderr, "%s: %s: not a bcast channel (no valid header)\n", tool_name, p);
        return 1;
    case -ENOSPC:
        fprintf(stderr, "%s: %s: no space left on its file system for the channel\n",
                tool_name, p);
        return 1;
    default:
        return 0;
    }
}

void tool_open_error(const char *path, int err, enum tool_open how, uint64_t capacity)
{
    char *lock_path = how == TOOL_OPEN_WRITER ? lock_path_of(path) : NULL;

    /* a writer's failure may be about the lock file: the channel file
       first, then the lock for the codes a lock can give */
    if (explain(path, err, how, capacity, 0) ||
        (lock_path && (err == -ELOOP || err == -EPERM || err == -EACCES || err == -EINVAL) &&
         explain(lock_path, err, how, 0, 1))) {
        free(lock_path);
        return;
    }
    free(lock_path);
    tool_error(path, err);
}

static char sigbus_msg[512];
static size_t sigbus_len;

static void on_sigbus(int sig)
{
    (void)sig;
    if (write(STDERR_FILENO, sigbus_msg, sigbus_len) < 0) {
        /* nothing more to do */
    }
    _exit(TOOL_EXIT_ERROR);
}

void tool_catch_sigbus(const char *path)
{
    struct sigaction sa;
    int n = snprintf(sigbus_msg, sizeof sigbus_msg,
                     "%s: %s: the channel file was truncated under us (SIGBUS)\n", tool_name,
                     path);

    sigbus_len = n < 0 ? 0 : (size_t)n < sizeof sigbus_msg ? (size_t)n : sizeof sigbus_msg - 1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

static int parse_u64_suffix(const char *s, uint64_t *out, int allow_suffix)
{
    const char *p = s;
    uint64_t v = 0, mult = 1;
    unsigned base = 10;
    int digits = 0;

    if (!s || !*s)
        return -EINVAL;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (v > (UINT64_MAX - d) / base)
            return -ERANGE;
        v = v * base + d;
        digits++;
    }
    if (!digits)
        return -EINVAL;
    if (*p && allow_suffix && base == 10) {
        switch (*p) {
        case 'k': case 'K': mult = 1ull << 10; break;
        case 'm': case 'M': mult = 1ull << 20; break;
        case 'g': case 'G': mult = 1ull << 30; break;
        default: return -EINVAL;
        }
        p++;
    }
    if (*p)
        return -EINVAL;
    if (v > UINT64_MAX / mult)
        return -ERANGE;
    *out = v * mult;
    return 0;
}

int tool_parse_u64(const char *s, uint64_t *out)
{
    return parse_u64_suffix(s, out, 0);
}

int tool_parse_size(const char *s, uint64_t *out)
{
    return parse_u64_suffix(s, out, 1);
}

int tool_parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    int rc = tool_parse_u64(s, &v);

    if (rc < 0)
        return rc;
    if (v > UINT32_MAX)
        return -ERANGE;
    *out = (uint32_t)v;
    return 0;
}

void tool_error(const char *path, int err)
{
    fprintf(stderr, "%s: %s: %s\n", tool_name, path, bcast_strerror(err));
}

int tool_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", tool_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", tool_name);
    return TOOL_EXIT_USAGE;
}

/* the usage error for getopt_long's ':' or '?' (optstring starts with ':') */
static int option_error(int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    int is_long = strncmp(arg, "--", 2) == 0;

    if (opt == ':')
        return is_long ? tool_usage_error("option '%s' needs an argument", arg)
                       : tool_usage_error("option '-%c' needs an argument", optopt);
    if (optopt && !is_long)
        return tool_usage_error("unknown option '-%c'", optopt);
    return tool_usage_error("unknown option '%s'", arg);
}

int tool_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
                void (*usage)(FILE *f))
{
    return tool_getopt_n(argc, argv, optstring, longopts, usage, 1, 1);
}

int tool_getopt_n(int argc, char **argv, const char *optstring, const struct option *longopts,
                  void (*usage)(FILE *f), int min, int max)
{
    int opt;

    opterr = 0;
    switch ((opt = getopt_long(argc, argv, optstring, longopts, NULL))) {
    case 'h':
        usage(stdout);
        exit(tool_finish_stdout());
    case 'V':
        printf("%s (libbcast) %s\n", tool_name, bcast_version());
        exit(tool_finish_stdout());
    case ':':
    case '?':
        exit(option_error(opt, argv));
    case -1:
        if (argc - optind < min)
            exit(tool_usage_error("missing PATH"));
        if (max >= 0 && argc - optind > max)
            exit(tool_usage_error("too many arguments"));
        return -1;
    default:
        return opt;
    }
}

static void on_stop(int sig)
{
    (void)sig;
    tool_stop = 1;
}

void tool_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking read or sleep returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void tool_idle(long *ns)
{
    struct timespec ts;

    if (*ns < 100000)
        *ns = 100000;
    ts.tv_sec = 0;
    ts.tv_nsec = *ns;
    nanosleep(&ts, NULL); /* EINTR: tool_stop is checked by the caller */
    if (*ns < 1000000)
        *ns *= 2;
    if (*ns > 1000000)
        *ns = 1000000;
}

double tool_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tool_finish_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: write error: %s\n", tool_name, strerror(errno));
        return TOOL_EXIT_ERROR;
    }
    return TOOL_EXIT_OK;
}
