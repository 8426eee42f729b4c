/*
 * bcast_reader_read_bulk on a reader that is more than a lap behind, with a
 * buffer larger than the channel: the copy must stay inside the data
 * section (a PROT_NONE guard right after the channel turns a stray read into
 * a crash) and the call must report the overrun.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core-helpers.h"

START_TEST(bulk_lapped_large_buffer)
{
    const size_t capacity = 4096, buf_len = 16 * capacity;
    struct chan c = chan_alloc_guarded(capacity, buf_len);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r = chan_reader(&c);
    uint8_t payload[100], *buf = malloc(buf_len);
    uint64_t start = 0;
    ssize_t n;
    int i;

    ck_assert_ptr_nonnull(buf);
    memset(payload, 0xa5, sizeof payload);
    /* ten laps and more past the reader */
    for (i = 0; i < 500; i++)
        ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, (uint32_t)i, 0), 0);
    ck_assert_uint_gt(bcast_writer_position(w), 10 * capacity);

    n = bcast_reader_read_bulk(r, buf, buf_len, &start);
    ck_assert_int_eq(n, -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(r), 0);

    /* after a reset the reader gets whole frames again */
    ck_assert_int_eq(bcast_reader_reset(r), 0);
    ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, 7, 0), 0);
    n = bcast_reader_read_bulk(r, buf, buf_len, &start);
    ck_assert_int_eq(n, 8 + 104);

    bcast_reader_close(r);
    bcast_writer_close(w);
    free(buf);
    chan_free_guarded(&c);
}
END_TEST

/* the same with the reader at a lap boundary, where the window would start
   at index 0 and run on for several laps */
START_TEST(bulk_lapped_at_index0)
{
    const size_t capacity = 1024, buf_len = 8 * capacity;
    struct chan c = chan_alloc_guarded(capacity, buf_len);
    struct bcast_writer *w = chan_writer(&c);
    struct bcast_reader *r;
    uint8_t payload[56] = {0}, *buf = malloc(buf_len);
    ssize_t n;
    int i;

    ck_assert_ptr_nonnull(buf);
    /* 64-byte frames tile the ring exactly: no padding, every lap starts at index 0 */
    for (i = 0; i < 16; i++)
        ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, 0, 0), 0);
    ck_assert_uint_eq(bcast_writer_position(w), capacity);
    r = chan_reader(&c);
    ck_assert_uint_eq(bcast_reader_position(r), capacity);
    for (i = 0; i < 6 * 16; i++)
        ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, 0, 0), 0);

    n = bcast_reader_read_bulk(r, buf, buf_len, NULL);
    ck_assert_int_eq(n, -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(r), capacity);

    bcast_reader_close(r);
    bcast_writer_close(w);
    free(buf);
    chan_free_guarded(&c);
}
END_TEST

SUITE(bulk_overrun)
{
    TCase *tc = suite_case(s, "lapped", 0);

    tcase_add_test(tc, bulk_lapped_large_buffer);
    tcase_add_test(tc, bulk_lapped_at_index0);
}
