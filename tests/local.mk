# Check suites, one binary per area.  Each area adds its suite in its own
# fragment, built from tests/<name>.c (automake's default source) with the
# shared settings here, and make check runs it:
#   CHECK_SUITES += tests/check_foo
#   tests_check_foo_CFLAGS = $(SUITECFLAGS)
#   tests_check_foo_LDADD = $(SUITELIBS)
#   tests_check_foo_LDFLAGS = $(SUITELDFLAGS)
SUITECFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests
SUITELIBS = $(BCAST_LIB) $(CHECK_LIBS) $(TEST_LIBS)
SUITELDFLAGS = -no-install
CHECK_SUITES =
check_PROGRAMS += $(CHECK_SUITES)
TESTS += $(CHECK_SUITES)
# every suite's main(); per-test directories for the suites that make files;
# the CPUs of the suites that run a writer and readers side by side
noinst_HEADERS += tests/suite-main.h tests/test-dirs.h tests/cpus.h tests/children.h

# The summary of make check counts real checks: the TAP driver reads the
# Check suites' own TAP output (one line per test case; tests/log-driver.sh
# picks it for tests/check_*) and the ".test" scripts, which print TAP
# themselves.  The ".sh" scripts and the examples count once each.
TAP_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/tests/log-driver.sh \
	$(top_srcdir)/build-aux
TEST_LOG_DRIVER = $(TAP_DRIVER)
EXTRA_DIST += tests/log-driver.sh
# configure chooses the ring core from the compiler's target (32-bit x86
# compilers on an x86-64 machine get the generic core)
TESTS += tests/configure-arch.test
EXTRA_DIST += tests/configure-arch.test
