#define _GNU_SOURCE
#include "CMulticore.h"

// Descriptors: pipes and socket pairs (close-on-exec), SIGPIPE, and descriptors passed over a
// Unix socket (SCM_RIGHTS).

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

int mc_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

int mc_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : -errno;
}

int mc_socket_send_buffer(int fd, int bytes) {
    return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) == 0 ? 0 : -errno;
}

int mc_pipe_capacity(int fd, int bytes) {
    int result = fcntl(fd, F_SETPIPE_SZ, bytes);
    return result < 0 ? -errno : result;
}

void mc_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int mc_send_descriptors(int socket, const int *fds, int count) {
    if (count < 0 || count > 253) return -EINVAL;
    char byte = 0;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buffer[CMSG_SPACE(253 * sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (count > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.buffer;
        message.msg_controllen = CMSG_SPACE((size_t)count * sizeof(int));
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN((size_t)count * sizeof(int));
        memcpy(CMSG_DATA(header), fds, (size_t)count * sizeof(int));
    }
    ssize_t sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    if (sent == 1) return 0;
    return sent < 0 ? -errno : -EIO;
}

int mc_receive_descriptors(int socket, int *fds, int capacity, int *count) {
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buffer[CMSG_SPACE(253 * sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buffer,
                              .msg_controllen = sizeof control.buffer };
    *count = 0;
    ssize_t received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received == 0) return 0;
    if (received < 0) return -errno;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *received_fds = (int *)CMSG_DATA(header);
        for (int i = 0; i < n; i++) {
            if (*count < capacity) fds[(*count)++] = received_fds[i];
            else close(received_fds[i]);
        }
    }
    return (message.msg_flags & MSG_CTRUNC) ? -EMSGSIZE : 1;
}

void mc_flush_stdout(void) { fflush(stdout); }

void mc_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
