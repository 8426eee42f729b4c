/*
 * libbcast file-backed channels: the only file of the library that calls
 * the OS (open, flock, ftruncate, posix_fallocate, mmap, madvise, mlock).  OS failures come
 * back as -errno.
 *
 * The writer holds an exclusive flock on the sidecar "<path>.lock" for as
 * long as it is attached, the same sidecar the Rust crate bcast uses, so a C
 * and a Rust writer exclude each other.  Readers open the file O_RDONLY, map
 * it PROT_READ and take no lock.
 *
 * Channel files usually live in /dev/shm, which every local user can write
 * to, so a writer trusts only files it could have made itself: the channel
 * and the lock must be regular files owned by the caller's effective uid,
 * without group or other write bits the caller did not ask for (-EPERM),
 * and neither may be a symbolic link (O_NOFOLLOW: -ELOOP).  A failed call
 * leaves no file behind that it made.  A reader reads any owner's channel,
 * but no world-writable one (-EPERM: anyone could write into it), checks
 * the header with pread before it maps anything, and never prefaults pages
 * of a file that are not backed yet (a sparse file would otherwise fill the
 * file system at its expense).
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define READER_FLAGS (BCAST_FILE_MLOCK | BCAST_FILE_NO_POPULATE)
#define WRITER_FLAGS (READER_FLAGS | BCAST_FILE_SPARSE)
#define OPTS_FLAGS (WRITER_FLAGS | BCAST_FILE_REPLACE)
#define FILE_MODE 0600
#define WRITE_BITS (S_IWGRP | S_IWOTH)

/* writer_try(): the file changed under us; look again */
#define RETRY 1
#define RETRIES 3

struct bcast__mapping {
    void *addr;
    size_t len;
    int lock_fd;     /* -1 for readers */
    void *wait;      /* the mapped <path>.wait, or NULL */
    char *path;      /* readers: the channel's path, to find <path>.wait */
    uid_t owner;     /* readers: the channel file's owner */
};

void bcast__mapping_release(struct bcast__mapping *m)
{
    if (!m)
        return;
    if (m->addr)
        munmap(m->addr, m->len);
    if (m->wait)
        munmap(m->wait, BCAST_WAIT_AREA_SIZE);
    if (m->lock_fd >= 0)
        close(m->lock_fd); /* drops the flock */
    free(m->path);
    free(m);
}

/* "<path><suffix>" in a malloc'ed string, or NULL */
static char *sidecar_path(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix) + 1;
    char *p = malloc(n + k);

    if (p) {
        memcpy(p, path, n);
        memcpy(p + n, suffix, k);
    }
    return p;
}

#define lock_path_of(path) sidecar_path(path, ".lock")

/*
 * <path>.wait, the wait area of a file channel (bcast-format(5)): a file of
 * BCAST_WAIT_AREA_SIZE bytes that the writer owns and its readers may
 * write (they announce that they sleep there).  It is mapped, or NULL when
 * it cannot be used: it is not a regular file of that size owned by owner,
 * or (a reader) it may not be written.  The writer creates it, with the
 * channel's mode and a write bit beside each read bit; created says
 * whether it did.
 */
static void *wait_file_map(const char *path, uid_t owner, mode_t create_mode, int *created)
{
    char *wpath = sidecar_path(path, ".wait");
    int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, fd;
    void *addr = NULL;
    struct stat st;

    *created = 0;
    if (!wpath)
        return NULL;
    fd = open(wpath, flags);
    if (fd < 0 && errno == ENOENT && create_mode) {
        mode_t mode = create_mode | ((create_mode & 0044) >> 1);
        fd = open(wpath, flags | O_CREAT | O_EXCL, mode);
        if (fd >= 0) {
            *created = 1;
            if (fchmod(fd, mode) < 0 || ftruncate(fd, BCAST_WAIT_AREA_SIZE) < 0)
                goto out;
        }
    }
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner ||
        st.st_size != BCAST_WAIT_AREA_SIZE)
        goto out;
    addr = mmap(NULL, BCAST_WAIT_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
        addr = NULL;
out:
    if (!addr && *created) {
        unlink(wpath);
        *created = 0;
    }
    if (fd >= 0)
        close(fd);
    free(wpath);
    return addr;
}

/* a file reader's wait area, mapped the first time it is asked for */
uint8_t *bcast__mapping_wait(struct bcast__mapping *m)
{
    int created;

    if (!m->wait && m->path)
        m->wait = wait_file_map(m->path, m->owner, 0, &created);
    return (uint8_t *)m->wait;
}

/* a file writer takes its channel's wait area; without one (it cannot be
   made, or it is another user's) its readers poll */
static void writer_wait_file(struct bcast_writer *w, const char *path, mode_t mode)
{
    struct bcast__mapping *m = w->mapping;
    int created;

    m->wait = wait_file_map(path, geteuid(), mode & 0777, &created);
    if (m->wait)
        bcast__wait_attach(w, (uint8_t *)m->wait);
}

/*
 * Whether a writer may use the file st describes (the channel or its lock):
 * 0, -EISDIR, -EINVAL (not a regular file), or -EPERM (owned by another
 * user, or writable by group or others beyond allowed_w).
 */
static int writer_may_use(const struct stat *st, mode_t allowed_w)
{
    if (S_ISDIR(st->st_mode))
        return -EISDIR;
    if (!S_ISREG(st->st_mode))
        return -EINVAL;
    if (st->st_uid != geteuid())
        return -EPERM;
    if (st->st_mode & WRITE_BITS & ~allowed_w)
        return -EPERM;
    return 0;
}

/*
 * Take the writer lock on "<path>.lock": the fd, or -errno (-EBUSY when
 * held).  The caller checked the channel file (or is about to create it).
 * A sidecar that is missing is created with mode 0600, and one that exists
 * must be the caller's with no write bits for others: the lock is never
 * shared, and no other user may open it and block the writer with a flock
 * of its own.  A sidecar this call created is removed again when it fails;
 * when it succeeds, *created_lock is its malloc'ed path, which the caller
 * unlinks (and frees) if it fails later, or frees (NULL otherwise).
 */
static int lock_writer(const char *path, char **created_lock)
{
    char *lock_path = lock_path_of(path);
    struct stat st;
    int fd, rc, made = 0;

    *created_lock = NULL;
    if (!lock_path)
        return -ENOMEM;
    fd = open(lock_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0 && errno == ENOENT) {
        fd = open(lock_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                  FILE_MODE);
        if (fd >= 0)
            made = 1;
        else if (errno == EEXIST) /* another writer made it just now */
            fd = open(lock_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    }
    if (fd < 0) {
        rc = -errno;
        goto err;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto err;
    }
    if ((rc = writer_may_use(&st, 0)) < 0)
        goto err;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto err;
    }
    if (made)
        *created_lock = lock_path;
    else
        free(lock_path);
    return fd;
err:
    if (made)
        unlink(lock_path);
    if (fd >= 0)
        close(fd);
    free(lock_path);
    return rc;
}

/*
 * The size of a channel file from its fstat: 0 and *size, -EAGAIN for an
 * empty file (a creator between creat and ftruncate), -EISDIR, or -EINVAL
 * (not a regular file, or not 1664 + a power of two bytes).
 */
static int file_size(const struct stat *st, size_t *size)
{
    if (S_ISDIR(st->st_mode))
        return -EISDIR;
    if (!S_ISREG(st->st_mode))
        return -EINVAL;
    if (st->st_size == 0)
        return -EAGAIN;
    if (bcast__capacity_of((size_t)st->st_size) == 0 ||
        (uint64_t)st->st_size != (uint64_t)(size_t)st->st_size)
        return -EINVAL;
    *size = (size_t)st->st_size;
    return 0;
}

/* the header of the channel file fd, read with pread and checked before
   anything is mapped: bcast__header_check()'s result, or -errno */
static int header_pread(int fd)
{
    alignas(BCAST_ALIGNMENT) uint8_t hdr[BCAST_HEADER_SIZE];
    ssize_t n = pread(fd, hdr, sizeof hdr, 0);

    if (n < 0)
        return -errno;
    if ((size_t)n != sizeof hdr)
        return -EINVAL; /* cut short since fstat */
    return bcast__header_check(hdr);
}

/*
 * -errno for a failed mmap or mlock.  Their EAGAIN ("could not be locked",
 * "too much memory locked") is a lack of lockable memory that waiting will
 * not cure; passed through it would read as the "not ready, try again" that
 * -EAGAIN means for the open functions, so it is reported as -ENOMEM.
 */
static int map_errno(void)
{
    return errno == EAGAIN ? -ENOMEM : -errno;
}

/* map fd; the mapping is returned in *out (with lock_fd), or -errno */
static int map_file(int fd, size_t size, int writable, int flags, int lock_fd,
                    struct bcast__mapping **out)
{
    struct bcast__mapping *m = calloc(1, sizeof *m);
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    int mflags = MAP_SHARED | ((flags & BCAST_FILE_NO_POPULATE) ? 0 : MAP_POPULATE);
    void *addr;
    int err;

    if (!m)
        return -ENOMEM;
    addr = mmap(NULL, size, prot, mflags, fd, 0);
    if (addr == MAP_FAILED) {
        err = map_errno();
        free(m);
        return err;
    }
    /* prefault for writing too, so the first sends take no page fault;
       kernels before 5.14 lack it (EINVAL), and MAP_POPULATE has done most
       of the work.  EFAULT: a page could not be backed, and a send would
       have died of SIGBUS on it (a sparse file on a full file system) */
    if (writable && !(flags & BCAST_FILE_NO_POPULATE) &&
        madvise(addr, size, MADV_POPULATE_WRITE) < 0 && errno == EFAULT) {
        munmap(addr, size);
        free(m);
        return -ENOSPC;
    }
    if ((flags & BCAST_FILE_MLOCK) && mlock(addr, size) < 0) {
        err = map_errno();
        munmap(addr, size);
        free(m);
        return err;
    }
    m->addr = addr;
    m->len = size;
    m->lock_fd = lock_fd;
    *out = m;
    return 0;
}

enum writer_mode { MODE_CREATE, MODE_JOIN, MODE_OPEN };

/* what a writer open was asked for, the options of the _opts call included */
struct writer_req {
    const char *path;
    size_t capacity;
    size_t size; /* bcast_channel_size(capacity); 0 for a join */
    enum writer_mode mode;
    int flags;
    mode_t create_mode; /* permission bits of a channel file it creates */
    int exact_mode;     /* set create_mode with fchmod, whatever the umask */
    mode_t allowed_w;   /* group/other write bits an existing file may have */
    const void *metadata;
    size_t metadata_len;
};

/*
 * The writer opens.  Decisions the format leaves open, written down:
 *  - A join (and open_file) opens the channel file first, with O_NOFOLLOW,
 *    and checks who owns it before it takes the lock, so a failed join
 *    makes no sidecar for a path that is missing or no channel of ours.
 *    The sidecar is made when the channel is made, or when a channel of
 *    ours that has none is joined (a copied file, say); after the lock is
 *    taken the path must still name the file that was checked, else the
 *    call starts again (a creator replaced it meanwhile).
 *  - join_file returns what bcast_writer_join() returns for the header: an
 *    empty file or a ready byte of 0 is -EAGAIN (a creator that does not
 *    hold our lock may be initialising it).  open_file holds the lock, so
 *    nobody else can be initialising it: it finishes such a file (empty,
 *    or of the right size with a zero ready byte and a magic of 0 or
 *    "BCST") as a new channel.  It never rewrites a file whose header does
 *    not validate otherwise (-EPROTO), nor one of another size (-EINVAL).
 *  - A path that is not a regular file is -EINVAL for every open (a FIFO
 *    too, without blocking), -EISDIR for a directory; create_file replaces
 *    it like any other file, a directory excepted.
 *  - create_file unlinks the old file before it makes the new one, as the
 *    Rust crate does; if making the new one then fails, the path is left
 *    empty.
 *  - Joins and opens reserve the blocks of the file as create does
 *    (posix_fallocate), so a sparse file on a full file system is -ENOSPC
 *    at open and not SIGBUS at a later send; BCAST_FILE_SPARSE skips that.
 */
static int writer_try(const struct writer_req *q, int *created_out, struct bcast_writer **out)
{
    struct bcast__mapping *m = NULL;
    struct bcast_writer *w = NULL;
    char *made_lock = NULL;
    struct stat st;
    size_t size = q->size;
    int lock_fd = -1, fd = -1, rc, created = 0, init = 0;

    if (q->mode != MODE_CREATE) {
        fd = open(q->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0 && (errno != ENOENT || q->mode == MODE_JOIN))
            return -errno;
        if (fd >= 0 && fstat(fd, &st) < 0) {
            rc = -errno;
            goto err;
        }
        if (fd >= 0 && (rc = writer_may_use(&st, q->allowed_w)) < 0)
            goto err;
    }
    if ((lock_fd = lock_writer(q->path, &made_lock)) < 0) {
        rc = lock_fd;
        goto err;
    }
    if (fd >= 0) {
        struct stat now;
        /* still the file that was checked, and still its size */
        if (fstatat(AT_FDCWD, q->path, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
            now.st_dev != st.st_dev || now.st_ino != st.st_ino || fstat(fd, &st) < 0) {
            rc = RETRY;
            goto err;
        }
    } else if (q->mode == MODE_OPEN) {
        if (faccessat(AT_FDCWD, q->path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
            rc = RETRY; /* made between our look and our lock */
            goto err;
        }
    }

    if (fd >= 0) { /* join an existing channel */
        size_t have = 0;
        rc = file_size(&st, &have);
        if (rc == -EAGAIN && q->mode == MODE_OPEN) {
            have = size; /* empty: its creator died before ftruncate */
            if (ftruncate(fd, (off_t)size) < 0) {
                rc = -errno;
                goto err;
            }
            init = 1;
        } else if (rc < 0) {
            goto err;
        }
        if (q->mode == MODE_OPEN && have != size) {
            rc = -EINVAL;
            goto err;
        }
        size = have;
        if (!init && (rc = header_pread(fd)) < 0) {
            if (rc != -EAGAIN || q->mode != MODE_OPEN)
                goto err;
            init = 1; /* its creator died before it was ready */
        }
    } else { /* create: replace what is there, as the Rust crate does */
        if (q->mode == MODE_CREATE && unlink(q->path) < 0 && errno != ENOENT) {
            rc = -errno;
            goto err;
        }
        fd = open(q->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, q->create_mode);
        if (fd < 0) {
            rc = -errno;
            goto err;
        }
        created = init = 1;
        if ((q->exact_mode && fchmod(fd, q->create_mode) < 0) || ftruncate(fd, (off_t)size) < 0) {
            rc = -errno;
            goto err;
        }
    }
    /* reserve the blocks now: on a full tmpfs a send would otherwise fault
       with SIGBUS; here it is -ENOSPC (EINVAL/EOPNOTSUPP: the file system
       cannot reserve, and the file stays sparse as before) */
    if (!(q->flags & BCAST_FILE_SPARSE)) {
        rc = posix_fallocate(fd, 0, (off_t)size);
        if (rc != 0 && rc != EINVAL && rc != EOPNOTSUPP) {
            rc = -rc;
            goto err;
        }
    }
    if ((rc = map_file(fd, size, 1, q->flags, lock_fd, &m)) < 0)
        goto err;
    if (fstat(fd, &st) < 0) /* the mode it has now, for its wait file */
        st.st_mode = FILE_MODE;
    close(fd);
    fd = -1;
    if (init)
        rc = bcast__writer_create(m->addr, size, q->metadata, q->metadata_len, &w);
    else
        rc = bcast__writer_join(m->addr, size, &w);
    if (rc < 0) {
        m->lock_fd = -1; /* keep the lock until err: has removed what we created */
        bcast__mapping_release(m);
        goto err;
    }
    w->mapping = m;
    writer_wait_file(w, q->path, st.st_mode);
    free(made_lock);
    if (created_out)
        *created_out = init;
    *out = w;
    return 0;
err:
    if (created)
        unlink(q->path);
    if (made_lock) { /* still locked by us: nobody else uses it */
        unlink(made_lock);
        free(made_lock);
    }
    if (fd >= 0)
        close(fd);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

static int writer_file(struct writer_req *q, int *created, struct bcast_writer **out)
{
    int rc = RETRY;

    if (!q->path || !out || (q->flags & ~OPTS_FLAGS))
        return -EINVAL;
    if (q->mode != MODE_JOIN && !(q->size = bcast__channel_size(q->capacity)))
        return -EINVAL;
    for (int i = 0; i < RETRIES && rc == RETRY; i++)
        rc = writer_try(q, created, out);
    return rc == RETRY ? -EAGAIN : rc;
}

static int writer_file_flags(const char *path, size_t capacity, int flags, enum writer_mode mode,
                             struct bcast_writer **out)
{
    struct writer_req q = {path, capacity, 0, mode, flags, FILE_MODE, 0, 0, NULL, 0};

    if (flags & ~WRITER_FLAGS)
        return -EINVAL;
    return writer_file(&q, NULL, out);
}

BCAST_EXPORT int bcast_writer_create_file(const char *path, size_t capacity, int flags,
                                          struct bcast_writer **out)
{
    return writer_file_flags(path, capacity, flags, MODE_CREATE, out);
}

BCAST_EXPORT int bcast_writer_join_file(const char *path, int flags, struct bcast_writer **out)
{
    return writer_file_flags(path, 0, flags, MODE_JOIN, out);
}

BCAST_EXPORT int bcast_writer_open_file(const char *path, size_t capacity, int flags,
                                        struct bcast_writer **out)
{
    return writer_file_flags(path, capacity, flags, MODE_OPEN, out);
}

/* the fields of the first struct bcast_file_options, the smallest size accepted */
#define OPTS_SIZE_1_1 (offsetof(struct bcast_file_options, metadata_len) + sizeof(size_t))
/* the largest size looked at (a page, as clone3 and openat2 do) */
#define OPTS_SIZE_MAX 4096

BCAST_EXPORT int bcast_writer_open_file_opts(const char *path, size_t capacity,
                                             const struct bcast_file_options *opts, int *created,
                                             struct bcast_writer **out)
{
    struct bcast_file_options o;
    struct writer_req q = {path, capacity, 0, MODE_OPEN, 0, FILE_MODE, 0, 0, NULL, 0};

    memset(&o, 0, sizeof o);
    if (opts) {
        /* a caller built against a later version may pass a larger struct:
           fine as long as everything this version does not know is zero */
        if (opts->size < OPTS_SIZE_1_1)
            return -EINVAL;
        if (opts->size > OPTS_SIZE_MAX)
            return -E2BIG;
        for (size_t i = sizeof o; i < opts->size; i++)
            if (((const unsigned char *)opts)[i])
                return -E2BIG;
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    if ((o.mode & ~(mode_t)0777) || o.metadata_len > BCAST_METADATA_SIZE ||
        (o.metadata_len && !o.metadata))
        return -EINVAL;
    q.flags = o.flags;
    if (o.mode) {
        q.create_mode = o.mode;
        q.exact_mode = 1;
        q.allowed_w = o.mode & WRITE_BITS;
    }
    q.metadata = o.metadata;
    q.metadata_len = o.metadata_len;
    if (o.flags & BCAST_FILE_REPLACE)
        q.mode = MODE_CREATE;
    if (capacity == 0) { /* join only */
        if (o.flags & BCAST_FILE_REPLACE)
            return -EINVAL;
        q.mode = MODE_JOIN;
    }
    return writer_file(&q, created, out);
}

/* the reader opens: at the producer, at a position, or at the last lap */
enum reader_start { START_PRODUCER, START_AT, START_LAST_LAP };

static int reader_file(const char *path, enum reader_start from, uint64_t position, int flags,
                       struct bcast_reader **out)
{
    struct bcast__mapping *m = NULL;
    struct bcast_reader *r;
    struct stat st;
    size_t size = 0;
    int fd, rc;

    if (!path || !out || (flags & ~READER_FLAGS) || (from == START_AT && (position & 7)))
        return -EINVAL;
    /* O_NONBLOCK: a FIFO at path must not block the open; it is refused
       by file_size() like any other file that is not a regular file */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if ((rc = file_size(&st, &size)) == 0 && (st.st_mode & S_IWOTH))
        rc = -EPERM; /* anyone could write into it */
    if (rc == 0)
        rc = header_pread(fd);
    if (rc == 0 && (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size) {
        /* not all backed: prefaulting or locking it would fill the file
           system with the holes, at the reader's expense */
        if (flags & BCAST_FILE_MLOCK)
            rc = -ENODATA;
        flags |= BCAST_FILE_NO_POPULATE;
    }
    if (rc == 0)
        rc = map_file(fd, size, 0, flags, -1, &m);
    close(fd);
    if (rc < 0)
        return rc;
    switch (from) {
    case START_AT:
        rc = bcast__reader_open_at(m->addr, size, position, &r);
        break;
    case START_LAST_LAP:
        rc = bcast__reader_open_last_lap(m->addr, size, &r);
        break;
    default:
        rc = bcast__reader_open(m->addr, size, &r);
        break;
    }
    if (rc < 0) {
        bcast__mapping_release(m);
        return rc;
    }
    m->owner = st.st_uid;
    m->path = strdup(path); /* NULL: no wait area, the reader polls */
    r->mapping = m;
    *out = r;
    return 0;
}

BCAST_EXPORT int bcast_reader_open_file(const char *path, int flags, struct bcast_reader **out)
{
    return reader_file(path, START_PRODUCER, 0, flags, out);
}

BCAST_EXPORT int bcast_reader_open_file_at(const char *path, uint64_t position, int flags,
                                           struct bcast_reader **out)
{
    return reader_file(path, START_AT, position, flags, out);
}

BCAST_EXPORT int bcast_reader_open_file_last_lap(const char *path, int flags,
                                                 struct bcast_reader **out)
{
    return reader_file(path, START_LAST_LAP, 0, flags, out);
}
