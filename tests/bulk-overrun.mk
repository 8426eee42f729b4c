# bcast_reader_read_bulk on a lapped reader with a buffer larger than the ring
check_PROGRAMS += tests/check_bulk_overrun
tests_check_bulk_overrun_SOURCES = tests/check_bulk_overrun.c
tests_check_bulk_overrun_CFLAGS = $(SUITECFLAGS)
tests_check_bulk_overrun_LDADD = $(SUITELIBS)
tests_check_bulk_overrun_LDFLAGS = $(SUITELDFLAGS)
TESTS += tests/check_bulk_overrun
