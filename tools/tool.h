/*
 * Helpers shared by the bcast-stat, bcast-tail and bcast-cat programs:
 * option parsing, error reporting, signals, idle sleeping, and the reads
 * of the channel header and the writer lock that the public API does not
 * offer (the programs are diagnostic tools; the library stays free of them).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_TOOL_H
#define BCAST_TOOL_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* exit statuses of every tool */
#define TOOL_EXIT_OK 0
#define TOOL_EXIT_USAGE 1
#define TOOL_EXIT_ERROR 2

/* the channel header fields a tool reads itself (bcast-format(5)) */
struct tool_header {
    uint64_t capacity;          /* file size - BCAST_HEADER_SIZE */
    uint64_t producer_position; /* offset 128 */
    uint64_t claimed_position;  /* offset 256 */
    uint64_t lap_count;         /* offset 512 */
};

/* set by SIGINT and SIGTERM once tool_catch_signals() ran */
extern volatile sig_atomic_t tool_stop;

/* program name used in every message ("bcast-tail") */
extern const char *tool_name;

/*
 * pread the BCAST_HEADER_SIZE bytes of the channel file at path and decode
 * the positions (little-endian).  0, or -errno: the OS errno, -EAGAIN for an
 * empty file, -EINVAL for a size that is not a channel, -EPROTO when the
 * magic is wrong.  Never writes and takes no lock.
 */
int tool_header_read(const char *path, struct tool_header *h);

/*
 * Whether a writer holds the lock on "<path>.lock": 1 held, 0 free (a
 * missing lock file is free), or -errno (the lock file cannot be looked
 * at, /proc/locks cannot be read).  Never opens the lock file nor takes
 * the lock, so it cannot make a writer that starts at that instant fail:
 * it looks up the lock file's device and inode in /proc/locks.
 */
int tool_writer_locked(const char *path);

/* what the opens of tool_open_error() were */
enum tool_open { TOOL_OPEN_READER, TOOL_OPEN_WRITER };

/*
 * The error of a failed bcast_reader_open_file*() or bcast_writer_*_file()
 * of path, on stderr, with what is wrong and with which file (the channel
 * or its lock): "bcast-x: FILE: DETAIL", for example "not a channel: size
 * 13 is not 1664 + a power of two", "exists with capacity 65536, not
 * 131072" (capacity: what a writer asked for, 0 for none), "owned by uid
 * 1001, not by uid 1000", "is a symbolic link".  Falls back to
 * bcast_strerror(err).
 */
void tool_open_error(const char *path, int err, enum tool_open how, uint64_t capacity);

/*
 * Report a SIGBUS as an error of path (the channel file was truncated
 * under the tool) and exit TOOL_EXIT_ERROR, instead of dying of it.
 */
void tool_catch_sigbus(const char *path);

/* "123", "0x7b": 0 and *out, or -EINVAL (empty, sign, junk) / -ERANGE */
int tool_parse_u64(const char *s, uint64_t *out);
/* the same, with a binary k/M/G suffix allowed ("64k" = 65536) */
int tool_parse_size(const char *s, uint64_t *out);
int tool_parse_u32(const char *s, uint32_t *out);

/* "bcast-x: PATH: <bcast_strerror(err)>" on stderr */
void tool_error(const char *path, int err);
/* "bcast-x: <message>" and the --help hint on stderr; returns TOOL_EXIT_USAGE */
int tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The command line every tool shares: its own options, -h/--help,
 * -V/--version, then exactly one PATH.  A tool builds its getopt_long
 * arguments with these and parses them with tool_getopt():
 *
 *     static const struct option longopts[] = {
 *         {"json", no_argument, NULL, 'j'},
 *         TOOL_LONGOPTS_END,
 *     };
 *     while ((opt = tool_getopt(argc, argv, TOOL_OPTSTRING("j"), longopts, usage)) != -1)
 */
#define TOOL_OPTSTRING(own) ":" own "hV"
#define TOOL_LONGOPTS_END                                                                     \
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}

/*
 * getopt_long for the tool named tool_name.  Returns the tool's own options
 * one by one (optarg as getopt_long sets it), then -1 once they are done and
 * exactly one operand is left: the PATH, at argv[optind].  Handles the rest
 * itself and exits: -h/--help prints usage(stdout) and -V/--version prints
 * "bcast-x (libbcast) VERSION", both with the status of tool_finish_stdout();
 * an unknown option, a missing option argument, a missing PATH or more than
 * one exit TOOL_EXIT_USAGE after a tool_usage_error() message.
 */
int tool_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
                void (*usage)(FILE *f));

/*
 * tool_getopt for a tool whose operands are its own business: the same
 * options, help, version and errors, and -1 once the options are done
 * with min to max operands left at argv[optind..argc-1] (max < 0: any
 * number); fewer is "missing PATH", more "too many arguments".
 */
int tool_getopt_n(int argc, char **argv, const char *optstring, const struct option *longopts,
                  void (*usage)(FILE *f), int min, int max);

/* install SIGINT and SIGTERM handlers that set tool_stop (no SA_RESTART) */
void tool_catch_signals(void);

/* sleep while idle: *ns starts at 0 and doubles from 100 us up to 1 ms */
void tool_idle(long *ns);

/* monotonic clock in seconds */
double tool_now(void);

/* flush stdout; TOOL_EXIT_OK, or an error message and TOOL_EXIT_ERROR */
int tool_finish_stdout(void);

#endif /* BCAST_TOOL_H */
