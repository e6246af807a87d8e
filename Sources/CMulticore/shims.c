#define _GNU_SOURCE
#include "CMulticore.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_t mc_main_thread_id;

// Runs in the main thread when the library is loaded, before `main`: the only moment where
// "the main thread" can be captured without the caller's help.
__attribute__((constructor)) static void mc_capture_main_thread(void) {
    mc_main_thread_id = pthread_self();
}

int mc_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns) {
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (deadline_ns >= 0) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000);
        ts.tv_nsec = (long)(deadline_ns % 1000000000);
        tsp = &ts;
    }
    // FUTEX_WAIT_BITSET takes an absolute deadline, on CLOCK_MONOTONIC unless CLOCK_REALTIME is
    // asked for: a wall-clock change can neither shorten nor stretch a timeout.
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : errno;
}

int mc_futex_wake(uint32_t *word, int32_t count) {
    long r = syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
    return r < 0 ? 0 : (int)r;
}

int64_t mc_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int32_t mc_gettid(void) { return (int32_t)syscall(SYS_gettid); }

int mc_is_main_thread(void) { return mc_gettid() == (int32_t)getpid(); }

pthread_t mc_main_pthread(void) { return mc_main_thread_id; }

int mc_thread_setname(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }

int mc_thread_getname(pthread_t thread, char *buffer, size_t size) {
    return pthread_getname_np(thread, buffer, size);
}

void mc_sleep_ns(int64_t nanoseconds) {
    if (nanoseconds <= 0) return;
    struct timespec deadline;
    int64_t end = mc_monotonic_ns() + nanoseconds;
    deadline.tv_sec = (time_t)(end / 1000000000);
    deadline.tv_nsec = (long)(end % 1000000000);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
    }
}

#include <sched.h>

int mc_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

size_t mc_current_thread_stack_size(void) {
    pthread_attr_t attributes;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
        pthread_attr_getstacksize(&attributes, &size);
        pthread_attr_destroy(&attributes);
    }
    return size;
}
