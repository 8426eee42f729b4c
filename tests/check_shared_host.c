/*
 * check_shared_host: file channels on a host shared with other users.
 * /dev/shm is writable by every local user, so these tests play the other
 * user: a name squatted before the writer starts, a lock sidecar replaced
 * by a symbolic link, a hostile sparse file handed to a reader, a full
 * tmpfs, and a channel shared with a group on purpose.
 *
 * Parts run as other users in fork()ed children (nobody, 65534, and two
 * numeric uids that need no passwd entry); they need root to switch and
 * are skipped (with a note on stderr) without it.  The full-tmpfs test
 * needs a private mount namespace (unshare, root) and is skipped without.
 * Each test works in a directory of its own (tests/test-dirs.h).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
/* first: a 32-bit host's 64-bit off_t (AC_SYS_LARGEFILE), for the
   channel files over 2 GiB that stat and ftruncate here */
#include "config.h"
#include "test-dirs.h"
#include "children.h"
#include "core-helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define HDR BCAST_HEADER_SIZE
#define NOBODY 65534 /* the channel's owner and group in the sharing tests */
#define PEER 65533   /* another user, in group NOBODY */
#define STRANGER 65532 /* a user in no group of ours */


/*
 * fn(arg) in a fork()ed child that runs as uid with primary group gid and
 * the supplementary group extra (-1 for none): its exit status, 77 when
 * the switch is not possible (not root).
 */
static int run_as(uid_t uid, gid_t gid, int extra, int (*fn)(void *), void *arg)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        gid_t groups[1] = {(gid_t)extra};
        if (geteuid() != 0)
            _exit(77);
        if (setgroups(extra < 0 ? 0 : 1, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(77);
        _exit(fn(arg));
    }
    return wait_child(pid);
}

#define SKIP_IF_77(rc, what)                                                                  \
    do {                                                                                      \
        if ((rc) == 77) {                                                                     \
            fprintf(stderr, "%s: cannot switch users, skipped\n", what);                      \
            return;                                                                           \
        }                                                                                     \
    } while (0)

/* the test directory, sticky and writable by all, as /dev/shm is */
static void tdir_like_dev_shm(void)
{
    ck_assert_int_eq(chmod(case_dir, 0755), 0);
    ck_assert_int_eq(chmod(tdir, 01777), 0);
}

static struct stat stat_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(lstat(path, &st), 0);
    return st;
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void write_file(const char *path, const void *bytes, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    ck_assert_int_ge(fd, 0);
    if (n)
        ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
}

static void make_channel(const char *path, size_t cap, int n)
{
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(bcast_writer_create_file(path, cap, 0, &w), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(bcast_writer_send(w, &i, sizeof i, (uint32_t)i, 0), 0);
    bcast_writer_close(w);
}

/* n messages i = from..from+n-1 of sizeof(int) each, then -EAGAIN */
static int read_ints(struct bcast_reader *r, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        int v = -1;
        if (bcast_reader_receive(r, &v, sizeof v, NULL) != (ssize_t)sizeof v || v != i)
            return 0;
    }
    return bcast_reader_receive(r, NULL, 0, NULL) == -EAGAIN;
}

/* the three writer opens of the 1.0 API and the _opts one, on path: each says want */
#define assert_writers_fail(path, want) writers_fail(__LINE__, path, want)

static void writers_fail(int line, const char *path, int want)
{
    struct bcast_writer *w = NULL;
    int rc[4];

    rc[0] = bcast_writer_join_file(path, 0, &w);
    rc[1] = bcast_writer_open_file(path, 4096, 0, &w);
    rc[2] = bcast_writer_open_file_opts(path, 4096, NULL, NULL, &w);
    rc[3] = bcast_writer_open_file_opts(path, 0, NULL, NULL, &w);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(rc[k] == want, "line %d: writer open %d gave %d (%s), not %d", line, k,
                      rc[k], bcast_strerror(rc[k]), want);
    ck_assert_ptr_null(w);
}

/* ------------------------------------------------------------------ */
/* 1. squatting                                                        */

/* another user made the name first and opened it to all: never joined */
START_TEST(test_squatted_name_refused)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct stat before;

    make_channel(path, 4096, 3);
    ck_assert_int_eq(unlink(lock_path(path)), 0);
    ck_assert_int_eq(chmod(path, 0666), 0);
    if (geteuid() == 0)
        ck_assert_int_eq(chown(path, NOBODY, NOBODY), 0);
    before = stat_of(path);
    assert_writers_fail(path, -EPERM);
    /* untouched, and no sidecar made for it */
    ck_assert_int_eq(stat_of(path).st_mtime, before.st_mtime);
    ck_assert(!exists(lock_path(path)));

    /* our own file, but writable by the group or by all: refused too */
    if (geteuid() == 0)
        ck_assert_int_eq(chown(path, 0, 0), 0);
    ck_assert_int_eq(chmod(path, 0620), 0);
    assert_writers_fail(path, -EPERM);
    ck_assert_int_eq(chmod(path, 0602), 0);
    assert_writers_fail(path, -EPERM);
    ck_assert(!exists(lock_path(path)));
    /* group write asked for with the options: joined */
    {
        struct bcast_file_options o = {sizeof o, 0, 0660, NULL, 0};
        int created = -1;
        ck_assert_int_eq(chmod(path, 0660), 0);
        ck_assert_int_eq(bcast_writer_open_file_opts(path, 4096, &o, &created, &w), 0);
        ck_assert_int_eq(created, 0);
        bcast_writer_close(w);
    }
    /* and the plain 0600 file of the 1.0 API as before */
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    bcast_writer_close(w);
}
END_TEST

static int child_squatted(void *arg)
{
    const char *path = arg;
    char lock[PATH_MAX];
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    snprintf(lock, sizeof lock, "%s.lock", path);
    CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w) == -EPERM);
    CHILD_REQUIRE(bcast_writer_open_file(path, 4096, 0, &w) == -EPERM);
    /* the sticky directory keeps it from removing root's file */
    CHILD_REQUIRE(bcast_writer_create_file(path, 4096, 0, &w) == -EPERM);
    CHILD_REQUIRE(w == NULL);
    CHILD_REQUIRE(access(lock, F_OK) < 0 && errno == ENOENT);
    /* a world-writable file is no channel a reader trusts either */
    CHILD_REQUIRE(bcast_reader_open_file(path, 0, &r) == -EPERM);
    return 0;
}

/* the same seen by an unprivileged user in a sticky directory like /dev/shm */
START_TEST(test_squatted_name_unprivileged)
{
    const char *path = tpath("chan");
    int rc;

    tdir_like_dev_shm();
    make_channel(path, 4096, 3);
    ck_assert_int_eq(unlink(lock_path(path)), 0);
    ck_assert_int_eq(chmod(path, 0666), 0);
    rc = run_as(NOBODY, NOBODY, -1, child_squatted, (void *)path);
    SKIP_IF_77(rc, "test_squatted_name_unprivileged");
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. the lock sidecar                                                 */

START_TEST(test_lock_symlink_not_followed)
{
    const char *path = tpath("chan");
    const char *target = tpath("planted");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;

    /* a dangling link where the sidecar goes: nothing is made through it */
    ck_assert_int_eq(symlink(target, lock_path(path)), 0);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), -ELOOP);
    ck_assert_int_eq(bcast_writer_open_file(path, 4096, 0, &w), -ELOOP);
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 4096, NULL, NULL, &w), -ELOOP);
    ck_assert_ptr_null(w);
    ck_assert(!exists(target));
    ck_assert(!exists(path)); /* the failed creates left no channel either */

    /* an existing channel whose sidecar is a link to a file of ours */
    ck_assert_int_eq(unlink(lock_path(path)), 0);
    make_channel(path, 4096, 2);
    ck_assert_int_eq(rename(lock_path(path), target), 0);
    ck_assert_int_eq(symlink(target, lock_path(path)), 0);
    assert_writers_fail(path, -ELOOP);
    ck_assert_int_eq(unlink(lock_path(path)), 0);

    /* the channel path itself a link: writers refuse it, readers follow it */
    ck_assert_int_eq(rename(path, tpath("real")), 0);
    ck_assert_int_eq(symlink(tpath("real"), path), 0);
    assert_writers_fail(path, -ELOOP);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    ck_assert(read_ints(r, 0, 2));
    bcast_reader_close(r);
}
END_TEST

/* a sidecar of another user, or one others may write: refused */
START_TEST(test_lock_foreign_refused)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;

    make_channel(path, 4096, 0);
    ck_assert_int_eq(chmod(lock_path(path), 0666), 0);
    assert_writers_fail(path, -EPERM);
    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), -EPERM);
    ck_assert_int_eq(chmod(lock_path(path), 0600), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(lock_path(path), NOBODY, NOBODY), 0);
        assert_writers_fail(path, -EPERM);
        ck_assert_int_eq(chown(lock_path(path), 0, 0), 0);
    }
    /* a FIFO or a directory there is no lock either */
    ck_assert_int_eq(unlink(lock_path(path)), 0);
    ck_assert_int_eq(mkfifo(lock_path(path), 0600), 0);
    assert_writers_fail(path, -EINVAL);
    ck_assert_int_eq(unlink(lock_path(path)), 0);
    ck_assert_int_eq(bcast_writer_join_file(path, 0, &w), 0);
    bcast_writer_close(w);
}
END_TEST

/* no call leaves a file behind when it fails */
START_TEST(test_no_stray_files)
{
    const char *path;
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    DIR *d;
    int entries = 0;

    ck_assert_int_eq(bcast_writer_join_file(tpath("missing"), 0, &w), -ENOENT);
    ck_assert_int_eq(bcast_writer_open_file_opts(tpath("missing"), 0, NULL, NULL, &w), -ENOENT);
    ck_assert_int_eq(bcast_reader_open_file(tpath("missing"), 0, &r), -ENOENT);
    ck_assert_int_eq(bcast_writer_open_file(tpath("no/dir"), 4096, 0, &w), -ENOENT);
    ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
    ck_assert_int_eq(bcast_writer_join_file(tpath("fifo"), 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file(tpath("fifo"), 4096, 0, &w), -EINVAL);
    write_file(tpath("text"), "hello\n", 6, 0600);
    ck_assert_int_eq(bcast_writer_join_file(tpath("text"), 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file(tpath("text"), 4096, 0, &w), -EINVAL);
    ck_assert_int_eq(mkdir(tpath("dir"), 0700), 0);
    ck_assert_int_eq(bcast_writer_join_file(tpath("dir"), 0, &w), -EISDIR);
    ck_assert_int_eq(bcast_writer_create_file(tpath("dir"), 4096, 0, &w), -EISDIR);
    ck_assert_ptr_null(w);
    /* a channel without a sidecar (a copied file) asked for another capacity */
    path = tpath("chan");
    make_channel(path, 4096, 0);
    ck_assert_int_eq(unlink(lock_path(path)), 0);
    ck_assert_int_eq(unlink(tpath("chan.wait")), 0);
    ck_assert_int_eq(bcast_writer_open_file(path, 8192, 0, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, NULL, NULL, &w), -EINVAL);

    /* only what the test made itself: chan, fifo, text, dir */
    d = opendir(tdir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ck_assert_msg(strstr(e->d_name, ".lock") == NULL, "stray %s", e->d_name);
        entries++;
    }
    closedir(d);
    ck_assert_int_eq(entries, 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. readers                                                          */

/* a sparse file of 1664 + 2^34 bytes with a valid header, the rest holes */
START_TEST(test_reader_hostile_sparse)
{
    const char *path = tpath("hostile");
    const char *real = tpath("real");
    uint8_t hdr[HDR];
    struct bcast_reader *r = NULL;
    struct stat before, after;
    const uint64_t cap = (uint64_t)1 << 34;
    int fd;

    if (sizeof(size_t) < 8) {
        fprintf(stderr, "test_reader_hostile_sparse: 32-bit size_t, skipped\n");
        return;
    }
    make_channel(real, 4096, 0);
    fd = open(real, O_RDONLY);
    ck_assert_int_eq(pread(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    close(fd);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    if (ftruncate(fd, (off_t)(HDR + cap)) < 0) {
        fprintf(stderr, "test_reader_hostile_sparse: ftruncate: %s, skipped\n", strerror(errno));
        close(fd);
        return;
    }
    ck_assert_int_eq(pwrite(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    close(fd);
    before = stat_of(path);

    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_capacity(r), cap);
    ck_assert_int_eq(bcast_reader_receive(r, NULL, 0, NULL), -EAGAIN);
    bcast_reader_close(r);
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, 0, &r), 0);
    bcast_reader_close(r);
    /* locking it would back every hole: refused */
    r = NULL;
    ck_assert_int_eq(bcast_reader_open_file(path, BCAST_FILE_MLOCK, &r), -ENODATA);
    ck_assert_ptr_null(r);
    after = stat_of(path);
    /* not one block more on the tmpfs */
    ck_assert_int_eq(after.st_blocks, before.st_blocks);
}
END_TEST

/* anyone may write into a world-writable channel: readers refuse it */
START_TEST(test_reader_world_writable)
{
    const char *path = tpath("chan");
    struct bcast_reader *r = NULL;

    make_channel(path, 4096, 2);
    ck_assert_int_eq(chmod(path, 0666), 0);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), -EPERM);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), -EPERM);
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, 0, &r), -EPERM);
    ck_assert_ptr_null(r);
    /* group-writable is a choice of the owner and the group: read */
    ck_assert_int_eq(chmod(path, 0664), 0);
    ck_assert_int_eq(bcast_reader_open_file_at(path, 0, 0, &r), 0);
    ck_assert(read_ints(r, 0, 2));
    bcast_reader_close(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. a full tmpfs                                                     */

static int child_full_tmpfs(void *arg)
{
    const char *mnt = arg;
    char path[PATH_MAX];
    struct bcast_file_options sparse = {sizeof sparse, BCAST_FILE_SPARSE | BCAST_FILE_NO_POPULATE,
                                        0, NULL, 0};
    struct bcast_writer *w = NULL;

    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("none", mnt, "tmpfs", 0, "size=64k") < 0)
        return 77;
    snprintf(path, sizeof path, "%s/chan", mnt);
    /* a sparse 1 MiB channel, as a writer that did not reserve leaves it */
    CHILD_REQUIRE(bcast_writer_open_file_opts(path, 1 << 20, &sparse, NULL, &w) == 0);
    CHILD_REQUIRE(bcast_writer_send(w, "x", 1, 0, 0) == 0);
    bcast_writer_close(w);
    w = NULL;
    /* joining it reserves the blocks: -ENOSPC now, not SIGBUS later */
    CHILD_REQUIRE(bcast_writer_join_file(path, 0, &w) == -ENOSPC);
    CHILD_REQUIRE(bcast_writer_open_file(path, 1 << 20, 0, &w) == -ENOSPC);
    CHILD_REQUIRE(bcast_writer_open_file_opts(path, 0, NULL, NULL, &w) == -ENOSPC);
    CHILD_REQUIRE(w == NULL);
    /* asked for, the sparse join goes on */
    CHILD_REQUIRE(bcast_writer_join_file(path, BCAST_FILE_SPARSE | BCAST_FILE_NO_POPULATE, &w) ==
                  0);
    bcast_writer_close(w);
    return 0;
}

START_TEST(test_join_full_tmpfs)
{
    const char *mnt = tpath("mnt");
    int rc;

    ck_assert_int_eq(mkdir(mnt, 0700), 0);
    rc = run_as(0, 0, -1, child_full_tmpfs, (void *)mnt);
    if (rc == 77) {
        fprintf(stderr, "test_join_full_tmpfs: no private tmpfs here, skipped\n");
        return;
    }
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. sharing with a group on purpose                                  */

struct share {
    const char *path;
    int first, n; /* messages first..first+n-1 */
};

static int child_share_writer(void *arg)
{
    const struct share *sh = arg;
    struct bcast_file_options o = {sizeof o, 0, 0640, "quotes", 6};
    struct bcast_writer *w = NULL;
    int created = -1;

    umask(077); /* the mode asked for is the mode made */
    CHILD_REQUIRE(bcast_writer_open_file_opts(sh->path, 4096, &o, &created, &w) == 0);
    CHILD_REQUIRE(created == (sh->first == 0));
    for (int i = sh->first; i < sh->first + sh->n; i++)
        CHILD_REQUIRE(bcast_writer_send(w, &i, sizeof i, 0, 0) == 0);
    bcast_writer_close(w);
    return 0;
}

static int child_share_reader(void *arg)
{
    const struct share *sh = arg;
    struct bcast_reader *r = NULL;

    CHILD_REQUIRE(bcast_reader_open_file_at(sh->path, 0, 0, &r) == 0);
    CHILD_REQUIRE(memcmp(bcast_reader_metadata(r), "quotes", 7) == 0);
    CHILD_REQUIRE(read_ints(r, 0, sh->n));
    bcast_reader_close(r);
    return 0;
}

static int child_share_stranger(void *arg)
{
    const struct share *sh = arg;
    struct bcast_reader *r = NULL;

    CHILD_REQUIRE(bcast_reader_open_file(sh->path, 0, &r) == -EACCES);
    return 0;
}

START_TEST(test_group_share_across_restart)
{
    struct share sh = {tpath("chan"), 0, 10};
    int rc;

    ck_assert_int_eq(chmod(case_dir, 0755), 0);
    if (geteuid() == 0)
        ck_assert_int_eq(chown(tdir, NOBODY, NOBODY), 0);
    ck_assert_int_eq(chmod(tdir, 0755), 0);
    rc = run_as(NOBODY, NOBODY, -1, child_share_writer, &sh);
    SKIP_IF_77(rc, "test_group_share_across_restart");
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(stat_of(sh.path).st_mode & 07777, 0640);
    ck_assert_uint_eq(stat_of(lock_path(sh.path)).st_mode & 07777, 0600);
    ck_assert_int_eq(run_as(PEER, PEER, NOBODY, child_share_reader, &sh), 0);
    ck_assert_int_eq(run_as(STRANGER, STRANGER, -1, child_share_stranger, &sh), 0);
    /* the writer restarts: it joins, the mode stays, the peer reads on */
    sh.first = 10;
    ck_assert_int_eq(run_as(NOBODY, NOBODY, -1, child_share_writer, &sh), 0);
    ck_assert_uint_eq(stat_of(sh.path).st_mode & 07777, 0640);
    sh.n = 20;
    ck_assert_int_eq(run_as(PEER, PEER, NOBODY, child_share_reader, &sh), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the options call and the last-lap reader                            */

START_TEST(test_open_file_opts)
{
    const char *path = tpath("chan");
    unsigned char big[sizeof(struct bcast_file_options) + 16];
    struct bcast_file_options o = {sizeof o, 0, 0, "meta", 4};
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    struct stat st;
    int created = -1;

    /* capacity 0 only joins */
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 0, &o, &created, &w), -ENOENT);
    ck_assert_int_eq(created, -1);
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 4096, &o, &created, &w), 0);
    ck_assert_int_eq(created, 1);
    st = stat_of(path);
    ck_assert_uint_eq(st.st_mode & 07777, 0600 & ~0u);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert(memcmp(bcast_reader_metadata(r), "meta", 5) == 0);
    bcast_reader_close(r);
    ck_assert_int_eq(bcast_writer_send(w, "x", 1, 0, 0), 0);
    bcast_writer_close(w);
    /* joined: the metadata is not rewritten, created says so */
    o.metadata = "other";
    o.metadata_len = 5;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 4096, &o, &created, &w), 0);
    ck_assert_int_eq(created, 0);
    ck_assert_uint_eq(bcast_writer_position(w), 16);
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 0, NULL, NULL, &w), 0);
    bcast_writer_close(w);
    /* BCAST_FILE_REPLACE makes a new file, as create_file does */
    o.flags = BCAST_FILE_REPLACE;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, &o, &created, &w), 0);
    ck_assert_int_eq(created, 1);
    ck_assert(stat_of(path).st_ino != st.st_ino);
    ck_assert_uint_eq(bcast_writer_capacity(w), 8192);
    bcast_writer_close(w);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert(memcmp(bcast_reader_metadata(r), "other", 6) == 0);
    bcast_reader_close(r);

    /* bad options, none of which touches the file */
    created = -1;
    w = NULL;
    st = stat_of(path);
    o.flags = BCAST_FILE_REPLACE;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 0, &o, &created, &w), -EINVAL);
    o.flags = 0x10;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, &o, &created, &w), -EINVAL);
    o.flags = 0;
    o.mode = 04640;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, &o, &created, &w), -EINVAL);
    o.mode = 0;
    o.metadata_len = BCAST_METADATA_SIZE + 1;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, &o, &created, &w), -EINVAL);
    o.metadata = NULL;
    o.metadata_len = 1;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, &o, &created, &w), -EINVAL);
    o.metadata_len = 0;
    o.size = sizeof o - 1;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, &o, &created, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 1000, NULL, &created, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file_opts(NULL, 8192, NULL, &created, &w), -EINVAL);
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, NULL, &created, NULL), -EINVAL);
    /* a larger struct from a later version: its unknown tail must be zero */
    memset(big, 0, sizeof big);
    o.size = sizeof big;
    memcpy(big, &o, sizeof o);
    big[sizeof o + 3] = 1;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, (const void *)big, &created, &w),
                     -E2BIG);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(created, -1);
    ck_assert_int_eq(stat_of(path).st_mtime, st.st_mtime);
    big[sizeof o + 3] = 0;
    ck_assert_int_eq(bcast_writer_open_file_opts(path, 8192, (const void *)big, &created, &w), 0);
    ck_assert_int_eq(created, 0);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_reader_last_lap_file)
{
    const char *path = tpath("chan");
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL, *rm = NULL;
    void *map;
    size_t len = HDR + 4096;
    int fd;

    ck_assert_int_eq(bcast_writer_create_file(path, 4096, 0, &w), 0);
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), 0);
    bcast_reader_close(r);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(bcast_writer_send(w, &i, sizeof i, 0, 0), 0);
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, 0, &r), 0);
    fd = open(path, O_RDONLY);
    map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(map != MAP_FAILED);
    ck_assert_int_eq(bcast_reader_open_last_lap(map, len, &rm), 0);
    ck_assert_uint_eq(bcast_reader_position(r), bcast_reader_position(rm));
    ck_assert_uint_lt(bcast_reader_position(r), bcast_writer_position(w));
    ck_assert_uint_ge(bcast_reader_position(r) + 4096, bcast_writer_position(w));
    ck_assert_uint_eq(bcast_reader_pending(r), bcast_reader_pending(rm));
    bcast_reader_close(rm);
    munmap(map, len);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

/* more than 2 GiB, sparse (nothing is reserved or prefaulted) */
START_TEST(test_large_channel)
{
    const char *path = tpath("big");
    const size_t cap = (size_t)1 << 31;
    struct bcast_file_options o = {sizeof o, BCAST_FILE_SPARSE | BCAST_FILE_NO_POPULATE, 0,
                                   NULL, 0};
    struct bcast_writer *w = NULL;
    struct bcast_reader *r = NULL;
    char buf[8];
    int rc;

    rc = bcast_writer_open_file_opts(path, cap, &o, NULL, &w);
    if (rc == -ENOMEM || rc == -EFBIG || rc == -ENOSPC || rc == -EOVERFLOW) {
        fprintf(stderr, "test_large_channel: %s, skipped\n", bcast_strerror(rc));
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(stat_of(path).st_size, (off_t)(HDR + cap));
    ck_assert_uint_eq(bcast_writer_capacity(w), cap);
    ck_assert_int_eq(bcast_writer_send(w, "big", 3, 0, 0), 0);
    /* a 32-bit address space has room for one 2 GiB mapping, not two:
       there the reader maps the channel once the writer has gone */
    if (sizeof(void *) < 8) {
        bcast_writer_close(w);
        w = NULL;
    }
    ck_assert_int_eq(bcast_reader_open_file_last_lap(path, 0, &r), 0);
    ck_assert_uint_eq(bcast_reader_capacity(r), cap);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), 3);
    ck_assert(memcmp(buf, "big", 3) == 0);
    /* only the pages touched are backed */
    ck_assert_int_lt(stat_of(path).st_blocks * 512, 1 << 20);
    bcast_reader_close(r);
    bcast_writer_close(w);
}
END_TEST

START_TEST(test_strerror_texts)
{
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-EPERM), "another user"));
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-ELOOP), "symbolic link"));
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-ENOSPC), "space"));
    ck_assert_ptr_nonnull(strstr(bcast_strerror(-ENODATA), "holes"));
    ck_assert_str_ne(bcast_strerror(-E2BIG), "Unknown error");
}
END_TEST

/* ------------------------------------------------------------------ */

static const char *no_dev_shm(void)
{
    struct stat st;

    return stat("/dev/shm", &st) < 0 || !S_ISDIR(st.st_mode) ? "no /dev/shm" : NULL;
}

SUITE_UNLESS(shared_host, no_dev_shm)
{
    TCase *tc = suite_case(s, "shared host", 60);

    test_dirs(tc, "check-shared-host");
    tcase_add_test(tc, test_squatted_name_refused);
    tcase_add_test(tc, test_squatted_name_unprivileged);
    tcase_add_test(tc, test_lock_symlink_not_followed);
    tcase_add_test(tc, test_lock_foreign_refused);
    tcase_add_test(tc, test_no_stray_files);
    tcase_add_test(tc, test_reader_hostile_sparse);
    tcase_add_test(tc, test_reader_world_writable);
    tcase_add_test(tc, test_join_full_tmpfs);
    tcase_add_test(tc, test_group_share_across_restart);
    tcase_add_test(tc, test_open_file_opts);
    tcase_add_test(tc, test_reader_last_lap_file);
    tcase_add_test(tc, test_large_channel);
    tcase_add_test(tc, test_strerror_texts);
}
