# check_mmap: file-backed channels (src/mmap.c) in /dev/shm, with fork()ed
# writers and readers, the writer lock, bad files, mlock, and the channel
# files written by the Rust crate (tests/fixtures, described in its README).
CHECK_SUITES += tests/check_mmap
tests_check_mmap_CPPFLAGS = $(AM_CPPFLAGS) -DFIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"'
tests_check_mmap_CFLAGS = $(SUITECFLAGS)
tests_check_mmap_LDADD = $(SUITELIBS)
tests_check_mmap_LDFLAGS = $(SUITELDFLAGS)
EXTRA_DIST += \
	tests/fixtures/README.md \
	tests/fixtures/rust-4k-100.bcast \
	tests/fixtures/rust-64k-100.bcast

# a channel larger than its file system fails at create time (ENOSPC)
TESTS += tests/enospc.test
EXTRA_DIST += tests/enospc.test

# check_shared_host: file channels on a host shared with other users
# (squatted names, planted lock links, hostile sparse files, a full tmpfs,
# a channel shared with a group); parts run as other users
CHECK_SUITES += tests/check_shared_host
tests_check_shared_host_CFLAGS = $(SUITECFLAGS)
tests_check_shared_host_LDADD = $(SUITELIBS)
tests_check_shared_host_LDFLAGS = $(SUITELDFLAGS)

# check_wait: readers that sleep (bcast_reader_wait, bcast_wait_any, wait
# areas in caller memory and in <path>.wait), with threads and fork()ed
# processes
CHECK_SUITES += tests/check_wait
tests_check_wait_CFLAGS = $(SUITECFLAGS)
tests_check_wait_LDADD = $(SUITELIBS)
tests_check_wait_LDFLAGS = $(SUITELDFLAGS)
