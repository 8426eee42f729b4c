# examples: built by `make check` and run as tests
check_PROGRAMS += examples/hello
examples_hello_SOURCES = examples/hello.c
examples_hello_LDADD = $(BCAST_LIB)
TESTS += examples/hello

# pub and sub talk through a channel file; demo.sh runs them together.  They
# are built by plain `make` so the README quick start can run the demo.
noinst_PROGRAMS += examples/pub examples/sub
noinst_HEADERS += examples/tick.h
examples_pub_SOURCES = examples/pub.c
examples_pub_LDADD = $(BCAST_LIB)
examples_sub_SOURCES = examples/sub.c
examples_sub_LDADD = $(BCAST_LIB)
TESTS += examples/demo.sh
EXTRA_DIST += examples/demo.sh
