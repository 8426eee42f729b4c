# tools: installed programs for looking at a channel from a shell
bin_PROGRAMS += tools/bcast-stat tools/bcast-tail tools/bcast-cat
noinst_HEADERS += tools/tool.h

tools_bcast_stat_SOURCES = tools/bcast-stat.c tools/tool.c
tools_bcast_stat_LDADD = $(BCAST_LIB)
tools_bcast_tail_SOURCES = tools/bcast-tail.c tools/tool.c
tools_bcast_tail_LDADD = $(BCAST_LIB)
tools_bcast_cat_SOURCES = tools/bcast-cat.c tools/tool.c
tools_bcast_cat_LDADD = $(BCAST_LIB)

dist_man1_MANS += doc/bcast-stat.1 doc/bcast-tail.1 doc/bcast-cat.1

# end-to-end tests of the built programs
check_PROGRAMS += tests/tools-feed
tests_tools_feed_SOURCES = tests/tools-feed.c
tests_tools_feed_LDADD = $(BCAST_LIB)
TESTS += tests/tools.test
EXTRA_DIST += tests/tools.test
EXTRA_DIST += tests/fixtures/rust-4k-100.bcast

# the tools on a host shared with other users (lock probing, error texts, SIGBUS)
TESTS += tests/shared-host-tools.test
EXTRA_DIST += tests/shared-host-tools.test
