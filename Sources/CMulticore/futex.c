#define _GNU_SOURCE
#include "CMulticore.h"

// Futexes: sleeping on a 32-bit word until it changes, in this process or in shared memory.

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// `flags` is FUTEX_PRIVATE_FLAG for a word in this process's memory, 0 for shared memory.
static int futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns, int flags) {
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (deadline_ns >= 0) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000);
        ts.tv_nsec = (long)(deadline_ns % 1000000000);
        tsp = &ts;
    }
    // FUTEX_WAIT_BITSET takes an absolute deadline, on CLOCK_MONOTONIC unless CLOCK_REALTIME is
    // asked for: a wall-clock change can neither shorten nor stretch a timeout.
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | flags, expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : -errno;
}

static int futex_wake(uint32_t *word, int32_t count, int flags) {
    long r = syscall(SYS_futex, word, FUTEX_WAKE | flags, count, NULL, NULL, 0);
    return r < 0 ? 0 : (int)r;
}

int mc_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns) {
    return futex_wait(word, expected, deadline_ns, FUTEX_PRIVATE_FLAG);
}

int mc_futex_wake(uint32_t *word, int32_t count) { return futex_wake(word, count, FUTEX_PRIVATE_FLAG); }

int mc_shared_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns) {
    return futex_wait(word, expected, deadline_ns, 0);
}

int mc_shared_futex_wake(uint32_t *word, int32_t count) { return futex_wake(word, count, 0); }
