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

# bcast-bridge: a channel carried to other hosts over ZeroMQ, built only when
# configure finds libzmq (--with-zmq); the library never links it
noinst_HEADERS += tools/bridge-wire.h
EXTRA_DIST += doc/bcast-bridge.1 tests/bridge.test tools/bridge-bench.sh
if HAVE_ZMQ
bin_PROGRAMS += tools/bcast-bridge
tools_bcast_bridge_SOURCES = tools/bcast-bridge.c tools/tool.c
tools_bcast_bridge_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS)
tools_bcast_bridge_LDADD = $(BCAST_LIB) $(ZMQ_LIBS)
man1_MANS = doc/bcast-bridge.1

# the test's writer, verifier, stalled peer and foreign publisher, and the
# raw ZeroMQ side of the measurement
check_PROGRAMS += tests/bridge-peer
tests_bridge_peer_SOURCES = tests/bridge-peer.c
tests_bridge_peer_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS) -I$(top_srcdir)/tools
tests_bridge_peer_LDADD = $(BCAST_LIB) $(ZMQ_LIBS) $(TEST_LIBS)
TESTS += tests/bridge.test

# bridged against raw ZeroMQ: throughput and latency (README Performance)
bench-bridge: tools/bcast-bridge tests/bridge-peer
	$(SHELL) $(srcdir)/tools/bridge-bench.sh $(builddir)
# the 10^6-message end-to-end check (make check runs it with 10^4)
check-bridge-long: tools/bcast-bridge tests/bridge-peer
	BRIDGE_MESSAGES=1000000 srcdir=$(srcdir) $(SHELL) $(srcdir)/tests/bridge.test
else
bench-bridge check-bridge-long:
	@echo "bcast-bridge is not built: configure did not find libzmq (--with-zmq)"; exit 1
endif
.PHONY: bench-bridge check-bridge-long
