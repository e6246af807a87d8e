#define _GNU_SOURCE
#include "CMulticore.h"

// Threads: the main thread's identity, thread ids and names, sleeping, the CPUs this process
// may use, stack size, thread count.

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_t mc_main_thread_id;

// The calling thread's kernel id, asked of the kernel once per thread: the shared locks name
// their owner with it on every acquire and release, and a system call each time was most of
// their cost. A new thread starts with 0; a forked child forgets its parent thread's id (the
// handler below), so it never names itself with an id that is not its own.
static __thread int32_t mc_thread_id_cache;

static void mc_forget_thread_id(void) { mc_thread_id_cache = 0; }

// Runs in the main thread when the library is loaded, before `main`: the only moment where
// "the main thread" can be captured without the caller's help. Priority 101: before the worker
// bootstrap (bootstrap.c), which runs a whole worker before returning.
__attribute__((constructor(101))) static void mc_capture_main_thread(void) {
    mc_main_thread_id = pthread_self();
    pthread_atfork(NULL, NULL, mc_forget_thread_id);
}

int64_t mc_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int32_t mc_gettid(void) {
    int32_t tid = mc_thread_id_cache;
    if (tid == 0) {
        tid = (int32_t)syscall(SYS_gettid);
        mc_thread_id_cache = tid;
    }
    return tid;
}

int mc_is_main_thread(void) { return mc_gettid() == (int32_t)getpid(); }

pthread_t mc_main_pthread(void) { return mc_main_thread_id; }

int mc_thread_setname(pthread_t thread, const char *name) { return -pthread_setname_np(thread, name); }

int mc_thread_getname(pthread_t thread, char *buffer, size_t size) {
    return pthread_getname_np(thread, buffer, size);
}

int mc_sleep_until_ns(int64_t deadline_ns) {
    struct timespec deadline;
    deadline.tv_sec = (time_t)(deadline_ns / 1000000000);
    deadline.tv_nsec = (long)(deadline_ns % 1000000000);
    return -clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
}

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

int mc_thread_count(void) {
    FILE *file = fopen("/proc/self/stat", "r");
    if (file == NULL) return -1;
    char buffer[1024];
    size_t length = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    buffer[length] = 0;
    // Field 20 (num_threads) counts from after the command name, which is in parentheses.
    char *cursor = strrchr(buffer, ')');
    if (cursor == NULL) return -1;
    int field = 2;
    for (cursor++; *cursor && field < 20; cursor++) if (*cursor == ' ') field++;
    return atoi(cursor);
}
