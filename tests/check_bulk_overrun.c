/*
 * bcast_reader_read_bulk on a reader that is more than a lap behind, with a
 * buffer larger than the channel: the copy must stay inside the data
 * section (a PROT_NONE guard right after the channel turns a stray read into
 * a crash) and the call must report the overrun.
 *
 * SPDX-License-Identifier: MIT
 */
#include "suite-main.h"

#include <bcast.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guarded {
    uint8_t *map;
    size_t map_len;
    void *mem; /* channel memory, ending where the guard starts */
    size_t size;
};

/* a channel of the given capacity whose last byte is followed by a guard */
static void guarded_new(struct guarded *g, size_t capacity, size_t guard)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t body;

    g->size = bcast_channel_size(capacity);
    ck_assert_uint_ne(g->size, 0);
    body = (g->size + pg - 1) / pg * pg;
    g->map_len = body + guard;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->map, MAP_FAILED);
    ck_assert_int_eq(mprotect(g->map + body, guard, PROT_NONE), 0);
    g->mem = g->map + body - g->size;
    ck_assert_uint_eq((uintptr_t)g->mem % BCAST_ALIGNMENT, 0);
}

static void guarded_free(struct guarded *g)
{
    munmap(g->map, g->map_len);
}

START_TEST(bulk_lapped_large_buffer)
{
    const size_t capacity = 4096;
    struct guarded g;
    struct bcast_writer *w;
    struct bcast_reader *r;
    uint8_t payload[100], *buf;
    size_t buf_len = 16 * capacity;
    uint64_t start = 0;
    ssize_t n;
    int i;

    guarded_new(&g, capacity, buf_len);
    buf = malloc(buf_len);
    ck_assert_ptr_nonnull(buf);
    memset(payload, 0xa5, sizeof payload);
    ck_assert_int_eq(bcast_writer_create(g.mem, g.size, NULL, 0, &w), 0);
    ck_assert_int_eq(bcast_reader_open(g.mem, g.size, &r), 0);
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
    guarded_free(&g);
}
END_TEST

/* the same with the reader at a lap boundary, where the window would start
   at index 0 and run on for several laps */
START_TEST(bulk_lapped_at_index0)
{
    const size_t capacity = 1024;
    struct guarded g;
    struct bcast_writer *w;
    struct bcast_reader *r;
    uint8_t payload[56] = {0}, *buf;
    size_t buf_len = 8 * capacity;
    ssize_t n;
    int i;

    guarded_new(&g, capacity, buf_len);
    buf = malloc(buf_len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(bcast_writer_create(g.mem, g.size, NULL, 0, &w), 0);
    /* 64-byte frames tile the ring exactly: no padding, every lap starts at index 0 */
    for (i = 0; i < 16; i++)
        ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, 0, 0), 0);
    ck_assert_uint_eq(bcast_writer_position(w), capacity);
    ck_assert_int_eq(bcast_reader_open(g.mem, g.size, &r), 0);
    ck_assert_uint_eq(bcast_reader_position(r), capacity);
    for (i = 0; i < 6 * 16; i++)
        ck_assert_int_eq(bcast_writer_send(w, payload, sizeof payload, 0, 0), 0);

    n = bcast_reader_read_bulk(r, buf, buf_len, NULL);
    ck_assert_int_eq(n, -ENOBUFS);
    ck_assert_uint_eq(bcast_reader_position(r), capacity);

    bcast_reader_close(r);
    bcast_writer_close(w);
    free(buf);
    guarded_free(&g);
}
END_TEST

Suite *bulk_overrun_suite(void);

Suite *bulk_overrun_suite(void)
{
    Suite *s = suite_create("bulk_overrun");
    TCase *tc = tcase_create("lapped");

    tcase_add_test(tc, bulk_lapped_large_buffer);
    tcase_add_test(tc, bulk_lapped_at_index0);
    suite_add_tcase(s, tc);
    return s;
}

SUITE_MAIN(bulk_overrun_suite)
