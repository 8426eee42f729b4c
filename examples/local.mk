# examples: built by `make check` and run as tests
check_PROGRAMS += examples/hello
examples_hello_SOURCES = examples/hello.c
examples_hello_LDADD = $(BCAST_LIB)
TESTS += examples/hello
