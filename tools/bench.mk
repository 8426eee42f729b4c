# bcast-bench: the benchmarks of doc/BENCHMARKS (installed program)
bin_PROGRAMS += tools/bcast-bench
tools_bcast_bench_SOURCES = tools/bcast-bench.c
tools_bcast_bench_LDADD = $(BCAST_LIB) $(TEST_LIBS)
dist_man1_MANS += doc/bcast-bench.1
EXTRA_DIST += tools/bench-ops.sh tools/bench-goals.sh

# the standard set, human tables
bench: tools/bcast-bench
	$(builddir)/tools/bcast-bench ops
	$(builddir)/tools/bcast-bench rtt
	$(builddir)/tools/bcast-bench rtt --shm
	for size in 8 73 1024; do \
	  $(builddir)/tools/bcast-bench throughput --size $$size || exit 1; done
	$(builddir)/tools/bcast-bench throughput --idle-pause 1024
	$(builddir)/tools/bcast-bench throughput --api next
	$(builddir)/tools/bcast-bench throughput --api bulk
	$(builddir)/tools/bcast-bench throughput --readers 2
	$(builddir)/tools/bcast-bench wake

# instructions per operation under callgrind (repeatable on noisy machines)
bench-ops: tools/bcast-bench
	$(SHELL) $(srcdir)/tools/bench-ops.sh $(builddir)/tools/bcast-bench

# the performance goals (README Performance), judged: exit 1 if one is missed
bench-goals: tools/bcast-bench
	$(SHELL) $(srcdir)/tools/bench-goals.sh $(builddir)/tools/bcast-bench $(srcdir)

.PHONY: bench bench-ops bench-goals
