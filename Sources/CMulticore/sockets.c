// Stream sockets for Listener and Client (Python's multiprocessing.connection): Unix-domain and
// TCP, every descriptor close-on-exec. Each function returns a descriptor (or 0) on success and
// -errno on failure; name lookups that fail return -EADDRNOTAVAIL. None retries on EINTR: the
// system layer (MulticoreSystem) does, by calling again.
#define _GNU_SOURCE
#include "CMulticore.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

// A Unix-domain socket at `path`, listening (bind, listen) or connected.
static int mc_unix(const char *path, int backlog, int listening) {
    struct sockaddr_un address;
    size_t size = strlen(path);
    if (size == 0 || size >= sizeof(address.sun_path)) return -ENAMETOOLONG;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path, size);
    socklen_t length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + size + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int ok;
    if (listening) {
        ok = bind(fd, (struct sockaddr *)&address, length) == 0 && listen(fd, backlog) == 0;
    } else {
        ok = connect(fd, (struct sockaddr *)&address, length) == 0;
    }
    if (!ok) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int mc_listen_unix(const char *path, int backlog) { return mc_unix(path, backlog, 1); }

int mc_connect_unix(const char *path) { return mc_unix(path, 0, 0); }

// Tries each address `host`:`port` resolves to, listening (bind, listen) or connecting.
static int mc_tcp(const char *host, int port, int backlog, int listening, int *bound_port) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = listening ? AI_PASSIVE : 0;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &found) != 0 || found == NULL) return -EADDRNOTAVAIL;
    int result = -EADDRNOTAVAIL;
    for (struct addrinfo *entry = found; entry != NULL; entry = entry->ai_next) {
        int fd = socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC, entry->ai_protocol);
        if (fd < 0) { result = -errno; continue; }
        int ok;
        if (listening) {
            int yes = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)); // as Python's Listener
            ok = bind(fd, entry->ai_addr, entry->ai_addrlen) == 0 && listen(fd, backlog) == 0;
        } else {
            ok = connect(fd, entry->ai_addr, entry->ai_addrlen) == 0;
            if (ok) {
                int yes = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes)); // small messages go at once
            }
        }
        if (!ok) {
            result = -errno;
            close(fd);
            if (result == -EINTR) break; // the caller tries the whole lookup again
            continue;
        }
        if (bound_port != NULL) {
            struct sockaddr_storage local;
            socklen_t size = sizeof(local);
            if (getsockname(fd, (struct sockaddr *)&local, &size) == 0) {
                *bound_port = local.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&local)->sin6_port)
                                                          : ntohs(((struct sockaddr_in *)&local)->sin_port);
            }
        }
        result = fd;
        break;
    }
    freeaddrinfo(found);
    return result;
}

int mc_listen_tcp(const char *host, int port, int backlog, int *bound_port) {
    return mc_tcp(host, port, backlog, 1, bound_port);
}

int mc_connect_tcp(const char *host, int port) { return mc_tcp(host, port, 0, 0, NULL); }

int mc_accept(int fd) {
    int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (client < 0) return -errno;
    int yes = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes)); // fails harmlessly on a Unix socket
    return client;
}
