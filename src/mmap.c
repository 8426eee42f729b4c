/*
 * libbcast file-backed channels: the only file of the library that calls
 * the OS (open, flock, ftruncate, posix_fallocate, mmap, madvise, mlock).  OS failures come
 * back as -errno.
 *
 * The writer holds an exclusive flock on the sidecar "<path>.lock" for as
 * long as it is attached, the same sidecar the Rust crate bcast uses, so a C
 * and a Rust writer exclude each other.  The lock is taken before the
 * channel file is looked at.  Readers open the file O_RDONLY, map it
 * PROT_READ and take no lock.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

#define FILE_FLAGS (BCAST_FILE_MLOCK | BCAST_FILE_NO_POPULATE)
#define FILE_MODE 0600

struct bcast__mapping {
    void *addr;
    size_t len;
    int lock_fd; /* -1 for readers */
};

void bcast__mapping_release(struct bcast__mapping *m)
{
    if (!m)
        return;
    if (m->addr)
        munmap(m->addr, m->len);
    if (m->lock_fd >= 0)
        close(m->lock_fd); /* drops the flock */
    free(m);
}

/* take the writer lock on "<path>.lock": the fd, or -errno (-EBUSY when held) */
static int lock_writer(const char *path)
{
    size_t n = strlen(path);
    char *lock_path = malloc(n + sizeof ".lock");
    int fd, err;

    if (!lock_path)
        return -ENOMEM;
    memcpy(lock_path, path, n);
    memcpy(lock_path + n, ".lock", sizeof ".lock");
    fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, FILE_MODE);
    err = errno;
    free(lock_path);
    if (fd < 0)
        return -err;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        err = errno;
        close(fd);
        return err == EWOULDBLOCK ? -EBUSY : -err;
    }
    return fd;
}

/* size of an open channel file: 0 and *size, or -errno */
static int file_size(int fd, size_t *size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if (st.st_size == 0)
        return -EAGAIN; /* a creator between creat and ftruncate */
    if (bcast__capacity_of((size_t)st.st_size) == 0 ||
        (uint64_t)st.st_size != (uint64_t)(size_t)st.st_size)
        return -EINVAL;
    *size = (size_t)st.st_size;
    return 0;
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
       kernels before 5.14 lack it, and MAP_POPULATE has done most of the work */
    if (writable && !(flags & BCAST_FILE_NO_POPULATE))
        (void)madvise(addr, size, MADV_POPULATE_WRITE);
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

/*
 * The three writer opens.  Decisions DESIGN.md leaves open, written down:
 *  - The lock comes first, so a join of a missing path fails with -ENOENT
 *    but leaves the sidecar "<path>.lock" behind (harmless; the next writer
 *    uses it as it is).
 *  - join_file returns what bcast_writer_join() returns for the header: an
 *    empty file or a ready byte of 0 is -EAGAIN (a creator that does not
 *    hold our lock may be initialising it).  open_file never rewrites such
 *    a file: an empty one is -EINVAL (not 1664 + capacity bytes), a zeroed
 *    one of the right size -EAGAIN.
 *  - A path that is not a regular file is -EINVAL for every open (a FIFO
 *    too, without blocking), -EISDIR for a directory; create_file replaces
 *    it like any other file, a directory excepted.
 *  - create_file unlinks the old file before it makes the new one, as the
 *    Rust crate does; if making the new one then fails, the path is left
 *    empty.
 */

static int writer_file(const char *path, size_t capacity, int flags, enum writer_mode mode,
                       struct bcast_writer **out)
{
    struct bcast__mapping *m = NULL;
    struct bcast_writer *w = NULL;
    size_t size = 0;
    int lock_fd, fd = -1, rc, created = 0;

    if (!path || !out || (flags & ~FILE_FLAGS))
        return -EINVAL;
    if (mode != MODE_JOIN && !(size = bcast__channel_size(capacity)))
        return -EINVAL;
    if ((lock_fd = lock_writer(path)) < 0)
        return lock_fd;

    if (mode != MODE_CREATE) {
        fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 && (errno != ENOENT || mode == MODE_JOIN)) {
            rc = -errno;
            goto err;
        }
    }
    if (fd >= 0) { /* join an existing channel */
        size_t have;
        if ((rc = file_size(fd, &have)) < 0) {
            if (rc == -EAGAIN && mode == MODE_OPEN)
                rc = -EINVAL; /* an empty file is not this channel */
            goto err;
        }
        if (mode == MODE_OPEN && have != size) {
            rc = -EINVAL;
            goto err;
        }
        size = have;
    } else { /* create: replace what is there, as the Rust crate does */
        if (mode == MODE_CREATE && unlink(path) < 0 && errno != ENOENT) {
            rc = -errno;
            goto err;
        }
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
        if (fd < 0) {
            rc = -errno;
            goto err;
        }
        created = 1;
        if (ftruncate(fd, (off_t)size) < 0) {
            rc = -errno;
            goto err;
        }
        /* reserve the blocks now: on a full tmpfs a send would otherwise
           fault with SIGBUS; here it is -ENOSPC (EINVAL/EOPNOTSUPP: the file
           system cannot reserve, and the file stays sparse as before) */
        rc = posix_fallocate(fd, 0, (off_t)size);
        if (rc != 0 && rc != EINVAL && rc != EOPNOTSUPP) {
            rc = -rc;
            goto err;
        }
    }
    if ((rc = map_file(fd, size, 1, flags, lock_fd, &m)) < 0)
        goto err;
    close(fd);
    fd = -1;
    if (created)
        rc = bcast__writer_create(m->addr, size, NULL, 0, &w);
    else
        rc = bcast__writer_join(m->addr, size, &w);
    if (rc < 0) {
        m->lock_fd = -1; /* keep the lock until err: has removed what we created */
        bcast__mapping_release(m);
        goto err;
    }
    w->mapping = m;
    *out = w;
    return 0;
err:
    if (created)
        unlink(path);
    if (fd >= 0)
        close(fd);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

BCAST_EXPORT int bcast_writer_create_file(const char *path, size_t capacity, int flags,
                                          struct bcast_writer **out)
{
    return writer_file(path, capacity, flags, MODE_CREATE, out);
}

BCAST_EXPORT int bcast_writer_join_file(const char *path, int flags, struct bcast_writer **out)
{
    return writer_file(path, 0, flags, MODE_JOIN, out);
}

BCAST_EXPORT int bcast_writer_open_file(const char *path, size_t capacity, int flags,
                                        struct bcast_writer **out)
{
    return writer_file(path, capacity, flags, MODE_OPEN, out);
}

static int reader_file(const char *path, int at, uint64_t position, int flags,
                       struct bcast_reader **out)
{
    struct bcast__mapping *m;
    struct bcast_reader *r;
    size_t size;
    int fd, rc;

    if (!path || !out || (flags & ~FILE_FLAGS) || (at && (position & 7)))
        return -EINVAL;
    /* O_NONBLOCK: a FIFO at path must not block the open; it is refused
       by file_size() like any other file that is not a regular file */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    rc = file_size(fd, &size);
    if (rc == 0)
        rc = map_file(fd, size, 0, flags, -1, &m);
    close(fd);
    if (rc < 0)
        return rc;
    rc = at ? bcast__reader_open_at(m->addr, size, position, &r)
            : bcast__reader_open(m->addr, size, &r);
    if (rc < 0) {
        bcast__mapping_release(m);
        return rc;
    }
    r->mapping = m;
    *out = r;
    return 0;
}

BCAST_EXPORT int bcast_reader_open_file(const char *path, int flags, struct bcast_reader **out)
{
    return reader_file(path, 0, 0, flags, out);
}

BCAST_EXPORT int bcast_reader_open_file_at(const char *path, uint64_t position, int flags,
                                           struct bcast_reader **out)
{
    return reader_file(path, 1, position, flags, out);
}
