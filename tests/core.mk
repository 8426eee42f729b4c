# Check suites of the in-memory API: format, writer, reader, message, concurrency.
CHECK_SUITES += tests/check_format tests/check_writer tests/check_reader \
	tests/check_message tests/check_concurrency
noinst_HEADERS += tests/core-helpers.h

tests_check_format_CFLAGS = $(SUITECFLAGS)
tests_check_format_LDADD = $(SUITELIBS)
tests_check_format_LDFLAGS = $(SUITELDFLAGS)
tests_check_writer_CFLAGS = $(SUITECFLAGS)
tests_check_writer_LDADD = $(SUITELIBS)
tests_check_writer_LDFLAGS = $(SUITELDFLAGS)
tests_check_reader_CFLAGS = $(SUITECFLAGS)
tests_check_reader_LDADD = $(SUITELIBS)
tests_check_reader_LDFLAGS = $(SUITELDFLAGS)
tests_check_message_CFLAGS = $(SUITECFLAGS)
tests_check_message_LDADD = $(SUITELIBS)
tests_check_message_LDFLAGS = $(SUITELDFLAGS)
tests_check_concurrency_CFLAGS = $(SUITECFLAGS)
tests_check_concurrency_LDADD = $(SUITELIBS)
tests_check_concurrency_LDFLAGS = $(SUITELDFLAGS)
