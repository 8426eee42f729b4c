/*
 * hello: the smallest libbcast program.  One writer and one reader share a
 * channel in heap memory; the writer sends three messages and the reader
 * prints them.
 *
 * SPDX-License-Identifier: MIT
 */
#include <bcast.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t capacity = 64 * 1024, size = bcast_channel_size(capacity);
    const char *words[] = {"hello", "shared", "memory"};
    struct bcast_writer *w;
    struct bcast_reader *r;
    char buf[64];
    ssize_t n;
    int rc, got = 0;
    void *mem = aligned_alloc(BCAST_ALIGNMENT, size);

    if (!mem)
        return 1;
    if ((rc = bcast_writer_create(mem, size, "hello-demo", 10, &w)) < 0 ||
        (rc = bcast_reader_open(mem, size, &r)) < 0) {
        fprintf(stderr, "hello: %s\n", bcast_strerror(rc));
        return 1;
    }
    for (unsigned i = 0; i < 3; i++)
        if ((rc = bcast_writer_send(w, words[i], strlen(words[i]), i, 0)) < 0) {
            fprintf(stderr, "hello: send: %s\n", bcast_strerror(rc));
            return 1;
        }
    printf("channel \"%s\", libbcast %s\n", (const char *)bcast_reader_metadata(r),
           bcast_version());
    while ((n = bcast_reader_receive(r, buf, sizeof buf, NULL)) >= 0) {
        printf("received %.*s\n", (int)n, buf);
        got++;
    }
    if (n != -EAGAIN) {
        fprintf(stderr, "hello: receive: %s\n", bcast_strerror((int)n));
        return 1;
    }
    bcast_reader_close(r);
    bcast_writer_close(w);
    free(mem);
    return got == 3 ? 0 : 1;
}
