/*
 * Directories for tests that make files (channel files, lock sidecars, a
 * copy of the library), so that `make -j check` can run suites side by
 * side and a failed test leaves nothing behind:
 *
 *   case_dir  one per test case, /dev/shm/bcast-<name>-XXXXXX (/tmp where
 *             there is no /dev/shm to write to), made and removed by the
 *             runner around the case whether its tests pass, fail or time
 *             out (an unchecked fixture);
 *   tdir      one per test inside it, made before the test and removed
 *             after it with everything in it (a checked fixture).
 *
 * test_dirs(tc, name) adds both to a test case; tpath(name) is a file
 * name inside tdir.  Include this first, after _GNU_SOURCE: nftw and
 * mkdtemp need it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_TEST_DIRS_H
#define BCAST_TEST_DIRS_H

#if !defined(_GNU_SOURCE)
#error "define _GNU_SOURCE before including test-dirs.h (nftw, mkdtemp)"
#endif

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char test_dirs_name[32]; /* the <name> of case_dir */
static char case_dir[64];       /* per test case, in the runner process */
static char tdir[96];           /* per test, inside case_dir */

static inline int test_dirs_rm_entry(const char *p, const struct stat *st, int type,
                                     struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

/* unchecked fixture: runs in the runner, so a failed or killed test leaves nothing */
static inline void case_dir_setup(void)
{
    struct stat st;
    const char *base = "/tmp";

    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    snprintf(case_dir, sizeof case_dir, "%s/bcast-%s-XXXXXX", base, test_dirs_name);
    if (!mkdtemp(case_dir)) {
        fprintf(stderr, "%s: mkdtemp in %s: %s\n", test_dirs_name, base, strerror(errno));
        exit(99);
    }
}

static inline void case_dir_teardown(void)
{
    nftw(case_dir, test_dirs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void tdir_setup(void)
{
    ck_assert_int_lt(snprintf(tdir, sizeof tdir, "%s/t-XXXXXX", case_dir), (int)sizeof tdir);
    ck_assert_ptr_nonnull(mkdtemp(tdir));
}

/* a test may remove tdir itself (to check that it left it empty) */
static inline void tdir_teardown(void)
{
    nftw(tdir, test_dirs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* give each test of tc a directory of its own; name says whose they are */
static inline void test_dirs(TCase *tc, const char *name)
{
    snprintf(test_dirs_name, sizeof test_dirs_name, "%s", name);
    tcase_add_unchecked_fixture(tc, case_dir_setup, case_dir_teardown);
    tcase_add_checked_fixture(tc, tdir_setup, tdir_teardown);
}

/* "<tdir>/<name>" in one of a few rotating buffers */
static inline const char *tpath(const char *name)
{
    static char bufs[8][PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 8];

    ck_assert_int_lt(snprintf(b, PATH_MAX, "%s/%s", tdir, name), PATH_MAX);
    return b;
}

/* the writer lock sidecar of a channel file (bcast-format(5)): "<path>.lock" */
static inline const char *lock_path(const char *path)
{
    static char b[PATH_MAX];

    ck_assert_int_lt(snprintf(b, sizeof b, "%s.lock", path), (int)sizeof b);
    return b;
}

#endif /* BCAST_TEST_DIRS_H */
