# The memory-model check: src/protocol.h compiled once more, as C++, over
# Relacy's atomics (tests/relacy/ring_model.cpp).  Relacy runs the writer
# and a reader under the C++11 memory model, where a relaxed load may return
# an older store and only the fences order anything: what ARM and POWER may
# do, and x86 never shows.
#
#   make check                 the passing suite (tests/relacy/ring_model.test)
#   make check-relacy-fences   each fence of src/protocol.h removed in turn
#                              (the sleepers' membarrier too, both halves):
#                              some test must fail for every one, but the
#                              ones ring_model.cpp lists as not needed
#
# Without a C++ compiler or the relacy headers (Debian: relacy-dev) the
# check is skipped (exit 77).  The program runs through a .test script, so
# check-valgrind does not run its millions of iterations under memcheck.
EXTRA_DIST += tests/relacy/ring_model.cpp tests/relacy/ring_model.test \
	tests/relacy/no-relacy.test

if HAVE_RELACY
check_PROGRAMS += tests/relacy/ring_model
TESTS += tests/relacy/ring_model.test
tests_relacy_ring_model_SOURCES = tests/relacy/ring_model.cpp
tests_relacy_ring_model_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src
# Relacy switches between its simulated threads with longjmp, which
# _FORTIFY_SOURCE's longjmp check (Debian's build flags) takes for a
# corrupt stack: off for this program, whatever CPPFLAGS say
tests_relacy_ring_model_CXXFLAGS = -U_FORTIFY_SOURCE $(RELACY_CXXFLAGS)
# no sanitizer flags: Relacy's fibers are its own scheduler
tests_relacy_ring_model_LDFLAGS =

check-relacy-fences: tests/relacy/ring_model$(EXEEXT)
	tests/relacy/ring_model$(EXEEXT) --sweep
else
TESTS += tests/relacy/no-relacy.test

check-relacy-fences:
	@echo "check-relacy-fences: configure found no C++ compiler with relacy/relacy.hpp" >&2; exit 1
endif
.PHONY: check-relacy-fences
