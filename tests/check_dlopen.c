/*
 * check_dlopen: plugins load libbcast with dlopen and drop it with dlclose,
 * over and over.  This loads the library just built (BCAST_DLOPEN_PATH,
 * never linked into this program) with RTLD_NOW | RTLD_LOCAL, resolves the
 * API with dlvsym at BCAST_1.0, passes messages over a heap channel and a file channel,
 * closes everything and unloads it, 200 times; then checks that the
 * library really unloaded and nothing grew: open file descriptors, memory
 * mappings and heap in use are what they were after a few warm-up rounds.
 * It also loads two copies of the library at once and has them share a
 * channel, which only works because the library keeps no global state.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "config.h"
#include "suite-main.h"
#include "test-dirs.h"

#include <bcast.h>
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BCAST_DLOPEN_PATH
#error "BCAST_DLOPEN_PATH must name the built libbcast.so"
#endif

#define ITERATIONS 200
#define WARMUP 50 /* ld.so and libc caches settle within ~15 rounds */
#define CAPACITY 4096
#define BCAST_NODE "BCAST_1.0"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Sanitizer runtimes map shadow memory and keep freed blocks in quarantine,
   and valgrind maps memory of its own into the process, so mapping and heap
   counts mean nothing there (memcheck checks leaks itself); descriptors
   still count. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
#define COUNT_MEMORY (!SANITIZED && !RUNNING_ON_VALGRIND)

/* the part of the API a plugin uses, resolved from one loaded copy */
struct api {
    __typeof__(bcast_version) *version;
    __typeof__(bcast_channel_size) *channel_size;
    __typeof__(bcast_writer_create) *writer_create;
    __typeof__(bcast_writer_create_file) *writer_create_file;
    __typeof__(bcast_writer_send) *writer_send;
    __typeof__(bcast_writer_close) *writer_close;
    __typeof__(bcast_reader_open) *reader_open;
    __typeof__(bcast_reader_open_file) *reader_open_file;
    __typeof__(bcast_reader_receive) *reader_receive;
    __typeof__(bcast_reader_next) *reader_next;
    __typeof__(bcast_reader_close) *reader_close;
    __typeof__(bcast_message_new) *message_new;
    __typeof__(bcast_message_free) *message_free;
    __typeof__(bcast_message_read) *message_read;
    __typeof__(bcast_message_user_defined) *message_user_defined;
    __typeof__(bcast_reader_wait) *reader_wait;
};

/* offsetof-driven table so resolve() and the symbol test share one list */
static const struct {
    const char *name;
    size_t offset;
    const char *node; /* the version node it was added in */
} api_symbols[] = {
#define SYM(field) {"bcast_" #field, offsetof(struct api, field), BCAST_NODE}
#define SYM11(field) {"bcast_" #field, offsetof(struct api, field), "BCAST_1.1"}
    SYM(version),       SYM(channel_size),   SYM(writer_create),
    SYM(writer_create_file), SYM(writer_send), SYM(writer_close),
    SYM(reader_open),   SYM(reader_open_file), SYM(reader_receive),
    SYM(reader_next),   SYM(reader_close),   SYM(message_new),
    SYM(message_free),  SYM(message_read),   SYM(message_user_defined),
    SYM11(reader_wait),
#undef SYM
#undef SYM11
};
#define N_SYMBOLS (sizeof api_symbols / sizeof api_symbols[0])

static void *load(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

    ck_assert_msg(h != NULL, "dlopen %s: %s", path, dlerror());
    return h;
}

static void resolve(void *h, struct api *api)
{
    for (size_t i = 0; i < N_SYMBOLS; i++) {
        void *p = dlvsym(h, api_symbols[i].name, api_symbols[i].node);

        ck_assert_msg(p != NULL, "dlvsym %s@%s: %s", api_symbols[i].name,
                      api_symbols[i].node, dlerror());
        /* object pointer to function pointer, the POSIX way */
        memcpy((char *)api + api_symbols[i].offset, &p, sizeof p);
    }
}

static void unload(void *h, const char *path)
{
    ck_assert_int_eq(dlclose(h), 0);
    /* nothing pins it (no NODELETE, no unique symbols): it is gone */
    h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_msg(h == NULL, "%s is still loaded after dlclose", path);
}

/* ---- what the process holds ---- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    ck_assert_msg(d != NULL, "/proc/self/fd: %s", strerror(errno));
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* lines of /proc/self/maps, and how many of them name path */
static int count_maps(const char *path, int *naming)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[4096];
    int n = 0, named = 0;

    ck_assert_msg(f != NULL, "/proc/self/maps: %s", strerror(errno));
    while (fgets(line, sizeof line, f)) {
        if (strchr(line, '\n'))
            n++;
        if (path && strstr(line, path))
            named++;
    }
    fclose(f);
    *naming = named;
    return n;
}

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
#elif defined(__GLIBC__)
    struct mallinfo mi = mallinfo();

    return (size_t)mi.uordblks + (size_t)mi.hblkhd;
#else
    return 0;
#endif
}

/* ---- using one loaded copy ---- */

static void *channel_alloc(const struct api *api, size_t *size)
{
    void *mem;

    *size = api->channel_size(CAPACITY);
    ck_assert_uint_eq(*size, BCAST_HEADER_SIZE + CAPACITY);
    mem = aligned_alloc(BCAST_ALIGNMENT, *size);
    ck_assert_ptr_nonnull(mem);
    return mem;
}

static void send_some(const struct api *api, struct bcast_writer *w, unsigned round)
{
    char payload[64];

    for (unsigned k = 0; k < 4; k++) {
        int len = snprintf(payload, sizeof payload, "round %u message %u", round, k);

        ck_assert_int_eq(api->writer_send(w, payload, (size_t)len, k, 0), 0);
    }
}

/* receive what send_some(round) sent, half eagerly, half lazily */
static void receive_some(const struct api *api, struct bcast_reader *r, unsigned round)
{
    struct bcast_message *msg = api->message_new();
    char want[64], got[64];
    ssize_t n;

    ck_assert_ptr_nonnull(msg);
    for (unsigned k = 0; k < 4; k++) {
        int len = snprintf(want, sizeof want, "round %u message %u", round, k);

        if (k % 2 == 0) {
            n = api->reader_receive(r, got, sizeof got, msg);
        } else {
            ck_assert_int_eq(api->reader_next(r, msg), 0);
            n = api->message_read(msg, got, sizeof got);
        }
        ck_assert_int_eq(n, len);
        ck_assert_int_eq(memcmp(got, want, (size_t)len), 0);
        ck_assert_uint_eq(api->message_user_defined(msg), k);
    }
    ck_assert_int_eq(api->reader_receive(r, got, sizeof got, NULL), -EAGAIN);
    api->message_free(msg);
}

static void heap_exchange(const struct api *wapi, const struct api *rapi, unsigned round)
{
    struct bcast_writer *w;
    struct bcast_reader *r;
    size_t size;
    void *mem = channel_alloc(wapi, &size);

    ck_assert_int_eq(wapi->writer_create(mem, size, "dlopen", 6, &w), 0);
    ck_assert_int_eq(rapi->reader_open(mem, size, &r), 0);
    send_some(wapi, w, round);
    receive_some(rapi, r, round);
    rapi->reader_close(r);
    wapi->writer_close(w);
    free(mem);
}

static void file_exchange(const struct api *wapi, const struct api *rapi, unsigned round)
{
    const char *path = tpath("channel"), *lock = lock_path(path);
    struct bcast_writer *w, *w2;
    struct bcast_reader *r;

    ck_assert_int_eq(wapi->writer_create_file(path, CAPACITY, BCAST_FILE_NO_POPULATE, &w), 0);
    /* the writer lock is a property of the file, not of a library copy */
    ck_assert_int_eq(rapi->writer_create_file(path, CAPACITY, 0, &w2), -EBUSY);
    ck_assert_int_eq(rapi->reader_open_file(path, 0, &r), 0);
    /* a reader of one copy sleeps on the wait area a writer of the other
       made: nothing yet, then the sends are there */
    ck_assert_int_eq(rapi->reader_wait(r, 1000000), -ETIMEDOUT);
    send_some(wapi, w, round);
    ck_assert_int_eq(rapi->reader_wait(r, -1), 0);
    receive_some(rapi, r, round);
    rapi->reader_close(r);
    wapi->writer_close(w);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(unlink(lock), 0);
    ck_assert_int_eq(unlink(tpath("channel.wait")), 0);
}

/* ---- tests ---- */

/* what the process holds, sampled at the same point of every round so the
   allocator (whose tcache counts as "in use") is in the same state each time */
struct usage {
    int fds;
    int maps;
    int naming; /* mappings of the library file */
    size_t heap;
};

static void sample(struct usage *u, const char *path)
{
    u->fds = count_fds();
    u->maps = count_maps(path, &u->naming);
    u->heap = heap_in_use();
}

START_TEST(test_dlopen_loop)
{
    const char *path = BCAST_DLOPEN_PATH;
    int fds_before = count_fds();
    struct usage warm = {0}, now;

    for (unsigned i = 0; i < ITERATIONS; i++) {
        void *h = load(path);
        struct api api;

        resolve(h, &api);
        ck_assert_str_eq(api.version(), BCAST_VERSION_STRING);
        heap_exchange(&api, &api, i);
        file_exchange(&api, &api, i);
        unload(h, path);

        sample(&now, path);
        ck_assert_msg(now.fds == fds_before, "round %u: %d descriptors open, %d before", i,
                      now.fds, fds_before);
        ck_assert_msg(now.naming == 0, "round %u: the library is still mapped", i);
        if (i + 1 == WARMUP)
            warm = now;
        if (i + 1 > WARMUP && COUNT_MEMORY) {
            ck_assert_msg(now.maps == warm.maps, "round %u: %d mappings, %d after warm-up", i,
                          now.maps, warm.maps);
            ck_assert_msg(now.heap == warm.heap, "round %u: %zu heap bytes in use, %zu after warm-up",
                          i, now.heap, warm.heap);
        }
    }
    ck_assert_int_eq(rmdir(tdir), 0); /* the file channels left nothing behind */
}
END_TEST

START_TEST(test_versioned_symbols)
{
    const char *path = BCAST_DLOPEN_PATH;
    void *h = load(path);

    for (size_t i = 0; i < N_SYMBOLS; i++) {
        const char *name = api_symbols[i].name, *node = api_symbols[i].node;
        void *versioned = dlvsym(h, name, node);

        ck_assert_msg(versioned != NULL, "%s@%s missing", name, node);
        /* the default version of each name is the node it came in */
        ck_assert_ptr_eq(dlsym(h, name), versioned);
        ck_assert_ptr_null(dlvsym(h, name, "BCAST_0.9"));
        if (strcmp(node, BCAST_NODE) != 0) /* not in the older node */
            ck_assert_ptr_null(dlvsym(h, name, BCAST_NODE));
    }
    /* internals are hidden */
    ck_assert_ptr_null(dlsym(h, "bcast__header_check"));
    ck_assert_ptr_null(dlsym(h, "bcast__ring_send"));
    unload(h, path);
}
END_TEST

/* copy the library to another file, so dlopen loads a second, separate copy */
static void copy_library(const char *copy)
{
    char buf[65536];
    int in, out;
    ssize_t n;

    in = open(BCAST_DLOPEN_PATH, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(in, 0);
    out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    ck_assert_int_ge(out, 0);
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    ck_assert_int_eq(n, 0);
    close(in);
    ck_assert_int_eq(close(out), 0);
}

START_TEST(test_two_copies_share_a_channel)
{
    char copy[PATH_MAX];
    void *h1, *h2;
    struct api a1, a2;
    int naming;

    strcpy(copy, tpath("libbcast-copy.so")); /* tpath's buffers are reused */
    copy_library(copy);
    h1 = load(BCAST_DLOPEN_PATH);
    h2 = load(copy);
    ck_assert_ptr_ne(h1, h2);
    resolve(h1, &a1);
    resolve(h2, &a2);
    ck_assert(a1.writer_send != a2.writer_send);
    count_maps(copy, &naming);
    ck_assert_int_gt(naming, 0);

    for (unsigned round = 0; round < 4; round++) {
        heap_exchange(&a1, &a2, round);
        heap_exchange(&a2, &a1, round);
        file_exchange(&a1, &a2, round);
        file_exchange(&a2, &a1, round);
    }

    unload(h2, copy);
    unload(h1, BCAST_DLOPEN_PATH);
    ck_assert_int_eq(unlink(copy), 0);
    ck_assert_int_eq(rmdir(tdir), 0); /* nothing else left behind */
}
END_TEST

static const char *no_shared_library(void)
{
    return access(BCAST_DLOPEN_PATH, R_OK) != 0
               ? BCAST_DLOPEN_PATH " not built (--disable-shared?)"
               : NULL;
}

SUITE_UNLESS(dlopen, no_shared_library)
{
    /* valgrind reads the library's debug information on every load */
    TCase *tc = suite_case(s, "dlopen", 120);

    test_dirs(tc, "check-dlopen"); /* the file channels and the copy of the library */
    tcase_add_test(tc, test_dlopen_loop);
    tcase_add_test(tc, test_versioned_symbols);
    tcase_add_test(tc, test_two_copies_share_a_channel);
}
