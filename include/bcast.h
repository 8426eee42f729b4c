/*
 * libbcast - low-latency broadcast over shared memory.
 *
 * One writer, any number of readers, variable-size byte messages, no
 * back-pressure.  A reader that falls a whole ring behind is told so
 * (-ENOBUFS) and is never handed a torn message as a good one.
 *
 * All functions return >= 0 on success and -errno on failure; see
 * bcast(7) and the section-3 page of each function.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_H
#define BCAST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bcast-version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && (__GNUC__ >= 4)
#define BCAST_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define BCAST_WARN_UNUSED
#endif

/** Bytes of the channel header that precedes the data section. */
#define BCAST_HEADER_SIZE 1664
/** Bytes of user metadata stored in the header. */
#define BCAST_METADATA_SIZE 1024
/** Alignment that channel memory must have. */
#define BCAST_ALIGNMENT 128

/* message and claim flags (fixed ABI values) */
#define BCAST_MORE 0x1          /**< more fragments follow */
#define BCAST_CONTINUATION 0x2  /**< this frame continues a fragmented message */
#define BCAST_HEARTBEAT 0x4     /**< heartbeat frame */

/* file flags */
#define BCAST_FILE_MLOCK 0x1        /**< lock the mapping in RAM */
#define BCAST_FILE_NO_POPULATE 0x2  /**< do not prefault the mapping */
#define BCAST_FILE_SPARSE 0x4       /**< writers: do not reserve the file's blocks */
#define BCAST_FILE_REPLACE 0x8      /**< bcast_writer_open_file_opts: replace what is there */

/**
 * Options of bcast_writer_open_file_opts().  Zero it, set size to
 * sizeof(struct bcast_file_options), then the fields wanted; later versions
 * only add fields at the end, and a zero field keeps the default.
 */
struct bcast_file_options {
    size_t size;              /**< sizeof(struct bcast_file_options) */
    int flags;                /**< BCAST_FILE_* */
    mode_t mode;              /**< mode of the channel file it creates (0: 0600); its
                                   group and other write bits also let it join such a file */
    const void *metadata;     /**< header metadata of a channel it creates, or NULL */
    size_t metadata_len;      /**< at most BCAST_METADATA_SIZE */
};

struct bcast_writer;
struct bcast_reader;
struct bcast_message;

typedef int (*bcast_handler)(const struct bcast_message *msg, void *ctx);
typedef int (*bcast_filter)(uint32_t user_defined, void *ctx);

/* library */
const char *bcast_version(void);
const char *bcast_strerror(int err);
size_t bcast_channel_size(size_t capacity);

/* writer over caller memory */
BCAST_WARN_UNUSED
int bcast_writer_create(void *mem, size_t size, const void *metadata, size_t metadata_len,
                        struct bcast_writer **out);
BCAST_WARN_UNUSED
int bcast_writer_join(void *mem, size_t size, struct bcast_writer **out);
void bcast_writer_close(struct bcast_writer *w);
size_t bcast_writer_mtu(const struct bcast_writer *w);
size_t bcast_writer_capacity(const struct bcast_writer *w);
uint64_t bcast_writer_position(const struct bcast_writer *w);
int bcast_writer_claim(struct bcast_writer *w, size_t len, uint32_t user_defined, int flags,
                       void **payload);
int bcast_writer_commit(struct bcast_writer *w);
int bcast_writer_abort(struct bcast_writer *w);
int bcast_writer_send(struct bcast_writer *w, const void *payload, size_t len,
                      uint32_t user_defined, int flags);
int bcast_writer_heartbeat(struct bcast_writer *w, uint32_t user_defined);
int bcast_writer_set_reserve(struct bcast_writer *w, size_t bytes);
/* messages of any size, and claims that shrink (bcast_writer_send_large(3)) */
int bcast_writer_send_large(struct bcast_writer *w, const void *payload, size_t len,
                            uint32_t user_defined);
int bcast_writer_commit_len(struct bcast_writer *w, size_t len);

/* reader over caller memory */
BCAST_WARN_UNUSED
int bcast_reader_open(const void *mem, size_t size, struct bcast_reader **out);
BCAST_WARN_UNUSED
int bcast_reader_open_at(const void *mem, size_t size, uint64_t position,
                         struct bcast_reader **out);
BCAST_WARN_UNUSED
int bcast_reader_open_last_lap(const void *mem, size_t size, struct bcast_reader **out);
void bcast_reader_close(struct bcast_reader *r);
uint64_t bcast_reader_position(const struct bcast_reader *r);
size_t bcast_reader_capacity(const struct bcast_reader *r);
size_t bcast_reader_mtu(const struct bcast_reader *r);
uint64_t bcast_reader_pending(struct bcast_reader *r);
int bcast_reader_reset(struct bcast_reader *r);
const void *bcast_reader_metadata(const struct bcast_reader *r);
int bcast_reader_next(struct bcast_reader *r, struct bcast_message *msg);
ssize_t bcast_reader_receive(struct bcast_reader *r, void *buf, size_t cap,
                             struct bcast_message *msg);
int bcast_reader_skip(struct bcast_reader *r);
int bcast_reader_poll(struct bcast_reader *r, bcast_handler fn, void *ctx, size_t limit);
void bcast_reader_set_filter(struct bcast_reader *r, bcast_filter keep, void *ctx);
ssize_t bcast_reader_read_bulk(struct bcast_reader *r, void *buf, size_t cap,
                               uint64_t *start_position);

/* messages */
BCAST_WARN_UNUSED
struct bcast_message *bcast_message_new(void);
void bcast_message_free(struct bcast_message *m);
int bcast_message_copy(struct bcast_message *dst, const struct bcast_message *src);
size_t bcast_message_len(const struct bcast_message *m);
uint32_t bcast_message_user_defined(const struct bcast_message *m);
uint64_t bcast_message_position(const struct bcast_message *m);
int bcast_message_flags(const struct bcast_message *m);
ssize_t bcast_message_read(const struct bcast_message *m, void *buf, size_t cap);
const void *bcast_message_data(const struct bcast_message *m);
int bcast_bulk_next(const void *buf, size_t len, size_t *offset, uint64_t start_position,
                    struct bcast_message *msg);

/* reassembly of fragmented messages (bcast_assembler_new(3)) */
struct bcast_assembler;
#define BCAST_ASSEMBLE_HEARTBEATS 0x1 /**< hand heartbeats over too */

BCAST_WARN_UNUSED
int bcast_assembler_new(struct bcast_reader *r, void *buf, size_t cap, int flags,
                        struct bcast_assembler **out);
void bcast_assembler_free(struct bcast_assembler *a);
int bcast_assembler_next(struct bcast_assembler *a, struct bcast_message *msg);
ssize_t bcast_assembler_receive(struct bcast_assembler *a, struct bcast_message *msg);
int bcast_assembler_poll(struct bcast_assembler *a, bcast_handler fn, void *ctx, size_t limit);
uint64_t bcast_assembler_dropped(const struct bcast_assembler *a);

/* file-backed channels */
BCAST_WARN_UNUSED
int bcast_writer_create_file(const char *path, size_t capacity, int flags,
                             struct bcast_writer **out);
BCAST_WARN_UNUSED
int bcast_writer_join_file(const char *path, int flags, struct bcast_writer **out);
BCAST_WARN_UNUSED
int bcast_writer_open_file(const char *path, size_t capacity, int flags,
                           struct bcast_writer **out);
BCAST_WARN_UNUSED
int bcast_writer_open_file_opts(const char *path, size_t capacity,
                                const struct bcast_file_options *opts, int *created,
                                struct bcast_writer **out);
BCAST_WARN_UNUSED
int bcast_reader_open_file(const char *path, int flags, struct bcast_reader **out);
BCAST_WARN_UNUSED
int bcast_reader_open_file_at(const char *path, uint64_t position, int flags,
                              struct bcast_reader **out);
BCAST_WARN_UNUSED
int bcast_reader_open_file_last_lap(const char *path, int flags, struct bcast_reader **out);

/* readers that sleep (bcast_reader_wait(3)); file channels have their wait
   area in <path>.wait, channels in caller memory in an area the caller
   shares like the channel itself */
/** Bytes of a wait area: the waiter words, the rest reserved (zero). */
#define BCAST_WAIT_AREA_SIZE 4096

int bcast_reader_wait(struct bcast_reader *r, int64_t timeout_ns);
int bcast_wait_any(struct bcast_reader *const *readers, size_t n, int64_t timeout_ns);
int bcast_reader_set_wait_spin(struct bcast_reader *r, uint64_t spin_ns);
int bcast_reader_set_wait_area(struct bcast_reader *r, void *area, size_t size);
int bcast_writer_set_wait_area(struct bcast_writer *w, void *area, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* BCAST_H */
