/*
 * bcast-cat: publish each line of standard input as one message of a
 * file-backed channel, without its newline; or, with --remove, remove a
 * channel file and its lock file.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-cat [OPTION]... PATH\n"
            "  or:  bcast-cat --remove [--force] PATH\n"
            "Publish each line of standard input as one message of the libbcast\n"
            "channel file PATH (without the newline; an empty line is an empty message).\n"
            "\n"
            "  -c, --create=CAPACITY   create the channel if it is missing (CAPACITY a\n"
            "                          power of two >= 16, k/M/G suffixes allowed); an\n"
            "                          existing channel must have that capacity\n"
            "  -u, --user=N            user_defined value of every message (default 0)\n"
            "      --remove            remove the channel PATH and its PATH.lock, unless\n"
            "                          a writer is attached\n"
            "      --force             with --remove, remove it even then\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "Without --create the channel must exist.  A created channel is reported on\n"
            "standard error with the memory it holds.\n"
            "Exit status: 0 ok, 1 usage error, 2 runtime error.\n");
}

/* "64 KiB", "4 GiB", "1.5 MiB": a byte count for people */
static const char *human(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    unsigned u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu bytes", (unsigned long long)n);
    else if (v == (double)(uint64_t)v)
        snprintf(buf, size, "%llu %s", (unsigned long long)v, units[u]);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

/*
 * Remove the channel file path, path.lock and path.wait.  The lock is taken first, so
 * no writer can attach while the files go; without force a writer that
 * holds it makes this fail.  A file that is not a channel (or one being
 * created) is never removed.  Readers that have it mapped keep reading the
 * unlinked file.  Returns the exit status.
 */
static int remove_channel(const char *path, int force)
{
    size_t n = strlen(path);
    char *lock = malloc(n + sizeof ".lock");
    struct tool_header h;
    int fd = -1, rc, status = TOOL_EXIT_ERROR;

    if (!lock) {
        tool_error(path, -ENOMEM);
        return TOOL_EXIT_ERROR;
    }
    memcpy(lock, path, n);
    memcpy(lock + n, ".lock", sizeof ".lock");
    rc = tool_header_read(path, &h);
    if (rc == -EINVAL || rc == -EPROTO || rc == -EPROTONOSUPPORT || rc == -EISDIR) {
        fprintf(stderr, "%s: %s: not a libbcast channel; not removed\n", tool_name, path);
        goto out;
    }
    if (rc < 0 && rc != -EAGAIN) { /* -EAGAIN: a channel being created */
        tool_error(path, rc);
        goto out;
    }
    fd = open(lock, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno != ENOENT) {
        tool_error(lock, -errno);
        goto out;
    }
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK) {
            tool_error(lock, -errno);
            goto out;
        }
        if (!force) {
            fprintf(stderr, "%s: %s: a writer is attached; not removed (--force removes it)\n",
                    tool_name, path);
            goto out;
        }
    }
    if (unlink(path) < 0) {
        tool_error(path, -errno);
        goto out;
    }
    if (fd >= 0 && unlink(lock) < 0 && errno != ENOENT) {
        tool_error(lock, -errno);
        goto out;
    }
    memcpy(lock + n, ".wait", sizeof ".wait"); /* the wait area, when there is one */
    if (unlink(lock) < 0 && errno != ENOENT) {
        tool_error(lock, -errno);
        goto out;
    }
    status = TOOL_EXIT_OK;
out:
    if (fd >= 0)
        close(fd);
    free(lock);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"create", required_argument, NULL, 'c'},
        {"user", required_argument, NULL, 'u'},
        {"remove", no_argument, NULL, 'R'},
        {"force", no_argument, NULL, 'F'},
        TOOL_LONGOPTS_END,
    };
    struct bcast_writer *w;
    uint64_t capacity = 0;
    uint32_t user = 0;
    unsigned long long lineno = 0;
    const char *path;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    struct stat st;
    int opt, rc, create = 0, have_user = 0, remove = 0, force = 0, existed, status = TOOL_EXIT_OK;

    tool_name = "bcast-cat";
    while ((opt = tool_getopt(argc, argv, TOOL_OPTSTRING("c:u:"), longopts, usage)) != -1) {
        switch (opt) {
        case 'c':
            if (tool_parse_size(optarg, &capacity) < 0 || capacity > SIZE_MAX ||
                bcast_channel_size((size_t)capacity) == 0)
                return tool_usage_error("invalid capacity '%s' (a power of two >= 16)", optarg);
            create = 1;
            break;
        case 'u':
            if (tool_parse_u32(optarg, &user) < 0)
                return tool_usage_error("invalid --user '%s'", optarg);
            have_user = 1;
            break;
        case 'R':
            remove = 1;
            break;
        case 'F':
            force = 1;
            break;
        }
    }
    if (remove && (create || have_user))
        return tool_usage_error("--remove excludes --create and --user");
    if (force && !remove)
        return tool_usage_error("--force needs --remove");
    path = argv[optind];
    if (remove)
        return remove_channel(path, force);

    tool_catch_signals();
    existed = stat(path, &st) == 0;
    rc = create ? bcast_writer_open_file(path, (size_t)capacity, 0, &w)
                : bcast_writer_join_file(path, 0, &w);
    if (rc < 0) {
        tool_open_error(path, rc, TOOL_OPEN_WRITER, create ? capacity : 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(path);
    if (create && !existed) {
        char cbuf[32], sbuf[32];
        uint64_t size = bcast_channel_size((size_t)capacity);

        fprintf(stderr,
                "%s: %s: created, capacity %s; it holds %llu bytes (%s) of shared memory "
                "until removed (bcast-cat --remove)\n",
                tool_name, path, human(capacity, cbuf, sizeof cbuf),
                (unsigned long long)size, human(size, sbuf, sizeof sbuf));
    }
    while (!tool_stop) {
        errno = 0;
        len = getline(&line, &linecap, stdin);
        if (len < 0) {
            if (ferror(stdin) && errno != EINTR) {
                fprintf(stderr, "%s: standard input: %s\n", tool_name, strerror(errno));
                status = TOOL_EXIT_ERROR;
            }
            break; /* end of input, or a signal */
        }
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        rc = bcast_writer_send(w, line, (size_t)len, user, 0);
        if (rc < 0) {
            fprintf(stderr, "%s: %s: line %llu: %s\n", tool_name, path, lineno,
                    bcast_strerror(rc));
            status = TOOL_EXIT_ERROR;
            break;
        }
    }
    free(line);
    bcast_writer_close(w);
    return status;
}
