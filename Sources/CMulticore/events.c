#define _GNU_SOURCE
#include "CMulticore.h"

// epoll(7): a set of descriptors one or more threads wait on. Swift does not import
// `struct epoll_event` reliably (it is packed on x86-64), so the shims take and give plain values.

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

int mc_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int mc_epoll_add(int epfd, int fd, int mode, uint64_t tag) {
    uint32_t events = EPOLLIN;
    if (mode == 1) events |= EPOLLEXCLUSIVE;
    if (mode == 2) events |= EPOLLONESHOT;
    struct epoll_event event = { .events = events };
    event.data.u64 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

int mc_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

int mc_epoll_arm(int epfd, int fd, int armed, uint64_t tag) {
    struct epoll_event event = { .events = armed ? (EPOLLIN | EPOLLONESHOT) : EPOLLONESHOT };
    event.data.u64 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) == 0 ? 0 : -errno;
}

int mc_epoll_wait(int epfd, uint64_t *tags, int capacity, int64_t timeout_ns) {
    struct epoll_event events[8];
    if (capacity > 8) capacity = 8;
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    int n = epoll_pwait2(epfd, events, capacity, tsp, NULL);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) tags[i] = events[i].data.u64;
    return n;
}
