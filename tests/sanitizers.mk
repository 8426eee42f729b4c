# Checking builds: valgrind memcheck over every test, and ThreadSanitizer.
#
#   make check-valgrind   every test under memcheck; fails on any error or leak
#   ./configure --enable-sanitizers && make check      ASan + UBSan
#   ./configure --enable-tsan --with-arch=generic && make check-tsan
#
# Check forks a child per test by default; CK_FORK=no keeps each suite in
# one process so memcheck sees (and leak-checks) all of it.  Tests that fork
# on their own are followed anyway: a fork()ed child stays under valgrind,
# and a non-zero exit of it (--error-exitcode) fails its test.
# --fair-sched=yes: valgrind runs one thread at a time; a ticket lock keeps a
# spinning thread from starving the others.
VALGRIND_FLAGS = --quiet --fair-sched=yes --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible
EXTRA_DIST += tests/tsan.supp

if HAVE_VALGRIND
check-valgrind:
	CK_FORK=no $(MAKE) $(AM_MAKEFLAGS) check \
		LOG_COMPILER='$(LIBTOOL) --mode=execute $(VALGRIND) $(VALGRIND_FLAGS)' \
		TEST_SUITE_LOG=test-suite-valgrind.log
else
check-valgrind:
	@echo "check-valgrind: configure did not find valgrind" >&2; exit 1
endif

# The seqlock payload copies race with the writer by design; tests/tsan.supp
# lists them (and says why).  Torn reads are gated by check_stress, not TSan.
if TSAN
TSAN_TESTS_ENVIRONMENT = \
	TSAN_OPTIONS="suppressions=$(abs_top_srcdir)/tests/tsan.supp $${TSAN_OPTIONS-}"; \
	export TSAN_OPTIONS;
check-tsan: check
else
TSAN_TESTS_ENVIRONMENT =
check-tsan:
	@echo "check-tsan: configure with --enable-tsan --with-arch=generic first" >&2; exit 1
endif
.PHONY: check-valgrind check-tsan
