# Check suites, one binary per area.  Each area adds itself in its own
# fragment; the shared settings are here:
#   tests_foo_CFLAGS = $(SUITECFLAGS)
#   tests_foo_LDADD = $(SUITELIBS)
#   tests_foo_LDFLAGS = $(SUITELDFLAGS)
SUITECFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests
SUITELIBS = $(BCAST_LIB) $(CHECK_LIBS) $(TEST_LIBS)
SUITELDFLAGS = -no-install
# every suite's main(), and per-test directories for the suites that make files
noinst_HEADERS += tests/suite-main.h tests/test-dirs.h
