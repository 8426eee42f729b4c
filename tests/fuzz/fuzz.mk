# libFuzzer target over the reader APIs (tests/fuzz/fuzz_reader.c), built
# with clang whatever CC configure found, from the library sources directly
# (no libtool, no visibility, no version script), once per ring core.
#
#   make fuzz FUZZ_SECONDS=60     build, write the seeds, fuzz for 60 s in all
#
# The seeds are channels written by tests/fuzz/gen_seeds.c plus the channel
# files in tests/fuzz/corpus/ (one written by the Rust crate).  New inputs
# collect in tests/fuzz/corpus-<core>/ of the build tree; a finding is saved
# as tests/fuzz/crash-* and fails the target.  Reproduce one with
#   tests/fuzz/fuzz-reader-<core> tests/fuzz/crash-...
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/include -I$(top_builddir)/include
FUZZ_LIBSRC = \
	$(srcdir)/src/channel.c $(srcdir)/src/writer.c $(srcdir)/src/reader.c \
	$(srcdir)/src/message.c $(srcdir)/src/mmap.c $(srcdir)/src/wait.c
FUZZ_DEPS = $(FUZZ_LIBSRC) $(srcdir)/src/ring.h $(srcdir)/src/protocol.h \
	$(srcdir)/src/arch/copy.h $(srcdir)/include/bcast.h \
	$(srcdir)/src/arch/x86_64/ring.c $(srcdir)/src/arch/generic/ring.c config.h
EXTRA_DIST += tests/fuzz/fuzz_reader.c tests/fuzz/gen_seeds.c tests/fuzz/corpus/rust-4k-100.bcast

tests/fuzz/fuzz-reader-generic: $(srcdir)/tests/fuzz/fuzz_reader.c $(FUZZ_DEPS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
		$(srcdir)/tests/fuzz/fuzz_reader.c $(FUZZ_LIBSRC) $(srcdir)/src/arch/generic/ring.c
tests/fuzz/fuzz-reader-x86_64: $(srcdir)/tests/fuzz/fuzz_reader.c $(FUZZ_DEPS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
		$(srcdir)/tests/fuzz/fuzz_reader.c $(FUZZ_LIBSRC) $(srcdir)/src/arch/x86_64/ring.c
tests/fuzz/gen-seeds: $(srcdir)/tests/fuzz/gen_seeds.c $(FUZZ_DEPS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -o $@ \
		$(srcdir)/tests/fuzz/gen_seeds.c $(FUZZ_LIBSRC) $(srcdir)/src/arch/generic/ring.c

# the x86-64 core only on x86-64 hosts; FUZZ_SECONDS is shared by the cores
fuzz: tests/fuzz/gen-seeds
	@cores=generic; \
	if test "$(host_cpu)" = x86_64; then cores="x86_64 generic"; fi; \
	for core in $$cores; do \
	  $(MAKE) $(AM_MAKEFLAGS) tests/fuzz/fuzz-reader-$$core || exit 1; \
	done; \
	set -- $$cores; secs='$(FUZZ_SECONDS)'; secs=$$(( $${secs:-60} / $$# )); \
	test $$secs -gt 0 || secs=1; \
	rm -rf tests/fuzz/seeds && $(MKDIR_P) tests/fuzz/seeds && \
	tests/fuzz/gen-seeds tests/fuzz/seeds $(srcdir)/tests/fuzz/corpus/*.bcast || exit 1; \
	for core in $$cores; do \
	  echo "fuzz: $$core core, $$secs s"; \
	  $(MKDIR_P) tests/fuzz/corpus-$$core; \
	  tests/fuzz/fuzz-reader-$$core -max_total_time=$$secs -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/ tests/fuzz/corpus-$$core tests/fuzz/seeds || exit 1; \
	done
.PHONY: fuzz

clean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/fuzz-reader-generic tests/fuzz/fuzz-reader-x86_64 tests/fuzz/gen-seeds \
		tests/fuzz/seeds tests/fuzz/corpus-generic tests/fuzz/corpus-x86_64
.PHONY: clean-fuzz
