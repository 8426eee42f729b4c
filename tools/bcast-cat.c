/*
 * bcast-cat: publish each line of standard input as one message of a
 * file-backed channel, without its newline.
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

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bcast-cat [OPTION]... PATH\n"
            "Publish each line of standard input as one message of the libbcast\n"
            "channel file PATH (without the newline; an empty line is an empty message).\n"
            "\n"
            "  -c, --create=CAPACITY   create the channel if it is missing (CAPACITY a\n"
            "                          power of two >= 16, k/M/G suffixes allowed); an\n"
            "                          existing channel must have that capacity\n"
            "  -u, --user=N            user_defined value of every message (default 0)\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show the version and exit\n"
            "\n"
            "Without --create the channel must exist.\n"
            "Exit status: 0 ok, 1 usage error, 2 runtime error.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"create", required_argument, NULL, 'c'},
        {"user", required_argument, NULL, 'u'},
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
    int opt, rc, create = 0, status = TOOL_EXIT_OK;

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
            break;
        }
    }
    path = argv[optind];

    tool_catch_signals();
    rc = create ? bcast_writer_open_file(path, (size_t)capacity, 0, &w)
                : bcast_writer_join_file(path, 0, &w);
    if (rc < 0) {
        tool_open_error(path, rc, TOOL_OPEN_WRITER, create ? capacity : 0);
        return TOOL_EXIT_ERROR;
    }
    tool_catch_sigbus(path);
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
