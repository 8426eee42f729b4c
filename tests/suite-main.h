/*
 * The main() of every Check suite binary: run the suite as CK_ENV (and
 * CK_FORK, CK_RUN_CASE...) ask, exit 0 when every test passed, 1 when one
 * failed, 99 when the harness itself is broken.  A suite that can be
 * skipped writes its own main() around suite_main() and exits 77 first.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_SUITE_MAIN_H
#define BCAST_SUITE_MAIN_H

#include <check.h>

static inline int suite_main(Suite *s)
{
    SRunner *sr;
    int failed;

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

/* a new test case of suite s; timeout in seconds, 0 for Check's default */
static inline TCase *suite_case(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    if (timeout > 0)
        tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

/* main() for a suite that always runs */
#define SUITE_MAIN(suite_fn)                                         \
    int main(void)                                                   \
    {                                                                \
        return suite_main(suite_fn());                               \
    }

#endif /* BCAST_SUITE_MAIN_H */
