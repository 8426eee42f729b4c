# Check suites of the in-memory API: format, writer, reader, message, concurrency.
check_PROGRAMS += tests/check_format
TESTS += tests/check_format
noinst_HEADERS += tests/core-helpers.h

tests_check_format_SOURCES = tests/check_format.c
tests_check_format_CFLAGS = $(SUITECFLAGS)
tests_check_format_LDADD = $(SUITELIBS)
tests_check_format_LDFLAGS = $(SUITELDFLAGS)

check_PROGRAMS += tests/check_writer
TESTS += tests/check_writer
tests_check_writer_SOURCES = tests/check_writer.c
tests_check_writer_CFLAGS = $(SUITECFLAGS)
tests_check_writer_LDADD = $(SUITELIBS)
tests_check_writer_LDFLAGS = $(SUITELDFLAGS)

check_PROGRAMS += tests/check_reader
TESTS += tests/check_reader
tests_check_reader_SOURCES = tests/check_reader.c
tests_check_reader_CFLAGS = $(SUITECFLAGS)
tests_check_reader_LDADD = $(SUITELIBS)
tests_check_reader_LDFLAGS = $(SUITELDFLAGS)

check_PROGRAMS += tests/check_message
TESTS += tests/check_message
tests_check_message_SOURCES = tests/check_message.c
tests_check_message_CFLAGS = $(SUITECFLAGS)
tests_check_message_LDADD = $(SUITELIBS)
tests_check_message_LDFLAGS = $(SUITELDFLAGS)

check_PROGRAMS += tests/check_concurrency
TESTS += tests/check_concurrency
tests_check_concurrency_SOURCES = tests/check_concurrency.c
tests_check_concurrency_CFLAGS = $(SUITECFLAGS)
tests_check_concurrency_LDADD = $(SUITELIBS)
tests_check_concurrency_LDFLAGS = $(SUITELDFLAGS)
