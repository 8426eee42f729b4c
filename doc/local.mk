# man pages, hand-written: bcast(7) and one section-3 page per function or
# family; the other names of a family are one-line .so stubs, so that
# `man 3 NAME` works for every exported function.  The tool pages
# (section 1) are added beside the tools.  tests/check-man.sh checks them.
dist_man7_MANS += doc/bcast.7
# the byte format and the protocol
dist_man5_MANS += doc/bcast-format.5
# how libbcast is measured: the benchmark shapes (shipped in the tarball)
EXTRA_DIST += doc/BENCHMARKS
dist_man3_MANS += \
	doc/bcast_assembler_dropped.3 \
	doc/bcast_assembler_free.3 \
	doc/bcast_assembler_new.3 \
	doc/bcast_assembler_next.3 \
	doc/bcast_assembler_poll.3 \
	doc/bcast_assembler_receive.3 \
	doc/bcast_bulk_next.3 \
	doc/bcast_channel_size.3 \
	doc/bcast_message_copy.3 \
	doc/bcast_message_data.3 \
	doc/bcast_message_flags.3 \
	doc/bcast_message_free.3 \
	doc/bcast_message_len.3 \
	doc/bcast_message_new.3 \
	doc/bcast_message_position.3 \
	doc/bcast_message_read.3 \
	doc/bcast_message_user_defined.3 \
	doc/bcast_reader_capacity.3 \
	doc/bcast_reader_close.3 \
	doc/bcast_reader_metadata.3 \
	doc/bcast_reader_mtu.3 \
	doc/bcast_reader_next.3 \
	doc/bcast_reader_open.3 \
	doc/bcast_reader_open_at.3 \
	doc/bcast_reader_open_file.3 \
	doc/bcast_reader_open_file_at.3 \
	doc/bcast_reader_open_file_last_lap.3 \
	doc/bcast_reader_open_last_lap.3 \
	doc/bcast_reader_pending.3 \
	doc/bcast_reader_poll.3 \
	doc/bcast_reader_position.3 \
	doc/bcast_reader_wait.3 \
	doc/bcast_reader_set_wait_area.3 \
	doc/bcast_reader_set_wait_spin.3 \
	doc/bcast_wait_any.3 \
	doc/bcast_writer_set_wait_area.3 \
	doc/bcast_reader_read_bulk.3 \
	doc/bcast_reader_receive.3 \
	doc/bcast_reader_reset.3 \
	doc/bcast_reader_set_filter.3 \
	doc/bcast_reader_skip.3 \
	doc/bcast_strerror.3 \
	doc/bcast_version.3 \
	doc/bcast_writer_abort.3 \
	doc/bcast_writer_capacity.3 \
	doc/bcast_writer_claim.3 \
	doc/bcast_writer_close.3 \
	doc/bcast_writer_commit.3 \
	doc/bcast_writer_commit_len.3 \
	doc/bcast_writer_create.3 \
	doc/bcast_writer_create_file.3 \
	doc/bcast_writer_heartbeat.3 \
	doc/bcast_writer_join.3 \
	doc/bcast_writer_join_file.3 \
	doc/bcast_writer_mtu.3 \
	doc/bcast_writer_open_file.3 \
	doc/bcast_writer_open_file_opts.3 \
	doc/bcast_writer_position.3 \
	doc/bcast_writer_send.3 \
	doc/bcast_writer_send_large.3 \
	doc/bcast_writer_set_reserve.3

TESTS += tests/check-man.sh
EXTRA_DIST += tests/check-man.sh
