# The torture test: one writer, readers on every read path, threads and
# processes, rings small enough to lap.  STRESS_SECONDS (environment or make
# variable) is the run time of the whole suite; see tests/check_stress.c.
CHECK_SUITES += tests/check_stress
tests_check_stress_CFLAGS = $(SUITECFLAGS)
tests_check_stress_LDADD = $(SUITELIBS)
tests_check_stress_LDFLAGS = $(SUITELDFLAGS)

# `make check-stress STRESS_SECONDS=600`: only the torture suite, as long as asked
check-stress: tests/check_stress$(EXEEXT)
	s='$(STRESS_SECONDS)'; STRESS_SECONDS=$${s:-60}; export STRESS_SECONDS; \
	$(LIBTOOL) --mode=execute $(builddir)/tests/check_stress$(EXEEXT)
.PHONY: check-stress
