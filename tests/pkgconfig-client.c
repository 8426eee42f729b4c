/*
 * pkgconfig-client: a program built by tests/check-pkgconfig.sh against an
 * installed libbcast using nothing but `pkg-config bcast`, as C and as C++,
 * linked dynamically and statically.
 *
 * usage: pkgconfig-client VERSION DIR
 * Checks that the library it runs against is VERSION, passes messages over
 * a heap channel and over a file channel created in DIR.
 *
 * SPDX-License-Identifier: MIT
 */
#include <bcast.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pkgconfig-client: %s: %s\n", what, bcast_strerror(rc));
    return 1;
}

/* send three messages through w, read them back from r */
static int exchange(struct bcast_writer *w, struct bcast_reader *r)
{
    const char *words[] = {"installed", "by", "pkg-config"};
    char buf[64];
    ssize_t n;
    int rc;
    unsigned i;

    for (i = 0; i < 3; i++)
        if ((rc = bcast_writer_send(w, words[i], strlen(words[i]), i, 0)) < 0)
            return fail("send", rc);
    for (i = 0; i < 3; i++) {
        n = bcast_reader_receive(r, buf, sizeof buf, NULL);
        if (n < 0)
            return fail("receive", (int)n);
        if ((size_t)n != strlen(words[i]) || memcmp(buf, words[i], (size_t)n) != 0) {
            fprintf(stderr, "pkgconfig-client: message %u is wrong\n", i);
            return 1;
        }
    }
    n = bcast_reader_receive(r, buf, sizeof buf, NULL);
    return n == -EAGAIN ? 0 : fail("receive after the last message", (int)n);
}

int main(int argc, char **argv)
{
    size_t size = bcast_channel_size(4096);
    struct bcast_writer *w;
    struct bcast_reader *r;
    char *raw, *mem, path[4096];
    int rc;

    if (argc != 3)
        return 2;
    if (strcmp(bcast_version(), argv[1]) != 0 || strcmp(BCAST_VERSION_STRING, argv[1]) != 0) {
        fprintf(stderr, "pkgconfig-client: library %s, header %s, expected %s\n",
                bcast_version(), BCAST_VERSION_STRING, argv[1]);
        return 1;
    }

    /* heap channel, aligned by hand so this builds as C99 and C++ alike */
    raw = (char *)malloc(size + BCAST_ALIGNMENT);
    if (!raw)
        return 1;
    mem = raw + (BCAST_ALIGNMENT - (uintptr_t)raw % BCAST_ALIGNMENT);
    if ((rc = bcast_writer_create(mem, size, "pc", 2, &w)) < 0)
        return fail("writer_create", rc);
    if ((rc = bcast_reader_open(mem, size, &r)) < 0)
        return fail("reader_open", rc);
    if (exchange(w, r))
        return 1;
    bcast_reader_close(r);
    bcast_writer_close(w);
    free(raw);

    /* file channel */
    if ((size_t)snprintf(path, sizeof path, "%s/channel", argv[2]) >= sizeof path)
        return 1;
    if ((rc = bcast_writer_create_file(path, 4096, BCAST_FILE_NO_POPULATE, &w)) < 0)
        return fail("writer_create_file", rc);
    if ((rc = bcast_reader_open_file(path, 0, &r)) < 0)
        return fail("reader_open_file", rc);
    if (exchange(w, r))
        return 1;
    bcast_reader_close(r);
    bcast_writer_close(w);
    unlink(path);
    if (snprintf(path, sizeof path, "%s/channel.lock", argv[2]) > 0)
        unlink(path);
    if (snprintf(path, sizeof path, "%s/channel.wait", argv[2]) > 0)
        unlink(path);
    return 0;
}
