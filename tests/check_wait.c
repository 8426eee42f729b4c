/*
 * check_wait: readers that sleep (bcast_reader_wait, bcast_wait_any and the
 * wait areas): a send wakes a sleeper in another thread and in another
 * process, over caller memory and over files; timeouts, signals, several
 * readers and several channels; a writer that never wakes (as one that
 * does not know the wait area) is waited for by polling; a writer killed
 * while readers sleep leaves them to their timeouts; the writer's
 * wake-ups are at most the sleep episodes.  Timings are never asserted
 * beyond "it waited at least as long as it was asked to".
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include "test-dirs.h"

#include <bcast.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core-helpers.h"
#include "suite-main.h"

#define SEC 1000000000LL
#define OFF_NEED_WAKE 128
#define OFF_SEQ 132
#define OFF_ARMS 136

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* a channel and its wait area in one shared anonymous mapping, so that a
   fork()ed process shares both */
struct shared_chan {
    uint8_t *map;
    uint8_t *area;
    uint8_t *mem;
    size_t size, map_len;
};

static struct shared_chan shared_chan(size_t cap)
{
    struct shared_chan c;

    c.size = bcast_channel_size(cap);
    c.map_len = BCAST_WAIT_AREA_SIZE + c.size;
    c.map = mmap(NULL, c.map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(c.map, MAP_FAILED);
    c.area = c.map;
    c.mem = c.map + BCAST_WAIT_AREA_SIZE;
    return c;
}

static void shared_free(struct shared_chan *c)
{
    munmap(c->map, c->map_len);
}

/* a word of the wait area, loaded as the library stores it: atomically */
static uint32_t area_word(const struct shared_chan *c, size_t off)
{
    uint32_t v = __atomic_load_n((const uint32_t *)(const void *)(c->area + off),
                                 __ATOMIC_ACQUIRE);
    return get32((const uint8_t *)&v);
}

static struct bcast_writer *shared_writer(struct shared_chan *c, int with_area)
{
    struct bcast_writer *w = NULL;

    ck_assert_int_eq(bcast_writer_create(c->mem, c->size, NULL, 0, &w), 0);
    if (with_area)
        ck_assert_int_eq(bcast_writer_set_wait_area(w, c->area, BCAST_WAIT_AREA_SIZE), 0);
    return w;
}

static struct bcast_reader *shared_reader(struct shared_chan *c)
{
    struct bcast_reader *r = NULL;

    ck_assert_int_eq(bcast_reader_open(c->mem, c->size, &r), 0);
    ck_assert_int_eq(bcast_reader_set_wait_area(r, c->area, BCAST_WAIT_AREA_SIZE), 0);
    ck_assert_int_eq(bcast_reader_set_wait_spin(r, 0), 0); /* sleep at once */
    return r;
}

/* ------------------------------------------------------------------ */
/* arguments                                                           */

START_TEST(test_wait_einval)
{
    struct shared_chan c = shared_chan(4096);
    struct bcast_writer *w = shared_writer(&c, 0);
    struct bcast_reader *r = shared_reader(&c), *rs[2] = {r, NULL};
    struct bcast_reader *many[129];
    struct bcast_writer *fw;
    struct bcast_reader *fr;

    ck_assert_int_eq(bcast_reader_wait(NULL, 0), -EINVAL);
    ck_assert_int_eq(bcast_reader_set_wait_spin(NULL, 10), -EINVAL);
    ck_assert_int_eq(bcast_wait_any(NULL, 1, 0), -EINVAL);
    ck_assert_int_eq(bcast_wait_any(rs, 0, 0), -EINVAL);
    ck_assert_int_eq(bcast_wait_any(rs, 2, 0), -EINVAL); /* a NULL reader */
    for (int i = 0; i < 129; i++)
        many[i] = r;
    ck_assert_int_eq(bcast_wait_any(many, 129, 0), -EINVAL);
    ck_assert_int_eq(bcast_wait_any(many, 128, 0), -ETIMEDOUT);
    /* areas: NULL handles, misaligned, wrong sizes */
    ck_assert_int_eq(bcast_reader_set_wait_area(NULL, c.area, BCAST_WAIT_AREA_SIZE), -EINVAL);
    ck_assert_int_eq(bcast_writer_set_wait_area(NULL, c.area, BCAST_WAIT_AREA_SIZE), -EINVAL);
    ck_assert_int_eq(bcast_reader_set_wait_area(r, c.area + 8, BCAST_WAIT_AREA_SIZE), -EINVAL);
    ck_assert_int_eq(bcast_writer_set_wait_area(w, c.area + 8, BCAST_WAIT_AREA_SIZE), -EINVAL);
    ck_assert_int_eq(bcast_reader_set_wait_area(r, c.area, BCAST_WAIT_AREA_SIZE - 1), -EINVAL);
    ck_assert_int_eq(bcast_writer_set_wait_area(w, c.area, 0), -EINVAL);
    ck_assert_int_eq(bcast_reader_set_wait_area(r, c.area, SIZE_MAX), -EINVAL);
    /* NULL removes an area */
    ck_assert_int_eq(bcast_writer_set_wait_area(w, NULL, 0), 0);
    ck_assert_int_eq(bcast_reader_set_wait_area(r, NULL, 0), 0);
    /* file channels have theirs in <path>.wait */
    ck_assert_int_eq(bcast_writer_create_file(tpath("ch"), 4096, 0, &fw), 0);
    ck_assert_int_eq(bcast_reader_open_file(tpath("ch"), 0, &fr), 0);
    ck_assert_int_eq(bcast_writer_set_wait_area(fw, c.area, BCAST_WAIT_AREA_SIZE), -EINVAL);
    ck_assert_int_eq(bcast_reader_set_wait_area(fr, c.area, BCAST_WAIT_AREA_SIZE), -EINVAL);
    bcast_reader_close(fr);
    bcast_writer_close(fw);
    bcast_reader_close(r);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

/* something to read: at once, whatever the timeout; nothing: the timeout */
START_TEST(test_wait_ready_and_timeout)
{
    struct shared_chan c = shared_chan(4096);
    struct bcast_writer *w = shared_writer(&c, 1);
    struct bcast_reader *r = shared_reader(&c);
    uint8_t buf[64];
    int64_t t0;

    ck_assert_int_eq(bcast_reader_wait(r, 0), -ETIMEDOUT);
    t0 = now_ns();
    ck_assert_int_eq(bcast_reader_wait(r, 30 * 1000000LL), -ETIMEDOUT);
    ck_assert_int_ge(now_ns() - t0, 30 * 1000000LL);
    send_seq(w, 1, 20);
    ck_assert_int_eq(bcast_reader_wait(r, 0), 0);
    ck_assert_int_eq(bcast_reader_wait(r, -1), 0); /* forever, but there is a message */
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), 20);
    ck_assert_int_eq(bcast_reader_wait(r, 0), -ETIMEDOUT);
    /* an overrun is something to read too */
    for (uint64_t s = 0; s < 400; s++)
        send_seq(w, s, 20);
    ck_assert_int_eq(bcast_reader_wait(r, -1), 0);
    ck_assert_int_eq(bcast_reader_receive(r, buf, sizeof buf, NULL), -ENOBUFS);
    bcast_reader_close(r);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a send wakes a sleeper                                              */

/* a reader thread; timeout and got are shared with the test's thread and
   accessed atomically */
struct waiter {
    struct bcast_reader *r;
    int64_t timeout;
    int rounds;
    int rc;      /* of the last wait */
    int got;     /* messages received */
};

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static void *waiter_main(void *p)
{
    struct waiter *x = p;
    uint8_t buf[512];

    for (int i = 0; i < x->rounds; i++) {
        x->rc = bcast_reader_wait(x->r, LOAD(x->timeout));
        if (x->rc < 0)
            break;
        for (;;) {
            ssize_t n = bcast_reader_receive(x->r, buf, sizeof buf, NULL);
            if (n == -ENOBUFS) { /* a writer at full speed may lap it */
                bcast_reader_reset(x->r);
                continue;
            }
            if (n < 0)
                break;
            STORE(x->got, LOAD(x->got) + 1);
        }
    }
    return NULL;
}

START_TEST(test_send_wakes_thread)
{
    struct shared_chan c = shared_chan(65536);
    struct bcast_writer *w = shared_writer(&c, 1);
    struct waiter x = {shared_reader(&c), 20 * SEC, 5, 0, 0};
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &x), 0);
    for (int i = 0; i < 5; i++) {
        /* the reader goes to sleep; one send wakes it */
        while (area_word(&c, OFF_ARMS) <= (uint32_t)i)
            nap_ms(1);
        nap_ms(5);
        send_seq(w, (uint64_t)i, 24);
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(x.rc, 0);
    ck_assert_int_eq(x.got, 5);
    /* every send found the sleeper's announcement and woke it (the writer's
       attach made seq 1), and no wake-up is more than an episode */
    ck_assert_uint_ge(area_word(&c, OFF_SEQ), 1 + 5);
    ck_assert_uint_ge(area_word(&c, OFF_ARMS), 5);
    ck_assert_uint_le(area_word(&c, OFF_SEQ), area_word(&c, OFF_ARMS) + 1);
    bcast_reader_close(x.r);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

/* a sleeper in another process, over a file channel and its <path>.wait */
START_TEST(test_send_wakes_process_file)
{
    const char *path = tpath("ch");
    struct bcast_writer *w;
    struct bcast_reader *r;
    int pipefd[2], status;
    pid_t pid;

    ck_assert_int_eq(bcast_writer_create_file(path, 65536, 0, &w), 0);
    ck_assert_int_eq(access(tpath("ch.wait"), F_OK), 0);
    ck_assert_int_eq(pipe(pipefd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint8_t buf[512];
        int got = 0;
        char c = 'r';

        if (bcast_reader_open_file(path, 0, &r) < 0 || bcast_reader_set_wait_spin(r, 0) < 0)
            _exit(2);
        if (write(pipefd[1], &c, 1) != 1)
            _exit(2);
        while (got < 200) {
            ssize_t n;
            if (bcast_reader_wait(r, 20 * SEC) < 0)
                _exit(3);
            while ((n = bcast_reader_receive(r, buf, sizeof buf, NULL)) >= 0) {
                if (n != 40 || seq_check((uint64_t)got, buf, 40) != 40)
                    _exit(4);
                got++;
            }
        }
        bcast_reader_close(r);
        _exit(0);
    }
    {
        char c;
        ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
    }
    for (int i = 0; i < 200; i++) {
        if (i % 20 == 0)
            nap_ms(2); /* let it fall asleep now and then */
        send_seq(w, (uint64_t)i, 40);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    close(pipefd[0]);
    close(pipefd[1]);
    bcast_writer_close(w);
}
END_TEST

/* caller memory shared with a fork()ed reader: the futex is shared.  The
   child is forked before the writer exists, so that it owns nothing of
   the parent's (memcheck follows it and checks its leaks at exit). */
START_TEST(test_send_wakes_process_fork)
{
    struct shared_chan c = shared_chan(4096);
    struct bcast_writer *w;
    int status;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct bcast_reader *r = NULL;
        uint8_t buf[64];
        int got = 0, rc;

        /* -EAGAIN until the parent's writer has made the channel */
        while ((rc = bcast_reader_open_at(c.mem, c.size, 0, &r)) == -EAGAIN)
            nap_ms(1);
        if (rc < 0 || bcast_reader_set_wait_area(r, c.area, BCAST_WAIT_AREA_SIZE) < 0 ||
            bcast_reader_set_wait_spin(r, 0) < 0)
            _exit(2);
        while (got < 50) {
            if (bcast_reader_wait(r, 20 * SEC) < 0)
                _exit(3);
            while (bcast_reader_receive(r, buf, sizeof buf, NULL) >= 0)
                got++;
        }
        bcast_reader_close(r);
        _exit(0);
    }
    w = shared_writer(&c, 1);
    for (int i = 0; i < 50; i++) {
        nap_ms(1);
        send_seq(w, (uint64_t)i, 16);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* writers that never wake                                             */

/* a writer that does not take the wait area (as a writer that does not
   know it): the reader polls, and still returns for the message */
START_TEST(test_writer_without_area_polled)
{
    struct shared_chan c = shared_chan(4096);
    struct bcast_writer *w = shared_writer(&c, 0);
    struct waiter x = {shared_reader(&c), 20 * SEC, 1, 0, 0};
    pthread_t th;

    ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &x), 0);
    nap_ms(20);
    send_seq(w, 7, 24);
    pthread_join(th, NULL);
    ck_assert_int_eq(x.rc, 0);
    ck_assert_int_eq(x.got, 1);
    ck_assert_uint_eq(area_word(&c, OFF_ARMS), 0); /* nobody armed: it polled */
    /* a file reader whose <path>.wait is gone polls the same way */
    {
        struct bcast_writer *fw;
        struct bcast_reader *fr;
        uint8_t buf[64];

        ck_assert_int_eq(bcast_writer_create_file(tpath("ch"), 4096, 0, &fw), 0);
        ck_assert_int_eq(unlink(tpath("ch.wait")), 0);
        ck_assert_int_eq(bcast_reader_open_file(tpath("ch"), 0, &fr), 0);
        ck_assert_int_eq(bcast_reader_wait(fr, 20 * 1000000LL), -ETIMEDOUT);
        send_seq(fw, 1, 8);
        ck_assert_int_eq(bcast_reader_wait(fr, 20 * SEC), 0);
        ck_assert_int_eq(bcast_reader_receive(fr, buf, sizeof buf, NULL), 8);
        /* a waking writer comes back and makes <path>.wait again: the
           reader finds it (it looks once a second) and sleeps on it */
        bcast_writer_close(fw);
        ck_assert_int_eq(bcast_writer_join_file(tpath("ch"), 0, &fw), 0);
        ck_assert_int_eq(access(tpath("ch.wait"), F_OK), 0);
        nap_ms(1100);
        ck_assert_int_eq(bcast_reader_set_wait_spin(fr, 0), 0);
        ck_assert_int_eq(bcast_reader_wait(fr, 20 * 1000000LL), -ETIMEDOUT);
        {
            int fd = open(tpath("ch.wait"), O_RDONLY);
            uint8_t arms[4];

            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(pread(fd, arms, 4, OFF_ARMS), 4);
            ck_assert_uint_ge(get32(arms), 1);
            close(fd);
        }
        bcast_reader_close(fr);
        bcast_writer_close(fw);
    }
    bcast_reader_close(x.r);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

/* the writer is killed while readers sleep: they return by their timeout */
START_TEST(test_writer_killed_while_sleeping)
{
    const char *path = tpath("ch");
    struct bcast_reader *r;
    int status, pipefd[2];
    int64_t t0;
    char c;
    pid_t pid;

    ck_assert_int_eq(pipe(pipefd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct bcast_writer *w;
        if (bcast_writer_create_file(path, 4096, 0, &w) < 0)
            _exit(2);
        send_seq(w, 0, 8);
        if (write(pipefd[1], "w", 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
    ck_assert_int_eq(bcast_reader_open_file(path, 0, &r), 0);
    ck_assert_int_eq(bcast_reader_set_wait_spin(r, 0), 0);
    ck_assert_int_eq(bcast_reader_wait(r, 10 * 1000000LL), -ETIMEDOUT); /* armed */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    t0 = now_ns();
    ck_assert_int_eq(bcast_reader_wait(r, 50 * 1000000LL), -ETIMEDOUT);
    ck_assert_int_ge(now_ns() - t0, 50 * 1000000LL);
    bcast_reader_close(r);
    close(pipefd[0]);
    close(pipefd[1]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* several readers, several channels, signals                          */

START_TEST(test_several_readers)
{
    struct shared_chan c = shared_chan(65536);
    struct bcast_writer *w = shared_writer(&c, 1);
    struct waiter x[4];
    pthread_t th[4];

    for (int i = 0; i < 4; i++) {
        x[i] = (struct waiter){shared_reader(&c), 20 * SEC, 1000000, 0, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, waiter_main, &x[i]), 0);
    }
    /* bursts with pauses between, so the readers go to sleep and wake */
    for (int b = 0; b < 50; b++) {
        for (int i = 0; i < 20; i++)
            send_seq(w, (uint64_t)(b * 20 + i), 32);
        nap_ms(1);
    }
    /* the last message tells them to stop: a timeout of 0 after it */
    for (int i = 0; i < 4; i++) {
        while (LOAD(x[i].got) < 1000)
            nap_ms(1);
        STORE(x[i].timeout, 0);
    }
    send_seq(w, 1000, 32);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_ge(x[i].got, 1000);
        bcast_reader_close(x[i].r);
    }
    /* wake-ups never outnumber sleep episodes */
    ck_assert_uint_le(area_word(&c, OFF_SEQ), area_word(&c, OFF_ARMS) + 1);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

struct any_waiter {
    struct bcast_reader *rs[3];
    int rc;
};

static void *any_main(void *p)
{
    struct any_waiter *a = p;

    a->rc = bcast_wait_any(a->rs, 3, 20 * SEC);
    return NULL;
}

START_TEST(test_wait_any)
{
    struct shared_chan c[3];
    struct bcast_writer *w[3];
    struct any_waiter a;
    pthread_t th;

    for (int i = 0; i < 3; i++) {
        c[i] = shared_chan(4096);
        w[i] = shared_writer(&c[i], 1);
        a.rs[i] = shared_reader(&c[i]);
    }
    ck_assert_int_eq(bcast_wait_any(a.rs, 3, 0), -ETIMEDOUT);
    send_seq(w[1], 1, 8);
    ck_assert_int_eq(bcast_wait_any(a.rs, 3, 0), 1);
    ck_assert_int_eq(bcast_reader_skip(a.rs[1]), 0);
    ck_assert_int_eq(pthread_create(&th, NULL, any_main, &a), 0);
    while (area_word(&c[2], OFF_ARMS) == 0)
        nap_ms(1);
    nap_ms(5);
    send_seq(w[2], 2, 8);
    pthread_join(th, NULL);
    ck_assert_int_eq(a.rc, 2);
    for (int i = 0; i < 3; i++) {
        bcast_reader_close(a.rs[i]);
        bcast_writer_close(w[i]);
        shared_free(&c[i]);
    }
}
END_TEST

static void on_usr1(int sig)
{
    (void)sig;
}

START_TEST(test_wait_eintr)
{
    struct shared_chan c = shared_chan(4096);
    struct bcast_writer *w = shared_writer(&c, 1);
    struct waiter x = {shared_reader(&c), 20 * SEC, 1, 1, 0};
    struct sigaction sa;
    pthread_t th;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &x), 0);
    while (area_word(&c, OFF_ARMS) == 0)
        nap_ms(1);
    nap_ms(5);
    ck_assert_int_eq(pthread_kill(th, SIGUSR1), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(x.rc, -EINTR);
    bcast_reader_close(x.r);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

/* the writer at full speed with sleepers: wake-ups <= sleep episodes, and
   the sleepers see every message the ring still holds */
START_TEST(test_wakes_coalesced)
{
    struct shared_chan c = shared_chan(1 << 20);
    struct bcast_writer *w = shared_writer(&c, 1);
    struct waiter x[2];
    pthread_t th[2];
    uint32_t seq0 = area_word(&c, OFF_SEQ);

    for (int i = 0; i < 2; i++) {
        x[i] = (struct waiter){shared_reader(&c), 20 * SEC, 1000000000, 0, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, waiter_main, &x[i]), 0);
    }
    for (uint64_t s = 0; s < 200000; s++)
        send_seq(w, s, 24);
    for (int i = 0; i < 2; i++)
        STORE(x[i].timeout, 0);
    send_seq(w, 200000, 24);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        bcast_reader_close(x[i].r);
    }
    ck_assert_uint_le(area_word(&c, OFF_SEQ) - seq0, area_word(&c, OFF_ARMS));
    ck_assert_uint_eq(area_word(&c, OFF_NEED_WAKE) <= 1, 1);
    bcast_writer_close(w);
    shared_free(&c);
}
END_TEST

SUITE(wait)
{
    TCase *tc = suite_case(s, "wait", 60);

    test_dirs(tc, "wait");
    tcase_add_test(tc, test_wait_einval);
    tcase_add_test(tc, test_wait_ready_and_timeout);
    tcase_add_test(tc, test_send_wakes_thread);
    tcase_add_test(tc, test_send_wakes_process_file);
    tcase_add_test(tc, test_send_wakes_process_fork);
    tcase_add_test(tc, test_writer_without_area_polled);
    tcase_add_test(tc, test_writer_killed_while_sleeping);
    tcase_add_test(tc, test_several_readers);
    tcase_add_test(tc, test_wait_any);
    tcase_add_test(tc, test_wait_eintr);
    tcase_add_test(tc, test_wakes_coalesced);
}
