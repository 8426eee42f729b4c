/*
 * fork()ed children of the suites that run processes: their failed
 * requirements and their exit status.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef BCAST_TEST_CHILDREN_H
#define BCAST_TEST_CHILDREN_H

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* in a child: a requirement that fails ends it with status 1 */
#define CHILD_REQUIRE(c)                                                              \
    do {                                                                              \
        if (!(c)) {                                                                   \
            fprintf(stderr, "%s:%d: child %d: failed: %s\n", __FILE__, __LINE__,     \
                    (int)getpid(), #c);                                               \
            _exit(1);                                                                 \
        }                                                                             \
    } while (0)

/* exit status of a child, 128 + signal if it was killed */
static inline int wait_child(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

#endif /* BCAST_TEST_CHILDREN_H */
