# bcast_reader_read_bulk on a lapped reader with a buffer larger than the ring
CHECK_SUITES += tests/check_bulk_overrun
tests_check_bulk_overrun_CFLAGS = $(SUITECFLAGS)
tests_check_bulk_overrun_LDADD = $(SUITELIBS)
tests_check_bulk_overrun_LDFLAGS = $(SUITELDFLAGS)
