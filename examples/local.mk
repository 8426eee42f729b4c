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

# the README's "API in one screen" program, cut out of the README and
# compiled with the project's warnings (-Wall -Wextra ... -Werror), then run
check_PROGRAMS += tests/readme-example
nodist_tests_readme_example_SOURCES = tests/readme-example.c
tests_readme_example_LDADD = $(BCAST_LIB)
TESTS += tests/readme-example
CLEANFILES += tests/readme-example.c
tests/readme-example.c: $(srcdir)/README
	$(AM_V_GEN)$(MKDIR_P) tests && \
	sed -n '/^API in one screen$$/,/^Every function returns/p' $(srcdir)/README | \
	    sed -n '/^    #include <bcast.h>$$/,/^    }$$/s/^    //p' >$@.tmp && \
	grep -q '^int main' $@.tmp && mv $@.tmp $@

# sub's backlog and latency percentiles, with pub, as processes
TESTS += tests/examples.test
EXTRA_DIST += tests/examples.test
EXTRA_DIST += examples/README
