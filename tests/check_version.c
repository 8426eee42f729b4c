/*
 * check_version: the version a program compiles against (bcast-version.h),
 * the version the library reports at run time (bcast_version()) and the
 * package version configure was given (PACKAGE_VERSION) are one version.
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include "suite-main.h"

#include <bcast.h>
#include <check.h>
#include <stdio.h>
#include <string.h>

/* PACKAGE_VERSION as three numbers; fails the test unless it is exactly M.m.p */
static void package_version(int *major, int *minor, int *patch)
{
    char rest;
    int n = sscanf(PACKAGE_VERSION, "%d.%d.%d%c", major, minor, patch, &rest);

    ck_assert_msg(n == 3, "PACKAGE_VERSION \"%s\" is not MAJOR.MINOR.PATCH", PACKAGE_VERSION);
}

START_TEST(test_macros_match_package_version)
{
    int major, minor, patch;

    package_version(&major, &minor, &patch);
    ck_assert_int_eq(BCAST_VERSION_MAJOR, major);
    ck_assert_int_eq(BCAST_VERSION_MINOR, minor);
    ck_assert_int_eq(BCAST_VERSION_PATCH, patch);
    ck_assert_str_eq(BCAST_VERSION_STRING, PACKAGE_VERSION);
}
END_TEST

START_TEST(test_version_number)
{
    ck_assert_int_eq(BCAST_VERSION_NUMBER, (BCAST_VERSION_MAJOR << 16) |
                                               (BCAST_VERSION_MINOR << 8) | BCAST_VERSION_PATCH);
    ck_assert_int_eq(BCAST_VERSION_NUMBER, BCAST_VERSION_AT(BCAST_VERSION_MAJOR,
                                                            BCAST_VERSION_MINOR,
                                                            BCAST_VERSION_PATCH));
    /* the comparison the header documents */
    ck_assert(BCAST_VERSION_NUMBER >= BCAST_VERSION_AT(1, 0, 0));
    ck_assert(BCAST_VERSION_NUMBER < BCAST_VERSION_AT(BCAST_VERSION_MAJOR + 1, 0, 0));
    ck_assert(BCAST_VERSION_NUMBER > BCAST_VERSION_AT(BCAST_VERSION_MAJOR - 1, 255, 255));
    /* the encoding has room for each field */
    ck_assert_int_lt(BCAST_VERSION_MINOR, 256);
    ck_assert_int_lt(BCAST_VERSION_PATCH, 256);
}
END_TEST

START_TEST(test_runtime_version)
{
    const char *v = bcast_version();

    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, PACKAGE_VERSION);
    ck_assert_str_eq(v, BCAST_VERSION_STRING);
    /* a static string: the same pointer every time */
    ck_assert_ptr_eq(bcast_version(), v);
}
END_TEST

SUITE(version)
{
    TCase *tc = suite_case(s, "version", 0);

    tcase_add_test(tc, test_macros_match_package_version);
    tcase_add_test(tc, test_version_number);
    tcase_add_test(tc, test_runtime_version);
}
