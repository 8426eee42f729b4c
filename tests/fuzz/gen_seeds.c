/*
 * gen_seeds: seed corpus for fuzz_reader.  Writes real channels with the
 * library (every capacity the target knows, messages of many lengths,
 * wrapped rings with padding frames, aborted claims, heartbeats, fragment
 * trains) and wraps each in the target's control block with a few operation
 * scripts.  Channel files named on the command line (for instance ones
 * written by the Rust crate) are wrapped the same way.
 *
 *   gen_seeds OUTDIR [CHANNEL-FILE...]
 *
 * SPDX-License-Identifier: MIT
 */
#include <bcast.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CTRL 48
#define FUZZ_OPS_AT 19
#define NOPS (FUZZ_CTRL - FUZZ_OPS_AT)

/* operation scripts: low nibble what, high nibble argument (fuzz_reader.c) */
static const struct script {
    const char *name;
    uint8_t fix;
    uint8_t ops[NOPS];
} scripts[] = {
    {"receive", 0x00, {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}},
    {"lazy", 0x00, {0x08, 0x00, 0x22, 0x00, 0x22, 0x00, 0x22, 0x0b, 0x00, 0x22, 0x00, 0x22}},
    {"poll", 0x08, {0x08, 0xf3, 0xf3, 0x06, 0x08, 0x73, 0xf3}},
    {"bulk", 0x00, {0x08, 0x25, 0x25, 0x15, 0x07, 0x35, 0x25}},
    {"lastlap", 0x00, {0x07, 0x11, 0x11, 0x04, 0x11, 0x25, 0x11}},
    {"mixed", 0x0b,
     {0x18, 0x11, 0x00, 0x22, 0xf3, 0x25, 0x04, 0x19, 0x11, 0x0a, 0x0b, 0x0c, 0x3d, 0x11,
      0x7e, 0x11, 0x06, 0x0f, 0x11, 0x25, 0x07, 0x31, 0x00, 0x12, 0x09, 0x11}},
};
#define NSCRIPTS (sizeof scripts / sizeof scripts[0])

static int write_seed(const char *dir, const char *name, unsigned cap_log,
                      const struct script *s, const uint8_t *image, size_t image_len)
{
    uint8_t ctrl[FUZZ_CTRL] = {0};
    char path[512];
    FILE *fp;

    ctrl[0] = (uint8_t)cap_log;
    ctrl[1] = s->fix;
    ctrl[2] = 4;
    /* position A absolute 0 (or producer itself when relative), B one message back */
    ctrl[11] = 3;
    memcpy(ctrl + FUZZ_OPS_AT, s->ops, NOPS);
    snprintf(path, sizeof path, "%s/%s-%s", dir, name, s->name);
    if (!(fp = fopen(path, "wb")))
        return -1;
    fwrite(ctrl, 1, sizeof ctrl, fp);
    fwrite(image, 1, image_len, fp);
    return fclose(fp);
}

static int write_all(const char *dir, const char *name, unsigned cap_log, const uint8_t *image,
                     size_t image_len)
{
    size_t i;

    for (i = 0; i < NSCRIPTS; i++)
        if (write_seed(dir, name, cap_log, &scripts[i], image, image_len) < 0)
            return -1;
    return 0;
}

/* a channel of capacity 16 << cap_log with about total bytes written */
static int make_channel(const char *dir, unsigned cap_log, uint64_t total, size_t reserve)
{
    size_t capacity = (size_t)16 << cap_log, size = bcast_channel_size(capacity);
    uint8_t *mem, payload[1024];
    struct bcast_writer *w;
    char name[64];
    unsigned i;
    int rc;

    /* not aligned_alloc: size need not be a multiple of the alignment */
    if (posix_memalign((void **)&mem, BCAST_ALIGNMENT, size))
        return -1;
    memset(mem, 0, size);
    if (bcast_writer_create(mem, size, "seed", 4, &w) < 0)
        return -1;
    if (reserve != (size_t)-1)
        (void)bcast_writer_set_reserve(w, reserve);
    for (i = 0; bcast_writer_position(w) < total; i++) {
        size_t mtu = bcast_writer_mtu(w), len = (i * 37u) % (mtu < 300 ? mtu + 1 : 300);
        void *p;

        memset(payload, (int)(i & 0xff), len);
        if (i % 7 == 6)
            rc = bcast_writer_heartbeat(w, i);
        else if (i % 11 == 10 && bcast_writer_claim(w, len, i, 0, &p) == 0)
            rc = bcast_writer_abort(w);
        else
            rc = bcast_writer_send(w, payload, len, i, (i % 5 == 4) ? BCAST_MORE : 0);
        if (rc < 0)
            return -1;
    }
    bcast_writer_close(w);
    snprintf(name, sizeof name, "cap%zu-%llu-r%d", capacity, (unsigned long long)total,
             reserve == (size_t)-1 ? -1 : (int)reserve);
    rc = write_all(dir, name, cap_log, mem, size);
    free(mem);
    return rc;
}

static int wrap_file(const char *dir, const char *file)
{
    FILE *fp = fopen(file, "rb");
    const char *base = strrchr(file, '/');
    uint8_t *image;
    long len;
    unsigned cap_log;
    int rc;

    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    for (cap_log = 0; cap_log <= 10; cap_log++)
        if ((long)bcast_channel_size((size_t)16 << cap_log) == len)
            break;
    if (cap_log > 10) { /* not a capacity the target makes: skip it */
        fclose(fp);
        return 0;
    }
    if (!(image = malloc((size_t)len)) || fread(image, 1, (size_t)len, fp) != (size_t)len) {
        fclose(fp);
        free(image);
        return -1;
    }
    fclose(fp);
    rc = write_all(dir, base ? base + 1 : file, cap_log, image, (size_t)len);
    free(image);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct {
        unsigned cap_log;
        uint64_t laps_x4; /* bytes written, in quarter laps */
        size_t reserve;
    } chans[] = {
        {0, 3, (size_t)-1}, {0, 9, 0},  {2, 2, (size_t)-1}, {2, 13, 8},
        {4, 3, (size_t)-1}, {4, 14, 0}, {6, 5, (size_t)-1}, {6, 11, (size_t)-1},
        {8, 2, (size_t)-1}, {8, 13, 0}, {10, 3, (size_t)-1}, {10, 9, (size_t)-1},
    };
    size_t i;
    int c;

    if (argc < 2) {
        fprintf(stderr, "usage: %s OUTDIR [CHANNEL-FILE...]\n", argv[0]);
        return 2;
    }
    for (i = 0; i < sizeof chans / sizeof chans[0]; i++) {
        uint64_t capacity = (uint64_t)16 << chans[i].cap_log;
        if (make_channel(argv[1], chans[i].cap_log, capacity * chans[i].laps_x4 / 4,
                         chans[i].reserve) < 0) {
            fprintf(stderr, "%s: cannot write the seeds for capacity %llu\n", argv[0],
                    (unsigned long long)capacity);
            return 1;
        }
    }
    for (c = 2; c < argc; c++)
        if (wrap_file(argv[1], argv[c]) < 0) {
            fprintf(stderr, "%s: cannot wrap %s\n", argv[0], argv[c]);
            return 1;
        }
    return 0;
}
