/*
 * What every Check suite binary shares: its suite function and main().
 *
 *   SUITE(format)
 *   {
 *       TCase *tc = suite_case(s, "header", 0);
 *
 *       tcase_add_test(tc, test_hello_world_example);
 *       ...
 *   }
 *
 * defines Suite *format_suite(void), which makes the suite "format" and
 * fills it with the body (the suite is s there), and main(), which runs
 * it as CK_ENV (and CK_FORK, CK_RUN_CASE...) ask and exits 0 when every
 * test passed, 1 when one failed, 99 when the harness itself is broken.
 * SUITE_UNLESS(name, skip) is the same for a suite that cannot always run:
 * skip() returns why not, and main() says so and exits 77, or NULL.  Under
 * make check, which sets CK_TAP_LOG_FILE_NAME=- (Check's TAP output on
 * stdout), a skip is an empty TAP plan with the reason instead.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_SUITE_MAIN_H
#define BCAST_SUITE_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a new test case of suite s; timeout in seconds, 0 for Check's default */
static inline TCase *suite_case(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    if (timeout > 0)
        tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

static inline int suite_main(const char *name, const char *(*skip)(void), Suite *(*make)(void))
{
    const char *why = skip ? skip() : NULL;
    Suite *s;
    SRunner *sr;
    int failed;

    if (why) {
        const char *tap = getenv("CK_TAP_LOG_FILE_NAME");

        fprintf(stderr, "check_%s: %s, skipped\n", name, why);
        if (tap && strcmp(tap, "-") == 0) { /* TAP: an empty plan that says why */
            printf("1..0 # SKIP %s\n", why);
            return 0;
        }
        return 77;
    }
    s = make();
    if (!s)
        return 99;
    sr = srunner_create(s);
    if (!sr)
        return 99;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#define SUITE_UNLESS(name, skip)                                                                  \
    static void name##_cases(Suite *s);                                                           \
    Suite *name##_suite(void);                                                                    \
    Suite *name##_suite(void)                                                                     \
    {                                                                                             \
        Suite *s = suite_create(#name);                                                           \
                                                                                                  \
        name##_cases(s);                                                                          \
        return s;                                                                                 \
    }                                                                                             \
    int main(void)                                                                                \
    {                                                                                             \
        return suite_main(#name, skip, name##_suite);                                             \
    }                                                                                             \
    static void name##_cases(Suite *s)

#define SUITE(name) SUITE_UNLESS(name, NULL)

#endif /* BCAST_SUITE_MAIN_H */
