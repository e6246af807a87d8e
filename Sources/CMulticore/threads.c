#define _GNU_SOURCE
#include "CMulticore.h"

// Threads: the main thread's identity, thread ids and names, sleeping, the CPUs this process
// may use, stack size, thread count.

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_t mc_main_thread_id;

// Runs in the main thread when the library is loaded, before `main`: the only moment where
// "the main thread" can be captured without the caller's help. Priority 101: before the worker
// bootstrap (bootstrap.c), which runs a whole worker before returning.
__attribute__((constructor(101))) static void mc_capture_main_thread(void) {
    mc_main_thread_id = pthread_self();
}

int64_t mc_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// The process and thread ids, remembered: glibc's getpid() and gettid() are system calls
// (about 100 ns each here), and the process-shared locks and queues ask for them on every
// acquire. A fork gives the child new ids: the child handler, run in the child by fork() (the
// only way this library forks), forgets them. posix_spawn's child execs a new image at once.
static _Atomic int32_t mc_cached_pid;
static _Thread_local int32_t mc_cached_tid;

static void mc_forget_ids_in_child(void) {
    mc_cached_pid = 0;
    mc_cached_tid = 0;
}

__attribute__((constructor(101))) static void mc_register_fork_handler(void) {
    pthread_atfork(NULL, NULL, mc_forget_ids_in_child);
}

int32_t mc_getpid(void) {
    int32_t pid = mc_cached_pid;
    if (pid == 0) {
        pid = (int32_t)getpid();
        mc_cached_pid = pid;
    }
    return pid;
}

int32_t mc_gettid(void) {
    int32_t tid = mc_cached_tid;
    if (tid == 0) {
        tid = (int32_t)syscall(SYS_gettid);
        mc_cached_tid = tid;
    }
    return tid;
}

int mc_is_main_thread(void) { return mc_gettid() == mc_getpid(); }

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
    // Without stdio: asked before every fork, and fopen costs two more system calls and a buffer.
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buffer[1024];
    size_t length = 0;
    // One read returns the whole line (well under the buffer), unless a signal cuts it short.
    while (length < sizeof buffer - 1) {
        ssize_t got = read(fd, buffer + length, sizeof buffer - 1 - length);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        length += (size_t)got;
        if (length > 0 && buffer[length - 1] == '\n') break;
    }
    close(fd);
    buffer[length] = 0;
    // Field 20 (num_threads) counts from after the command name, which is in parentheses.
    char *cursor = strrchr(buffer, ')');
    if (cursor == NULL) return -1;
    int field = 2;
    for (cursor++; *cursor && field < 20; cursor++) if (*cursor == ' ') field++;
    return atoi(cursor);
}
