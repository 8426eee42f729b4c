# check_assemble: messages of any size (bcast_writer_send_large, the
# assembler, bcast_writer_commit_len), on every read path, with threads on
# two CPUs, fork()ed writers killed in the middle of a train, and the Rust
# crate's trains and channel file (tests/fixtures).
CHECK_SUITES += tests/check_assemble
tests_check_assemble_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"'
tests_check_assemble_CFLAGS = $(SUITECFLAGS)
tests_check_assemble_LDADD = $(SUITELIBS)
tests_check_assemble_LDFLAGS = $(SUITELDFLAGS)
