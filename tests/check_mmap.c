/*
 * check_mmap: file-backed channels (src/mmap.c) with real files in /dev/shm
 * and real processes.
 *
 * Every test works in a directory of its own under /dev/shm (tdir, from
 * tests/test-dirs.h: one per test case, /dev/shm/bcast-check-mmap-XXXXXX,
 * made and removed by the runner around the case, whether its tests pass,
 * fail or time out; and one per test inside it), so `make -j check` can run
 * suites side by side.
 * Forked children report through their exit status (0 good, 77 could not
 * drop privileges, anything else a failure they describe on stderr) and
 * always leave with _exit(), so they never run the parent's exit handlers
 * or flush its stdio buffers a second time.
 *
 * There is no bcast_reader_open_last_lap for files.  The last-lap tests do
 * what a file user does: read lap_count, producer_position and
 * claimed_position from the header (bcast-format(5) offsets 512, 128, 256) and open
 * with bcast_reader_open_file_at() at lap_count * capacity, falling back to
 * the producer position as bcast_reader_open_last_lap() does; they also map
 * the file read-only themselves and check that bcast_reader_open_last_lap()
 * on that mapping agrees.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "test-dirs.h"
#include "children.h"
#include "core-helpers.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must name the directory of the Rust-written fixtures"
#endif

#define HDR BCAST_HEADER_SIZE
#define NOBODY 65534

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static off_t file_size_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

static mode_t file_mode_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static ino_t inode_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_ino;
}

/* a header word of a channel file, which is little-endian on every host */
static uint64_t hdr64(const char *path, off_t off)
{
    uint8_t b[8];
    uint64_t v = 0;
    int fd = open(path, O_RDONLY), i;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, b, sizeof b, off), (ssize_t)sizeof b);
    close(fd);
    for (i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void poke(const char *path, off_t off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void write_file(const char *path, const void *bytes, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    ck_assert_int_ge(fd, 0);
    if (n)
        ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

/* the whole file in a malloc'ed buffer */
static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    uint8_t *b;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    b = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pread(fd, b, (size_t)st.st_size, 0), (ssize_t)st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *b = slurp(from, &n);

    write_file(to, b, n, 0600);
    free(b);
}

/* file contents unchanged since `before` was taken */
static void assert_same_file(const char *path, const uint8_t *before, size_t before_len)
{
    size_t n;
    uint8_t *now = slurp(path, &n);

    ck_assert_uint_eq(n, before_len);
    ck_assert(memcmp(now, before, n) == 0);
    free(now);
}

/* a fork()ed child that drops root to nobody first; 77 when it cannot */
static int run_unprivileged(int (*fn)(void *), void *arg)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0))
            _exit(77);
        _exit(fn(arg));
    }
    return wait_child(pid);
}

/* the test directory, opened to every user */
static void tdir_open_up(void)
{
    ck_assert_int_eq(chmod(case_dir, 0755), 0);
    ck_assert_int_eq(chmod(tdir, 0755), 0);
}

/* --- message patterns (the stress messages are core-helpers.h's seq_*) --- */

/* the messages the Rust fixtures hold (fixtures/README.md) */
static uint32_t fx_len(uint32_t i)
{
    return (i * 7) % 300;
}

static void fx_fill(uint8_t *p, uint32_t i)
{
    memset(p, (int)(i & 0xff), fx_len(i));
}

static int fx_ok(const uint8_t *p, uint32_t i, size_t len)
{
    if (len != fx_len(i))
        return 0;
    for (size_t j = 0; j < len; j++)
        if (p[j] != (uint8_t)(i & 0xff))
            return 0;
    return 1;
}

static void fx_send(struct bcast_writer *w, uint32_t from, uint32_t to)
{
    uint8_t buf[300];

    for (uint32_t i = from; i < to; i++) {
        fx_fill(buf, i);
        ck_assert_int_eq(bcast_writer_send(w, buf, fx_len(i), i, 0), 0);
    }
}

/* read messages from..to-1 of the fixture pattern, then expect `end` */
static void fx_expect(struct bcast_reader *r, uint32_t from, uint32_t to, int end)
{
    struct bcast_message *m = bcast_message_new();
    uint8_t buf[512];
    uint64_t last = 0;

    ck_assert_ptr_nonnull(m);
    for (uint32_t i = from; i < to; i++) {
        ssize_t n = bcast_reader_receive(r, buf, sizeof buf, m);
        ck_assert_msg(n >= 0, "message %u: %s", i, bcast_strerror((int)n));
        ck_assert_msg(fx_ok(buf, i, (size_t)n), "message %u: bad length or bytes", i);
        ck_assert_uint_eq(bcast_message_len(m), fx_len(i));
        ck_assert_uint_eq(bcast_message_user_defined(m), i);
        ck_assert_int_eq(bcast_message_flags(m), 0);
        ck_assert(i == from || bcast_message_position(m) > last);
        last = bcast_message_position(m);
    }
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, m), end);
    bcast_message_free(m);
}

/* a channel file at path, capacity cap, with fixture messages 0..n-1 and no writer */
static void make_channel(const char *path, size_t cap, uint32_t n)
{
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(bcast_writer_create_file(path, cap, 0, &w), 0);
    fx_send(w, 0, n);
    bcast_writer_close(w);
}

/*
 * path is not a channel that can be opened (yet): bcast_reader_open_file,
 * bcast_reader_open_file_at 0, bcast_reader_open_file_last_lap,
 * bcast_writer_join_file and bcast_writer_open_file at capacity 4096 each say want and hand out no
 * handle.  The failure message names the call and the caller's line.
 */
#define assert_opens_fail(path, want) opens_fail(__LINE__, path, want)

static void opens_fail(int line, const char *path, int want)
{
    static const char *const calls[] = {"bcast_reader_open_file", "bcast_reader_open_file_at",
                                        "bcast_writer_join_file", "bcast_writer_open_file",
                                        "bcast_reader_open_file_last_lap"};

    for (int k = 0; k < 5; k++) {
        struct bcast_reader *r = NULL;
        struct bcast_writer *w = NULL;
        int rc = k == 0   ? bcast_reader_open_file(path, 0, &r)
                 : k == 1 ? bcast_reader_open_file_at(path, 0, 0, &r)
                 : k == 2 ? bcast_writer_join_file(path, 0, &w)
                 : k == 3 ? bcast_writer_open_file(path, 4096, 0, &w)
                          : bcast_reader_open_file_last_lap(path, 0, &r);

        ck_assert_msg(rc == want, "line %d: %s gave %d (%s), not %d (%s)", line, calls[k], rc,
                      bcast_strerror(rc), want, bcast_strerror(want));
        ck_assert_msg(r == NULL && w == NULL, "line %d: %s handed out a handle", line, calls[k]);
    }
}

/* the same for the readers and bcast_writer_join_file only */
#define readers_and_join_fail(path, want) readers_join_fail(__LINE__, path, want)

static void readers_join_fail(int line, const char *path, int want)
{
    struct bcast_reader *r = NULL;
    struct bcast_writer *w = NULL;
    int rc[4];

    rc[0] = bcast_reader_open_file(path, 0, &r);
    rc[1] = bcast_reader_open_file_at(path, 0, 0, &r);
    rc[2] = bcast_reader_open_file_last_lap(path, 0, &r);
    rc[3] = bcast_writer_join_file(path, 0, &w);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(rc[k] == want, "line %d: open %d gave %d, not %d", line, k, rc[k], want);
    ck_assert(r == NULL && w == NULL);
}

/* where a file user opens "the last lap": see the comment at the top */
static uint64_t last_lap_start(const char *path, uint64_t capacity)
{
    uint64_t lap = hdr64(path, OFF_LAP), producer = hdr64(path, OFF_PRODUCER);
    uint64_t claimed = hdr64(path, OFF_CLAIMED), start = lap * capacity;

    if (producer - start > capacity || claimed - start > capacity)
        start = producer;
    return start;
}

/* bcast_reader_open_last_lap over our own read-only mapping of path */
struct ro_map {
    void *addr;
    size_t len;
};

static struct bcast_reader *open_last_lap_mapped(const char *path, struct ro_map *map)
{
    struct bcast_reader *r = NULL;
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    map->len = (size_t)file_size_of(path);
    map->addr = mmap(NULL, map->len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(map->addr != MAP_FAILED);
    ck_assert_int_eq(bcast_reader_open_last_lap(map->addr, map->len, &r), 0);
    return r;
}

/* ------------------------------------------------------------------ */
/* create, join, open                                                  */

START_TEST(test_create_file_layout)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    char buf[16];

    umask(022);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(file_size_of(path), HDR + 4096);
    ck_assert_uint_eq(file_mode_of(path), 0600);
    ck_assert_uint_eq(file_mode_of(lock_path(path)), 0600);
    ck_assert_uint_eq(bcast_writer_capacity(w), 4096);
    ck_assert_uint_eq(bcast_writer_position(w), 0);
    /* header as bcast-format(5) lays it out */
    ck_assert_uint_eq(hdr64(path, OFF_MAGIC) & 0xffffffffu, 0x54534342u);
    ck_assert_uint_eq((hdr64(path, OFF_VERSION) & 0xffff), 1);
    ck_assert_uint_eq(hdr64(path, OFF_READY) & 0xff, 1);
    ck_assert_uint_eq(hdr64(path, OFF_PRODUCER), 0);

    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_capacity(r), 4096);
    ck_assert_uint_eq(bcast_reader_mtu(r), bcast_writer_mtu(w));
    ck_assert_int_eq(bcast_writer_send(w, "hello", 5, 7, 0), 0);
    ck_assert_uint_eq(hdr64(path, OFF_PRODUCER), 16);
    ck_assert_uint_eq(bcast_reader_pending(r), 16);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(w);
    /* the channel outlives its writer; the sidecar stays too */
    ck_assert_int_eq(file_size_of(path), HDR + 4096);
    ck_assert_int_eq(access(lock_path(path), F_OK), 0);
}
END_TEST

/* mode 0600 whatever the umask, unless the umask takes more away */
START_TEST(test_create_file_umask)
{
    static const struct {
        mode_t mask, want;
    } cases[] = {{0, 0600}, {022, 0600}, {077, 0600}, {0277, 0400}};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        const char *path;
        struct bcast_writer *w = NULL;
        struct bcast_reader *r = NULL;
        mode_t old;

        ck_assert_int_lt(snprintf(name, sizeof name, "chan%zu", i), (int)sizeof name);
        path = tpath(name);
        old = umask(cases[i].mask);
        ck_assert_int_eq(bcast_writer_create_file(path, 1024, 0, &w), 0);
        umask(old);
        ck_assert_uint_eq(file_mode_of(path), cases[i].want);
        ck_assert_uint_eq(file_mode_of(lock_path(path)), cases[i].want);
        /* a narrowed mode does not stop the writer that made the file */
        ck_assert_int_eq(bcast_writer_send(w, "x", 1, 0, 0), 0);
        ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
        ck_assert_int_eq(bcast_reader_receive(r, name, sizeof name, NULL), 1);
        bcast_reader_close(r);
        bcast_writer_close(w);
    }
}
END_TEST

START_TEST(test_create_file_bad_capacity)
{
    static const size_t caps[] = {0, 1, 8, 15, 1000, 4097, SIZE_MAX};
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;

    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        ck_assert_int_eq(bcast_writer_create_file(path, caps[i], 0, &w), -EINVAL);
        ck_assert_int_eq(bcast_writer_open_file(path, caps[i], 0, &w), -EINVAL);
        ck_assert_ptr_null(w);
    }
    /* refused before anything was made */
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(access(lock_path(path), F_OK), -1);
    /* 16 is the smallest capacity */
    ck_assert_int_eq(bcast_writer_create_file(path, 16, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_mtu(w), 0);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_create_file_no_parent)
{
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(bcast_writer_create_file(tpath("no/such/chan"), 4096, 0, &w), -ENOENT);
    ck_assert_int_eq(bcast_writer_open_file(tpath("no/chan"), 4096, 0, &w), -ENOENT);
    ck_assert_ptr_null(w);
}
END_TEST

/* create_file replaces the file: a reader of the old one sees nothing more */
START_TEST(test_create_file_replaces)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *old_r = NULL, *new_r = NULL;
    ino_t old_ino;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    fx_send(w, 0, 10);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &old_r), 0);
    bcast_writer_close(w);
    old_ino = inode_of(path);

    ck_assert_int_eq(bcast_writer_create_file(path, 8192, 0, &w), 0);
    ck_assert(inode_of(path) != old_ino);
    ck_assert_int_eq(file_size_of(path), HDR + 8192);
    ck_assert_uint_eq(bcast_writer_position(w), 0);
    fx_send(w, 100, 120);

    /* the old reader still has its old messages, then nothing */
    fx_expect(old_r, 0, 10, -EAGAIN);
    ck_assert_uint_eq(bcast_reader_pending(old_r), 0);
    /* a new reader sees the new channel only */
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &new_r), 0);
    ck_assert_uint_eq(bcast_reader_capacity(new_r), 8192);
    fx_expect(new_r, 100, 120, -EAGAIN);
    fx_send(w, 120, 121);
    ck_assert_int_eq(bcast_reader_receive(old_r, NULL, 0, NULL), -EAGAIN);
    fx_expect(new_r, 120, 121, -EAGAIN);

    bcast_reader_close(old_r);
    bcast_reader_close(new_r);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_join_file_resumes)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    uint64_t pos;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    fx_send(w, 0, 50); /* wraps: 50 messages are about 7 KiB */
    pos = bcast_writer_position(w);
    bcast_writer_close(w);

    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), pos);
    ck_assert_uint_eq(bcast_writer_capacity(w), 4096);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), pos);
    fx_send(w, 50, 60);
    fx_expect(r, 50, 60, -EAGAIN);
    bcast_writer_close(w);

    /* open_file joins a channel of the same capacity */
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), bcast_reader_position(r));
    fx_send(w, 60, 61);
    fx_expect(r, 60, 61, -EAGAIN);
    bcast_writer_close(w);
    bcast_reader_close(r);
}
END_TEST

START_TEST(test_open_file_creates_or_refuses)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    uint8_t *before;
    size_t len;

    /* a missing file is created */
    ck_assert_int_eq(bcast_writer_open_file(path, 2048, 0, &w), 0);
    ck_assert_int_eq(file_size_of(path), HDR + 2048);
    ck_assert_uint_eq(file_mode_of(path), 0600);
    fx_send(w, 0, 5);
    bcast_writer_close(w);
    w = NULL;

    /* another capacity: refused, the file is left as it is */
    before = slurp(path, &len);
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file(path, 1024, 0, &w), -EINVAL);
    ck_assert_ptr_null(w);
    assert_same_file(path, before, len);
    free(before);

    /* the same capacity joins and keeps the messages */
    ck_assert_int_eq(bcast_writer_open_file(path, 2048, 0, &w), 0);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    fx_expect(r, 0, 5, -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* files that are not (yet) channels                                   */

START_TEST(test_bad_args)
{
    /* 0x4 (BCAST_FILE_SPARSE) is a writer flag, 0x8 (BCAST_FILE_REPLACE) one
       of bcast_writer_open_file_opts() only */
    static const int bad_flags[] = {0x8, 0x10, 0x100, 0x40000000, -1, INT_MIN};
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    ck_assert_int_eq(bcast_writer_create_file(NULL, 4096, 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_join_file(NULL, 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file(NULL, 4096, 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_file(NULL, 0, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, NULL), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_file_at(NULL, 0, 0, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, NULL), -EINVAL);
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        int f = bad_flags[i];
        ck_assert_int_eq(bcast_writer_create_file(path, 4096, f, &w), -EINVAL);
        ck_assert_int_eq(bcast_writer_open_file(path, 4096, f, &w), -EINVAL);
    }
    /* nothing was created by any of that */
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(access(lock_path(path), F_OK), -1);

    make_channel(path, 4096, 0);
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        int f = bad_flags[i];
        ck_assert_int_eq(bcast_writer_join_file(path, f, &w), -EINVAL);
        ck_assert_int_eq(bcast_reader_open_file(path, f, &r), -EINVAL);
        ck_assert_int_eq(bcast_reader_open_file_at(path, 0, f, &r), -EINVAL);
        ck_assert_int_eq(bcast_reader_open_file_last_lap(path, f, &r), -EINVAL);
    }
    ck_assert_int_eq(bcast_reader_open_file(path, BCAST_FILE_SPARSE, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, BCAST_FILE_SPARSE, &r), -EINVAL);
    /* open_file_at wants an 8-aligned position */
    ck_assert_int_eq(bcast_reader_open_file_at(path, 4, 0, &r), -EINVAL);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 1, 0, &r), -EINVAL);
    ck_assert_ptr_null(w);
    ck_assert_ptr_null(r);
    /* every known flag is accepted */
    ck_assert_int_eq(bcast_reader_open_file(path, BCAST_FILE_NO_POPULATE, &r), 0);
    bcast_reader_close(r);
    ck_assert_int_eq(bcast_writer_join_file(path, BCAST_FILE_NO_POPULATE, &w), 0);
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_writer_join_file(path, BCAST_FILE_SPARSE, &w), 0);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_missing_file)
{
    const char *path = tpath("missing");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), -ENOENT);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), -ENOENT);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), -ENOENT);
    ck_assert_ptr_null(r);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(access(path, F_OK), -1);
    /* a failed join leaves no sidecar behind */
    ck_assert_int_eq(access(lock_path(path), F_OK), -1);
    make_channel(path, 4096, 0);
}
END_TEST

/* empty: a creator between creat and ftruncate, or one that died there */
START_TEST(test_empty_file)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    write_file(path, NULL, 0, 0600);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), -EAGAIN);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), -EAGAIN);
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, 0, &r), -EAGAIN);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), -EAGAIN);
    ck_assert_int_eq(file_size_of(path), 0);
    ck_assert_ptr_null(r);
    ck_assert_ptr_null(w);
    /* open_file holds the lock, so nobody is creating it: it finishes it */
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, &w), 0);
    ck_assert_int_eq(file_size_of(path), HDR + 4096);
    fx_send(w, 0, 3);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    fx_expect(r, 0, 3, -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_bad_sizes)
{
    static const size_t sizes[] = {1, 100, HDR - 1, HDR, HDR + 8, HDR + 15, HDR + 1000,
                                   HDR + 4096 - 8, HDR + 4096 + 8, 4096};
    const char *path = tpath("chan");
    uint8_t *zeros = calloc(1, HDR + 8192);

    ck_assert_ptr_nonnull(zeros);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        write_file(path, zeros, sizes[i], 0600);
        assert_opens_fail(path, -EINVAL);
        ck_assert_int_eq(file_size_of(path), (off_t)sizes[i]);
    }
    free(zeros);

    /* a real channel cut short */
    make_channel(path, 4096, 5);
    ck_assert_int_eq(truncate(path, HDR + 4096 - 64), 0);
    assert_opens_fail(path, -EINVAL);
}
END_TEST

/* a file of the right size whose ready byte is 0: a writer is initialising it */
START_TEST(test_ready_zero)
{
    const char *path = tpath("chan");
    struct bcast_reader *r = NULL;
    uint8_t *zeros = calloc(1, HDR + 4096);
    uint8_t zero = 0, one = 1;

    ck_assert_ptr_nonnull(zeros);
    write_file(path, zeros, HDR + 4096, 0600);
    free(zeros);
    readers_and_join_fail(path, -EAGAIN);

    make_channel(path, 4096, 3);
    poke(path, OFF_READY, &zero, 1);
    readers_and_join_fail(path, -EAGAIN);
    poke(path, OFF_READY, &one, 1);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    fx_expect(r, 0, 3, -EAGAIN);
    bcast_reader_close(r);

    /* open_file holds the lock: a creator that left it unready is dead, so
       it makes a new channel of it, zeroed or half-made (magic "BCST") */
    for (int k = 0; k < 2; k++) {
        struct bcast_writer *w = NULL;
        int created = -1;
        if (k == 0) {
            poke(path, OFF_READY, &zero, 1);
        } else {
            uint8_t *z = calloc(1, HDR + 4096);
            ck_assert_ptr_nonnull(z);
            write_file(path, z, HDR + 4096, 0600);
            free(z);
        }
        ck_assert_int_eq(bcast_writer_open_file_opts(path, 4096, NULL, &created, &w), 0);
        ck_assert_int_eq(created, 1);
        ck_assert_uint_eq(bcast_writer_position(w), 0);
        ck_assert_uint_eq(hdr64(path, OFF_READY) & 0xff, 1);
        fx_send(w, 10, 12);
        bcast_writer_close(w);
        ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
        fx_expect(r, 10, 12, -EAGAIN);
        bcast_reader_close(r);
    }
}
END_TEST

/* foreign bytes of a channel's size: -EPROTO, and open_file does not clobber them */
START_TEST(test_garbage_file)
{
    const char *path = tpath("chan");
    size_t len = HDR + 4096;
    uint8_t *junk = malloc(len);
    unsigned seed = 12345;

    ck_assert_ptr_nonnull(junk);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        junk[i] = (uint8_t)(seed >> 16);
    }
    junk[OFF_MAGIC] = 'X';
    for (int ready = 0; ready < 3; ready++) {
        junk[OFF_READY] = (uint8_t)(ready == 2 ? 0xa5 : ready);
        write_file(path, junk, len, 0600);
        assert_opens_fail(path, -EPROTO);
        assert_same_file(path, junk, len);
    }
    /* text of any size that is not a channel's */
    write_file(path, "hello, world\n", 13, 0644);
    assert_opens_fail(path, -EINVAL);
    assert_same_file(path, (const uint8_t *)"hello, world\n", 13);
    free(junk);
}
END_TEST

/* a valid channel with one header field spoilt: no open may touch it */
#define spoil_and_expect(path, off, bytes, n, want) spoil_at(__LINE__, path, off, bytes, n, want)

static void spoil_at(int line, const char *path, off_t off, const void *bytes, size_t n, int want)
{
    uint8_t *before;
    size_t len;

    make_channel(path, 4096, 3);
    poke(path, off, bytes, n);
    before = slurp(path, &len);
    opens_fail(line, path, want);
    assert_same_file(path, before, len);
    free(before);
}

START_TEST(test_wrong_magic)
{
    spoil_and_expect(tpath("chan"), OFF_MAGIC, "BCSU", 4, -EPROTO);
    spoil_and_expect(tpath("chan"), OFF_MAGIC, "TSCB", 4, -EPROTO);
    spoil_and_expect(tpath("chan"), OFF_MAGIC, "\0\0\0\0", 4, -EPROTO);
}
END_TEST

START_TEST(test_wrong_version)
{
    /* versions 2, 0 and 0xffff, little-endian as in the file */
    spoil_and_expect(tpath("chan"), OFF_VERSION, "\2\0", 2, -EPROTONOSUPPORT);
    spoil_and_expect(tpath("chan"), OFF_VERSION, "\0\0", 2, -EPROTONOSUPPORT);
    spoil_and_expect(tpath("chan"), OFF_VERSION, "\xff\xff", 2, -EPROTONOSUPPORT);
}
END_TEST

START_TEST(test_misaligned_positions)
{
    /* 44 and 2^64 - 7, little-endian as in the file */
    static const uint8_t odd[8] = {44}, huge[8] = {0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    spoil_and_expect(tpath("chan"), OFF_PRODUCER, odd, 8, -EPROTO);
    spoil_and_expect(tpath("chan"), OFF_CLAIMED, huge, 8, -EPROTO);
}
END_TEST

START_TEST(test_directory)
{
    const char *path = tpath("dir");
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(mkdir(path, 0700), 0);
    assert_opens_fail(path, -EISDIR);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), -EISDIR);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(access(path, F_OK), 0); /* still there, still a directory */
    ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

/* a FIFO must be refused at once, not block the open */
START_TEST(test_fifo)
{
    const char *path = tpath("fifo");
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(mkfifo(path, 0600), 0);
    assert_opens_fail(path, -EINVAL);
    /* create_file replaces it, as it replaces any file */
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    ck_assert_int_eq(file_size_of(path), HDR + 4096);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_strerror_texts)
{
    static const int codes[] = {EAGAIN, ENOBUFS, EBUSY, EINVAL, EPROTO, EPROTONOSUPPORT,
                                ENOENT, EACCES, EPERM, ENOMEM, EISDIR};

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = bcast_strerror(-codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "Unknown error");
    }
    /* the mlock failures point at the limit */
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-ENOMEM), "RLIMIT_MEMLOCK"));
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-EPERM), "RLIMIT_MEMLOCK"));
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-EBUSY), "writer"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* permissions                                                         */

static int child_no_permission(void *arg)
{
    const char *path = arg;
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    CHILD_REQUIRE(bcast_reader_open_file(path, 0, &r) == -EACCES);
    CHILD_REQUIRE(bcast_reader_open_file_at(path, 0, 0, &r) == -EACCES);
    CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w) == -EACCES);
    CHILD_REQUIRE(bcast_writer_open_file(path, 4096, 0, &w) == -EACCES);
    CHILD_REQUIRE(r == NULL && w == NULL);
    return 0;
}

START_TEST(test_no_permission)
{
    const char *path = tpath("chan");
    int rc;

    tdir_open_up();
    make_channel(path, 4096, 3);
    ck_assert_int_eq(chmod(path, 0), 0);
    ck_assert_int_eq(chmod(lock_path(path), 0), 0);
    rc = run_unprivileged(child_no_permission, (void *)path);
    if (rc == 77) {
        fprintf(stderr, "test_no_permission: cannot drop privileges, skipped\n");
        return;
    }
    ck_assert_int_eq(rc, 0);
}
END_TEST

static int child_read_only(void *arg)
{
    const char *path = arg;
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    uint8_t buf[512];

    /* the reader needs read permission only */
    CHILD_REQUIRE(bcast_reader_open_file_at(path, 0, 0, &r) == 0);
    for (uint32_t i = 0; i < 20; i++) {
        ssize_t n = bcast_reader_receive(r, buf, sizeof buf, NULL);
        CHILD_REQUIRE(n >= 0 && fx_ok(buf, i, (size_t)n));
    }
    CHILD_REQUIRE(bcast_reader_receive(r, buf, sizeof buf, NULL) == -EAGAIN);
    bcast_reader_close(r);
    CHILD_REQUIRE(bcast_reader_open_file(path, BCAST_FILE_NO_POPULATE, &r) == 0);
    bcast_reader_close(r);
    /* the writer needs to write */
    CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w) == -EACCES);
    CHILD_REQUIRE(bcast_writer_open_file(path, 4096, 0, &w) == -EACCES);
    return 0;
}

START_TEST(test_read_only_file)
{
    const char *path = tpath("chan");
    int rc;

    tdir_open_up();
    make_channel(path, 4096, 20);
    if (geteuid() == 0) { /* hand both files to the user the child becomes */
        ck_assert_int_eq(chown(path, NOBODY, NOBODY), 0);
        ck_assert_int_eq(chown(lock_path(path), NOBODY, NOBODY), 0);
    }
    ck_assert_int_eq(chmod(path, 0400), 0);
    rc = run_unprivileged(child_read_only, (void *)path);
    if (rc == 77) {
        fprintf(stderr, "test_read_only_file: cannot drop privileges, skipped\n");
        return;
    }
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* readers map PROT_READ: a store through the reader's mapping faults */
START_TEST(test_reader_mapping_read_only)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    pid_t pid;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        volatile uint8_t *meta = (volatile uint8_t *)(uintptr_t)bcast_reader_metadata(r);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL; /* not a sanitizer's handler */
        sigaction(SIGSEGV, &sa, NULL);
        meta[0] = 1;
        _exit(0);
    }
    ck_assert_int_eq(wait_child(pid), 128 + SIGSEGV);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the writer lock                                                     */

/* 1 when someone holds the flock on path's sidecar, 0 when it is free */
static int lock_held(const char *path)
{
    int fd = open(lock_path(path), O_RDONLY), held;

    ck_assert_int_ge(fd, 0);
    held = flock(fd, LOCK_EX | LOCK_NB) < 0;
    if (held)
        ck_assert_int_eq(errno, EWOULDBLOCK);
    close(fd);
    return held;
}

START_TEST(test_second_writer_same_process)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL, *w2 = NULL;
    struct bcast_reader *r = NULL;
    ino_t ino;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    fx_send(w, 0, 5);
    ino = inode_of(path);
    ck_assert(lock_held(path));
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w2), -EBUSY);
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, &w2), -EBUSY);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w2), -EBUSY);
    ck_assert_ptr_null(w2);
    /* the refused create did not replace the channel */
    ck_assert(inode_of(path) == ino);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    fx_expect(r, 0, 5, -EAGAIN);
    /* readers take no lock */
    ck_assert(lock_held(path));

    bcast_writer_close(w);
    ck_assert(!lock_held(path));
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w2), 0);
    fx_send(w2, 5, 6);
    fx_expect(r, 5, 6, -EAGAIN);
    bcast_writer_close(w2);
    bcast_reader_close(r);
}
END_TEST

START_TEST(test_second_writer_other_process)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    pid_t pid;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct bcast_writer *w2 = NULL;
        CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w2) == -EBUSY);
        CHILD_REQUIRE(bcast_writer_open_file(path, 4096, 0, &w2) == -EBUSY);
        CHILD_REQUIRE(bcast_writer_create_file(path, 4096, 0, &w2) == -EBUSY);
        CHILD_REQUIRE(w2 == NULL);
        _exit(0);
    }
    ck_assert_int_eq(wait_child(pid), 0);
    bcast_writer_close(w);

    /* and the other way round: a child writer excludes the parent */
    {
        int go[2], done[2];
        char c;
        struct bcast_writer *w2 = NULL;

        ck_assert_int_eq(pipe(go), 0);
        ck_assert_int_eq(pipe(done), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            struct bcast_writer *cw = NULL;
            close(go[0]);
            close(done[1]);
            CHILD_REQUIRE(bcast_writer_join_file(path, 0, &cw) == 0);
            CHILD_REQUIRE(write(go[1], "x", 1) == 1);
            CHILD_REQUIRE(read(done[0], &c, 1) == 0); /* until the parent closes it */
            bcast_writer_close(cw);
            _exit(0);
        }
        close(go[1]);
        close(done[0]);
        ck_assert_int_eq(read(go[0], &c, 1), 1);
        ck_assert_int_eq(bcast_writer_join_file(path, 0, &w2), -EBUSY);
        ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w2), -EBUSY);
        close(done[1]);
        ck_assert_int_eq(wait_child(pid), 0);
        close(go[0]);
        ck_assert_int_eq(bcast_writer_join_file(path, 0, &w2), 0);
        bcast_writer_close(w2);
    }
}
END_TEST

/* the lock travels with the open file: a fork()ed child keeps it */
START_TEST(test_lock_shared_with_fork)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    int hold[2];
    char c;
    pid_t pid;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    ck_assert_int_eq(pipe(hold), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(hold[1]);
        CHILD_REQUIRE(read(hold[0], &c, 1) == 0);
        _exit(0); /* exit closes the inherited lock descriptor */
    }
    close(hold[0]);
    bcast_writer_close(w);
    w = NULL;
    ck_assert(lock_held(path));
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), -EBUSY);
    close(hold[1]);
    ck_assert_int_eq(wait_child(pid), 0);
    ck_assert(!lock_held(path));
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    bcast_writer_close(w);
}
END_TEST

/* the lock descriptor is O_CLOEXEC: an exec()ed program does not keep it */
START_TEST(test_lock_cloexec)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    int hold[2], exec_done[2];
    char c;
    pid_t pid;

    if (access("/bin/sh", X_OK) < 0) {
        fprintf(stderr, "test_lock_cloexec: no /bin/sh, skipped\n");
        return;
    }
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    ck_assert_int_eq(pipe(hold), 0);
    ck_assert_int_eq(pipe2(exec_done, O_CLOEXEC), 0); /* EOF once the child has exec()ed */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(hold[1]);
        close(exec_done[0]);
        if (dup2(hold[0], 0) < 0)
            _exit(1);
        execl("/bin/sh", "sh", "-c", "read x; exit 0", (char *)NULL);
        if (write(exec_done[1], "e", 1) < 0)
            _exit(126);
        _exit(127);
    }
    close(hold[0]);
    close(exec_done[1]);
    ck_assert_int_eq(read(exec_done[0], &c, 1), 0);
    close(exec_done[0]);
    bcast_writer_close(w);
    w = NULL;
    /* the shell still runs (it waits on the pipe) but holds no lock */
    ck_assert(!lock_held(path));
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    bcast_writer_close(w);
    close(hold[1]);
    ck_assert_int_eq(wait_child(pid), 0);
}
END_TEST

/* the sidecar is shared with other writers (the Rust crate): an outside
   flock excludes us, and a sidecar that exists is used as it is */
START_TEST(test_lock_sidecar)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    uint8_t *before;
    size_t len;
    int fd;

    write_file(lock_path(path), "12345\n", 6, 0644);
    make_channel(path, 4096, 3);
    assert_same_file(lock_path(path), (const uint8_t *)"12345\n", 6); /* never truncated */
    ck_assert_uint_eq(file_mode_of(lock_path(path)), 0644);

    fd = open(lock_path(path), O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    before = slurp(path, &len);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), -EBUSY);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), -EBUSY);
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, &w), -EBUSY);
    ck_assert_ptr_null(w);
    assert_same_file(path, before, len); /* the refused create left it alone */
    free(before);
    close(fd);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    bcast_writer_close(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a writer killed in the middle of a claim                            */

#define KILL_FIRST 100
#define KILL_CHILD 100
#define KILL_AFTER 100
#define KILL_TOTAL (KILL_FIRST + KILL_CHILD + KILL_AFTER)

/* a reader process that reads messages 0..KILL_TOTAL-1 in order */
static void kill_reader_child(const char *path)
{
    struct bcast_reader *r = NULL;
    struct bcast_message *m = bcast_message_new();
    uint8_t buf[512];
    uint32_t i = 0;

    CHILD_REQUIRE(m != NULL);
    CHILD_REQUIRE(bcast_reader_open_file_at(path, 0, 0, &r) == 0);
    while (i < KILL_TOTAL) {
        ssize_t n = bcast_reader_receive(r, buf, sizeof buf, m);
        if (n == -EAGAIN) {
            sched_yield();
            continue;
        }
        CHILD_REQUIRE(n >= 0);
        CHILD_REQUIRE(bcast_message_user_defined(m) == i);
        CHILD_REQUIRE(bcast_message_flags(m) == 0);
        CHILD_REQUIRE(fx_ok(buf, i, (size_t)n));
        i++;
    }
    CHILD_REQUIRE(bcast_reader_receive(r, buf, sizeof buf, NULL) == -EAGAIN);
    bcast_reader_close(r);
    bcast_message_free(m);
    _exit(0);
}

START_TEST(test_killed_writer)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL, *r0 = NULL;
    int sync[2];
    char c;
    pid_t reader, writer;
    uint64_t committed;

    make_channel(path, 64 * 1024, KILL_FIRST);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);

    reader = fork();
    ck_assert_int_ge(reader, 0);
    if (reader == 0)
        kill_reader_child(path);

    ck_assert_int_eq(pipe(sync), 0);
    writer = fork();
    ck_assert_int_ge(writer, 0);
    if (writer == 0) {
        struct bcast_writer *cw = NULL;
        uint8_t buf[300];
        void *payload;

        close(sync[0]);
        CHILD_REQUIRE(bcast_writer_join_file(path, 0, &cw) == 0);
        for (uint32_t i = KILL_FIRST; i < KILL_FIRST + KILL_CHILD; i++) {
            fx_fill(buf, i);
            CHILD_REQUIRE(bcast_writer_send(cw, buf, fx_len(i), i, 0) == 0);
        }
        CHILD_REQUIRE(bcast_writer_claim(cw, 200, 0xdead, 0, &payload) == 0);
        memset(payload, 0xee, 100); /* half the payload, then die */
        CHILD_REQUIRE(write(sync[1], "x", 1) == 1);
        for (;;)
            pause();
    }
    close(sync[1]);
    ck_assert_int_eq(read(sync[0], &c, 1), 1);
    close(sync[0]);
    ck_assert(lock_held(path));
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), -EBUSY);
    ck_assert_int_eq(kill(writer, SIGKILL), 0);
    ck_assert_int_eq(wait_child(writer), 128 + SIGKILL);

    /* the kernel dropped the dead writer's lock */
    ck_assert(!lock_held(path));
    /* everything committed is there, the half-written claim is not */
    fx_expect(r, 0, KILL_FIRST + KILL_CHILD, -EAGAIN);
    ck_assert_uint_eq(bcast_reader_pending(r), 0);
    committed = bcast_reader_position(r);
    ck_assert_uint_eq(hdr64(path, OFF_PRODUCER), committed);
    ck_assert_uint_ge(hdr64(path, OFF_CLAIMED), committed + 8 + 200);

    /* a new writer joins at the committed position and carries on */
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), committed);
    fx_send(w, KILL_FIRST + KILL_CHILD, KILL_TOTAL);
    fx_expect(r, KILL_FIRST + KILL_CHILD, KILL_TOTAL, -EAGAIN);
    /* the reader process read across the crash without a torn message */
    ck_assert_int_eq(wait_child(reader), 0);
    /* and so does a reader that comes later */
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r0), 0);
    fx_expect(r0, 0, KILL_TOTAL, -EAGAIN);
    bcast_writer_close(w);
    bcast_reader_close(r0);
    bcast_reader_close(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* late readers                                                        */

START_TEST(test_late_reader_from_zero)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    uint8_t buf[512];

    ck_assert_int_eq(bcast_writer_create_file(path, 16384, 0, &w), 0);
    fx_send(w, 0, 50); /* about 7.6 KiB: less than a lap */
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_pending(r), bcast_writer_position(w));
    fx_expect(r, 0, 50, -EAGAIN);
    bcast_reader_close(r);

    fx_send(w, 50, 200); /* past a lap: position 0 was overwritten */
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), bcast_writer_position(w));
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    fx_send(w, 200, 201);
    fx_expect(r, 200, 201, -EAGAIN);
    bcast_reader_close(r);

    /* ahead of the producer: nothing until the producer passes it */
    ck_assert_int_eq(bcast_reader_open_file_at(path, bcast_writer_position(w) + 8, 0, &r), 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_last_lap)
{
    const char *path = tpath("chan");
    const uint64_t cap = 4096;
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL, *rm = NULL;
    struct ro_map map;
    uint64_t frame_pos[300], start;
    uint8_t buf[512];
    uint32_t first = 0;

    ck_assert_int_eq(bcast_writer_create_file(path, cap, 0, &w), 0);
    for (uint32_t i = 0; i < 300; i++) {
        fx_fill(buf, i);
        ck_assert_int_eq(bcast_writer_send(w, buf, fx_len(i), i, 0), 0);
        frame_pos[i] = bcast_writer_position(w) - (8 + ((fx_len(i) + 7) & ~7u));
    }
    start = last_lap_start(path, cap);
    ck_assert_uint_eq(start % cap, 0);
    ck_assert_uint_eq(start, hdr64(path, OFF_LAP) * cap);
    while (frame_pos[first] < start)
        first++;
    ck_assert_uint_eq(frame_pos[first], start); /* a lap starts with a frame */

    ck_assert_int_eq(bcast_reader_open_file_at(path, start, 0, &r), 0);
    rm = open_last_lap_mapped(path, &map);
    ck_assert_uint_eq(bcast_reader_position(rm), start);
    fx_expect(r, first, 300, -EAGAIN);
    fx_expect(rm, first, 300, -EAGAIN);

    /* a reader opened at the producer sees only what comes next */
    bcast_reader_close(r);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    fx_send(w, 300, 301);
    fx_expect(r, 300, 301, -EAGAIN);
    fx_expect(rm, 300, 301, -EAGAIN);
    bcast_reader_close(r);
    bcast_reader_close(rm);
    munmap(map.addr, map.len);
    bcast_writer_close(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* populate and mlock                                                  */

START_TEST(test_no_populate)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    ck_assert_int_eq(bcast_writer_create_file(path, 1 << 20, BCAST_FILE_NO_POPULATE, &w), 0);
    ck_assert_int_eq(bcast_reader_open_file(path, BCAST_FILE_NO_POPULATE, &r), 0);
    fx_send(w, 0, 100);
    fx_expect(r, 0, 100, -EAGAIN);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_mlock_ok)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL, *r2 = NULL;
    struct rlimit rl;

    ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
    if (geteuid() != 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 256 * 1024) {
        fprintf(stderr, "test_mlock_ok: RLIMIT_MEMLOCK is %llu bytes, skipped\n",
                (unsigned long long)rl.rlim_cur);
        return;
    }
    ck_assert_int_eq(bcast_writer_create_file(path, 16384, BCAST_FILE_MLOCK, &w), 0);
    ck_assert_int_eq(bcast_reader_open_file(path, BCAST_FILE_MLOCK, &r), 0);
    ck_assert_int_eq(
        bcast_reader_open_file_at(path, 0, BCAST_FILE_MLOCK | BCAST_FILE_NO_POPULATE, &r2), 0);
    fx_send(w, 0, 30);
    fx_expect(r, 0, 30, -EAGAIN);
    fx_expect(r2, 0, 30, -EAGAIN);
    bcast_reader_close(r2);
    bcast_reader_close(r);
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_writer_join_file(path, BCAST_FILE_MLOCK, &w), 0);
    bcast_writer_close(w);
}
END_TEST

static int set_memlock(rlim_t soft)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
        return -1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < soft)
        return -1;
    rl.rlim_cur = soft;
    return setrlimit(RLIMIT_MEMLOCK, &rl);
}

static int child_mlock_fail(void *arg)
{
    const char *dir = arg;
    char path[PATH_MAX], theirs[PATH_MAX];
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    CHILD_REQUIRE(snprintf(path, sizeof path, "%s/chan", dir) < (int)sizeof path);
    CHILD_REQUIRE(snprintf(theirs, sizeof theirs, "%s/../chan", dir) < (int)sizeof theirs);

    /* limit 0: EPERM */
    if (set_memlock(0) < 0)
        return 77;
    {
        /* with CAP_IPC_LOCK the limit does not apply: nothing to test */
        int probe = bcast_writer_create_file(path, 65536, BCAST_FILE_MLOCK, &w);
        if (probe == 0) {
            bcast_writer_close(w);
            return 77;
        }
        CHILD_REQUIRE(probe == -EPERM);
    }
    CHILD_REQUIRE(w == NULL);
    CHILD_REQUIRE(access(path, F_OK) < 0 && errno == ENOENT); /* not left behind */
    CHILD_REQUIRE(bcast_writer_open_file(path, 65536, BCAST_FILE_MLOCK, &w) == -EPERM);
    CHILD_REQUIRE(access(path, F_OK) < 0 && errno == ENOENT);
    CHILD_REQUIRE(bcast_reader_open_file(theirs, BCAST_FILE_MLOCK, &r) == -EPERM);
    CHILD_REQUIRE(bcast_reader_open_file_at(theirs, 0, BCAST_FILE_MLOCK, &r) == -EPERM);
    CHILD_REQUIRE(r == NULL);

    /* a limit smaller than the channel: ENOMEM */
    CHILD_REQUIRE(set_memlock(4096) == 0);
    CHILD_REQUIRE(bcast_writer_create_file(path, 65536, BCAST_FILE_MLOCK, &w) == -ENOMEM);
    CHILD_REQUIRE(access(path, F_OK) < 0 && errno == ENOENT);
    CHILD_REQUIRE(bcast_reader_open_file(theirs, BCAST_FILE_MLOCK, &r) == -ENOMEM);
    CHILD_REQUIRE(r == NULL);

    /* the failed attempts let go of the lock; without MLOCK all is well */
    CHILD_REQUIRE(bcast_writer_create_file(path, 65536, 0, &w) == 0);
    CHILD_REQUIRE(bcast_writer_join_file(path, BCAST_FILE_MLOCK, &w) == -EBUSY);
    bcast_writer_close(w);
    w = NULL;
    CHILD_REQUIRE(bcast_writer_join_file(path, BCAST_FILE_MLOCK, &w) == -ENOMEM);
    CHILD_REQUIRE(access(path, F_OK) == 0); /* a failed join removes nothing */
    CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w) == 0);
    bcast_writer_close(w);
    CHILD_REQUIRE(bcast_reader_open_file(theirs, 0, &r) == 0);
    bcast_reader_close(r);
    return 0;
}

START_TEST(test_mlock_fail)
{
    const char *sub = tpath("sub");
    const char *theirs = tpath("chan");
    int rc;

    tdir_open_up();
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    if (geteuid() == 0)
        ck_assert_int_eq(chown(sub, NOBODY, NOBODY), 0);
    make_channel(theirs, 65536, 0);
    ck_assert_int_eq(chmod(theirs, 0644), 0);

    rc = run_unprivileged(child_mlock_fail, (void *)sub);
    if (rc == 77) {
        fprintf(stderr, "test_mlock_fail: cannot drop CAP_IPC_LOCK or lower the limit, skipped\n");
        return;
    }
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rust-written fixtures                                               */

static const char *fixture_copy(const char *name)
{
    char from[PATH_MAX];
    const char *to = tpath(name);

    ck_assert_int_lt(snprintf(from, sizeof from, "%s/%s", FIXTURES_DIR, name), PATH_MAX);
    copy_file(from, to);
    return to;
}

START_TEST(test_fixture_64k)
{
    const char *path = fixture_copy("rust-64k-100.bcast");
    struct bcast_reader *r = NULL;
    struct bcast_message *m;
    uint8_t *bulk;
    uint64_t start = 1;
    size_t off = 0;
    ssize_t n;
    uint32_t i;

    ck_assert_int_eq(file_size_of(path), HDR + 65536);
    ck_assert_uint_eq(hdr64(path, OFF_PRODUCER), 14488);
    ck_assert_uint_eq(hdr64(path, OFF_CLAIMED), 14688);
    ck_assert_uint_eq(hdr64(path, OFF_LAP), 0);

    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_capacity(r), 65536);
    ck_assert_uint_eq(bcast_reader_mtu(r), 65536 / 2 - 8);
    ck_assert_uint_eq(bcast_reader_position(r), 14488);
    ck_assert_uint_eq(bcast_reader_pending(r), 0);
    ck_assert_int_eq(bcast_reader_receive(r, NULL, 0, NULL), -EAGAIN);
    bcast_reader_close(r);

    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_pending(r), 14488);
    fx_expect(r, 0, 100, -EAGAIN);
    ck_assert_uint_eq(bcast_reader_position(r), 14488);
    bcast_reader_close(r);

    /* the same through one bulk copy */
    bulk = malloc(65536);
    m = bcast_message_new();
    ck_assert_ptr_nonnull(bulk);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    n = bcast_reader_read_bulk(r, bulk, 65536, &start);
    ck_assert_int_eq(n, 14488);
    ck_assert_uint_eq(start, 0);
    for (i = 0; bcast_bulk_next(bulk, (size_t)n, &off, start, m) == 0; i++) {
        ck_assert(fx_ok(bcast_message_data(m), i, bcast_message_len(m)));
        ck_assert_uint_eq(bcast_message_user_defined(m), i);
        ck_assert_int_eq(bcast_message_flags(m), 0);
    }
    ck_assert_uint_eq(i, 100);
    ck_assert_uint_eq(off, (size_t)n);
    bcast_message_free(m);
    free(bulk);
    bcast_reader_close(r);
}
END_TEST

START_TEST(test_fixture_4k)
{
    const char *path = fixture_copy("rust-4k-100.bcast");
    struct bcast_reader *r = NULL, *rm = NULL;
    struct ro_map map;
    uint8_t buf[512];

    ck_assert_int_eq(file_size_of(path), HDR + 4096);
    ck_assert_uint_eq(hdr64(path, OFF_PRODUCER), 14576);
    ck_assert_uint_eq(hdr64(path, OFF_CLAIMED), 14640);
    ck_assert_uint_eq(hdr64(path, OFF_LAP), 3);

    /* from 0: lapped three times over */
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -ENOBUFS);
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 14576);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    bcast_reader_close(r);

    /* the last lap: messages 81..99 */
    ck_assert_uint_eq(last_lap_start(path, 4096), 12288);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 12288, 0, &r), 0);
    fx_expect(r, 81, 100, -EAGAIN);
    bcast_reader_close(r);
    rm = open_last_lap_mapped(path, &map);
    ck_assert_uint_eq(bcast_reader_position(rm), 12288);
    fx_expect(rm, 81, 100, -EAGAIN);
    bcast_reader_close(rm);
    munmap(map.addr, map.len);

    /* at the producer */
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 14576);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -EAGAIN);
    bcast_reader_close(r);
}
END_TEST

/* a C writer joins a Rust-written channel and appends */
START_TEST(test_fixture_join_append)
{
    const char *p64 = fixture_copy("rust-64k-100.bcast");
    const char *p4 = fixture_copy("rust-4k-100.bcast");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    uint64_t start;
    uint32_t first;

    ck_assert_int_eq(bcast_writer_join_file(p64, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), 14488);
    ck_assert_uint_eq(bcast_writer_capacity(w), 65536);
    fx_send(w, 100, 200);
    bcast_writer_close(w);
    w = NULL;
    ck_assert_int_eq(bcast_reader_open_file_at(p64, 0, 0, &r), 0);
    fx_expect(r, 0, 200, -EAGAIN);
    bcast_reader_close(r);

    ck_assert_int_eq(bcast_writer_open_file(p4, 4096, 0, &w), 0);
    ck_assert_uint_eq(bcast_writer_position(w), 14576);
    ck_assert_int_eq(bcast_reader_open_file(p4, 0, &r), 0);
    for (uint32_t i = 100; i < 150; i++) { /* 4 KiB: the reader keeps up, by turns */
        fx_send(w, i, i + 1);
        fx_expect(r, i, i + 1, -EAGAIN);
    }
    bcast_reader_close(r);
    bcast_writer_close(w);

    /* the last lap of the result ends with message 149, in order */
    start = last_lap_start(p4, 4096);
    ck_assert_uint_gt(start, 12288);
    ck_assert_int_eq(bcast_reader_open_file_at(p4, start, 0, &r), 0);
    {
        struct bcast_message *m = bcast_message_new();
        uint8_t buf[512];
        ssize_t n = bcast_reader_receive(r, buf, sizeof buf, m);
        ck_assert_int_ge(n, 0);
        first = bcast_message_user_defined(m);
        ck_assert_uint_ge(first, 100);
        ck_assert_uint_lt(first, 150);
        ck_assert(fx_ok(buf, first, (size_t)n));
        bcast_message_free(m);
    }
    fx_expect(r, first + 1, 150, -EAGAIN);
    bcast_reader_close(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* one writer process, several reader processes                       */

#define NREADERS 3

struct shared {
    uint64_t reader_pos[NREADERS]; /* flow control: where each reader is */
    uint32_t done;                 /* the writer has sent everything */
    uint64_t got[NREADERS];
    uint64_t overruns[NREADERS];
    uint64_t bad[NREADERS];
};

static struct shared *shared_new(void)
{
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(s != MAP_FAILED);
    memset(s, 0, sizeof *s);
    return s;
}

/*
 * The writer process: n messages of seq_len() bytes.  Before each message it
 * waits (yielding) while any reader is more than max_lag bytes behind.  With
 * max_lag = capacity/2 no reader can be overrun, so every reader must see
 * every message.  With one and a half laps, readers are overrun now and
 * then, but they have to run alongside the writer, which cannot finish
 * while one of them has not started.
 */
static void stress_writer(const char *path, struct shared *s, uint64_t n, uint32_t maxlen,
                          uint64_t max_lag)
{
    struct bcast_writer *w = NULL;
    uint8_t *buf = malloc(maxlen + 1);

    CHILD_REQUIRE(buf != NULL);
    CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w) == 0);
    for (uint64_t seq = 0; seq < n; seq++) {
        size_t len = seq_len(seq, maxlen);
        for (;;) {
            uint64_t pos = bcast_writer_position(w), lag = 0;
            for (int i = 0; i < NREADERS; i++) {
                uint64_t d = pos - __atomic_load_n(&s->reader_pos[i], __ATOMIC_ACQUIRE);
                lag = d > lag ? d : lag;
            }
            if (lag <= max_lag)
                break;
            sched_yield();
        }
        if (seq & 1) {
            void *payload;
            CHILD_REQUIRE(bcast_writer_claim(w, len, (uint32_t)seq, 0, &payload) == 0);
            seq_fill(seq, payload, len);
            CHILD_REQUIRE(bcast_writer_commit(w) == 0);
        } else {
            seq_fill(seq, buf, len);
            CHILD_REQUIRE(bcast_writer_send(w, buf, len, (uint32_t)seq, 0) == 0);
        }
    }
    bcast_writer_close(w);
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    free(buf);
    _exit(0);
}

struct reader_state {
    struct shared *s;
    int id;
    uint32_t maxlen;
    int64_t last; /* last seq seen, -1 before the first */
    int lost;     /* an overrun happened since the last message */
};

/* account for one delivered message */
static void stress_account(struct reader_state *st, uint32_t user, const uint8_t *p, size_t len,
                           int flags)
{
    uint64_t seq = user; /* fewer than 2^32 messages */

    if (flags != 0 || len != seq_len(seq, st->maxlen) || seq_check(seq, p, len) != len ||
        (int64_t)seq <= st->last || ((int64_t)seq != st->last + 1 && !st->lost)) {
        st->s->bad[st->id]++;
        fprintf(stderr, "reader %d: bad message seq %llu len %zu after %lld (lost %d)\n", st->id,
                (unsigned long long)seq, len, (long long)st->last, st->lost);
    }
    st->last = (int64_t)seq;
    st->lost = 0;
    st->s->got[st->id]++;
}

static int stress_poll_fn(const struct bcast_message *m, void *ctx)
{
    struct reader_state *st = ctx;
    uint8_t buf[1024];
    ssize_t n = bcast_message_read(m, buf, sizeof buf);

    if (n == -ENOBUFS) { /* overwritten while we looked: lost, not torn */
        st->lost = 1;
        return 1;
    }
    CHILD_REQUIRE(n >= 0);
    stress_account(st, bcast_message_user_defined(m), buf, (size_t)n, bcast_message_flags(m));
    return 0;
}

/*
 * A reader process.  Mode 0 copies with receive, mode 1 polls and reads
 * lazily, mode 2 copies windows with read_bulk.  It stops after the message
 * n-1, or once the writer is done and nothing is left.
 */
static void stress_reader(const char *path, struct shared *s, int id, uint64_t n,
                          uint32_t maxlen)
{
    struct reader_state st = {s, id, maxlen, -1, 0};
    struct bcast_reader *r = NULL;
    struct bcast_message *m = bcast_message_new();
    size_t bulk_cap;
    uint8_t *buf;
    int flags = id == 1 ? BCAST_FILE_NO_POPULATE : 0;

    CHILD_REQUIRE(m != NULL);
    CHILD_REQUIRE(bcast_reader_open_file_at(path, 0, flags, &r) == 0);
    bulk_cap = bcast_reader_capacity(r) / 2;
    buf = malloc(bulk_cap);
    CHILD_REQUIRE(buf != NULL);
    while (st.last != (int64_t)n - 1) {
        int done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
        ssize_t rc;

        if (id == 0) {
            rc = bcast_reader_receive(r, buf, bulk_cap, m);
            if (rc >= 0)
                stress_account(&st, bcast_message_user_defined(m), buf, (size_t)rc,
                               bcast_message_flags(m));
        } else if (id == 1) {
            rc = bcast_reader_poll(r, stress_poll_fn, &st, 64);
            if (rc == 0)
                rc = -EAGAIN;
        } else {
            uint64_t start;
            size_t off = 0;
            rc = bcast_reader_read_bulk(r, buf, bulk_cap, &start);
            if (rc >= 0)
                while (bcast_bulk_next(buf, (size_t)rc, &off, start, m) == 0)
                    stress_account(&st, bcast_message_user_defined(m), bcast_message_data(m),
                                   bcast_message_len(m), bcast_message_flags(m));
        }
        if (rc == -ENOBUFS) {
            s->overruns[id]++;
            st.lost = 1;
            CHILD_REQUIRE(bcast_reader_reset(r) == 0);
        } else if (rc == -EAGAIN) {
            if (done && bcast_reader_pending(r) == 0)
                break;
            sched_yield();
        } else {
            CHILD_REQUIRE(rc >= 0);
        }
        __atomic_store_n(&s->reader_pos[id], bcast_reader_position(r), __ATOMIC_RELEASE);
    }
    bcast_reader_close(r);
    bcast_message_free(m);
    free(buf);
    _exit(0);
}

static void run_stress(size_t capacity, uint64_t n, uint32_t maxlen, int every)
{
    const char *path = tpath("chan");
    struct shared *s = shared_new();
    struct bcast_writer *w = NULL;
    pid_t readers[NREADERS], writer;

    /* made here, written by the writer process, read from 0 by the readers */
    ck_assert_int_eq(bcast_writer_create_file(path, capacity, 0, &w), 0);
    ck_assert_uint_ge(bcast_writer_mtu(w), maxlen);
    bcast_writer_close(w);
    for (int i = 0; i < NREADERS; i++) {
        readers[i] = fork();
        ck_assert_int_ge(readers[i], 0);
        if (readers[i] == 0)
            stress_reader(path, s, i, n, maxlen);
    }
    writer = fork();
    ck_assert_int_ge(writer, 0);
    if (writer == 0)
        stress_writer(path, s, n, maxlen, every ? capacity / 2 : capacity + capacity / 2);

    ck_assert_int_eq(wait_child(writer), 0);
    for (int i = 0; i < NREADERS; i++)
        ck_assert_int_eq(wait_child(readers[i]), 0);
    for (int i = 0; i < NREADERS; i++) {
        ck_assert_msg(s->bad[i] == 0, "reader %d: %llu torn or out-of-order messages", i,
                      (unsigned long long)s->bad[i]);
        if (every) {
            ck_assert_uint_eq(s->overruns[i], 0);
            ck_assert_uint_eq(s->got[i], n);
        } else {
            fprintf(stderr, "reader %d: %llu of %llu messages, %llu overruns\n", i,
                    (unsigned long long)s->got[i], (unsigned long long)n,
                    (unsigned long long)s->overruns[i]);
        }
    }
    munmap(s, sizeof *s);
}

START_TEST(test_processes_every_message)
{
    run_stress(256 * 1024, 300000, 300, 1);
}
END_TEST

START_TEST(test_processes_overrun)
{
    run_stress(16 * 1024, 200000, 1000, 0);
}
END_TEST

/* ------------------------------------------------------------------ */

/* a test case of s whose tests each get a directory of their own */
static TCase *file_case(Suite *s, const char *name, double timeout)
{
    TCase *tc = suite_case(s, name, timeout);

    test_dirs(tc, "check-mmap");
    return tc;
}

static const char *no_dev_shm(void)
{
    struct stat st;

    return stat("/dev/shm", &st) < 0 || !S_ISDIR(st.st_mode) ? "no /dev/shm" : NULL;
}

SUITE_UNLESS(mmap, no_dev_shm)
{
    TCase *tc;

    tc = file_case(s, "create", 30);
    tcase_add_test(tc, test_create_file_layout);
    tcase_add_test(tc, test_create_file_umask);
    tcase_add_test(tc, test_create_file_bad_capacity);
    tcase_add_test(tc, test_create_file_no_parent);
    tcase_add_test(tc, test_create_file_replaces);
    tcase_add_test(tc, test_join_file_resumes);
    tcase_add_test(tc, test_open_file_creates_or_refuses);

    tc = file_case(s, "bad files", 30);
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_bad_sizes);
    tcase_add_test(tc, test_ready_zero);
    tcase_add_test(tc, test_garbage_file);
    tcase_add_test(tc, test_wrong_magic);
    tcase_add_test(tc, test_wrong_version);
    tcase_add_test(tc, test_misaligned_positions);
    tcase_add_test(tc, test_directory);
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_strerror_texts);

    tc = file_case(s, "permissions", 30);
    tcase_add_test(tc, test_no_permission);
    tcase_add_test(tc, test_read_only_file);
    tcase_add_test(tc, test_reader_mapping_read_only);

    tc = file_case(s, "writer lock", 30);
    tcase_add_test(tc, test_second_writer_same_process);
    tcase_add_test(tc, test_second_writer_other_process);
    tcase_add_test(tc, test_lock_shared_with_fork);
    tcase_add_test(tc, test_lock_cloexec);
    tcase_add_test(tc, test_lock_sidecar);
    tcase_add_test(tc, test_killed_writer);

    tc = file_case(s, "laps", 30);
    tcase_add_test(tc, test_late_reader_from_zero);
    tcase_add_test(tc, test_last_lap);

    tc = file_case(s, "populate and mlock", 30);
    tcase_add_test(tc, test_no_populate);
    tcase_add_test(tc, test_mlock_ok);
    tcase_add_test(tc, test_mlock_fail);

    tc = file_case(s, "rust fixtures", 30);
    tcase_add_test(tc, test_fixture_64k);
    tcase_add_test(tc, test_fixture_4k);
    tcase_add_test(tc, test_fixture_join_append);

    tc = file_case(s, "processes", 120);
    tcase_add_test(tc, test_processes_every_message);
    tcase_add_test(tc, test_processes_overrun);
}
