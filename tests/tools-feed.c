/*
 * tools-feed: writes channels that bcast-cat cannot, for tests/tools.test.
 *
 *   tools-feed frames PATH      a new 4 KiB channel holding a message in two
 *                               fragments (user_defined 3), a heartbeat
 *                               (user_defined 5) and "after" (user_defined 3)
 *   tools-feed meta PATH TEXT   a new empty 4 KiB channel whose metadata is TEXT
 *   tools-feed binmeta PATH     the same with the metadata bytes 00 01 ff 7f
 *
 * The file API creates channels without metadata, so the meta modes map the
 * file themselves and use bcast_writer_create on the mapping.
 *
 * SPDX-License-Identifier: MIT
 */
#include <bcast.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CAPACITY 4096

static int frames(const char *path)
{
    struct bcast_writer *w;
    int rc;

    if ((rc = bcast_writer_create_file(path, CAPACITY, 0, &w)) < 0 ||
        (rc = bcast_writer_send(w, "frag-one,", 9, 3, BCAST_MORE)) < 0 ||
        (rc = bcast_writer_send(w, "frag-two", 8, 3, 0)) < 0 ||
        (rc = bcast_writer_heartbeat(w, 5)) < 0 ||
        (rc = bcast_writer_send(w, "after", 5, 3, 0)) < 0) {
        fprintf(stderr, "tools-feed: %s: %s\n", path, bcast_strerror(rc));
        return 99;
    }
    bcast_writer_close(w);
    return 0;
}

static int meta(const char *path, const void *md, size_t len)
{
    size_t size = bcast_channel_size(CAPACITY);
    struct bcast_writer *w;
    void *mem;
    int fd, rc;

    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        perror(path);
        return 99;
    }
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED) {
        perror(path);
        return 99;
    }
    if ((rc = bcast_writer_create(mem, size, md, len, &w)) < 0) {
        fprintf(stderr, "tools-feed: %s: %s\n", path, bcast_strerror(rc));
        return 99;
    }
    bcast_writer_close(w);
    munmap(mem, size);
    return 0;
}

int main(int argc, char **argv)
{
    static const unsigned char bin[] = {0x00, 0x01, 0xff, 0x7f};

    if (argc == 3 && strcmp(argv[1], "frames") == 0)
        return frames(argv[2]);
    if (argc == 4 && strcmp(argv[1], "meta") == 0)
        return meta(argv[2], argv[3], strlen(argv[3]));
    if (argc == 3 && strcmp(argv[1], "binmeta") == 0)
        return meta(argv[2], bin, sizeof bin);
    fprintf(stderr, "usage: tools-feed frames|meta|binmeta PATH [TEXT]\n");
    return 99;
}
