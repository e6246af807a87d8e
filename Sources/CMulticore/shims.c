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

int64_t mc_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int32_t mc_gettid(void) { return (int32_t)syscall(SYS_gettid); }

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

// MARK: CRC-32C

static uint32_t mc_crc32c_table[8][256];
static int mc_crc32c_have_sse42;

__attribute__((constructor)) static void mc_crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int j = 0; j < 8; j++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        mc_crc32c_table[0][i] = crc;
    }
    for (int t = 1; t < 8; t++)
        for (uint32_t i = 0; i < 256; i++)
            mc_crc32c_table[t][i] = (mc_crc32c_table[t - 1][i] >> 8) ^ mc_crc32c_table[0][mc_crc32c_table[t - 1][i] & 0xFF];
#if defined(__x86_64__)
    __builtin_cpu_init();
    mc_crc32c_have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t mc_crc32c_hw(const uint8_t *p, size_t n, uint32_t crc) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t mc_crc32c(const void *data, size_t length, uint32_t seed) {
    const uint8_t *p = data;
    uint32_t crc = ~seed;
#if defined(__x86_64__)
    if (mc_crc32c_have_sse42) return ~mc_crc32c_hw(p, length, crc);
#endif
    while (length >= 8) {
        uint32_t low, high;
        __builtin_memcpy(&low, p, 4);
        __builtin_memcpy(&high, p + 4, 4);
        low ^= crc;
        crc = mc_crc32c_table[7][low & 0xFF] ^ mc_crc32c_table[6][(low >> 8) & 0xFF] ^
              mc_crc32c_table[5][(low >> 16) & 0xFF] ^ mc_crc32c_table[4][low >> 24] ^
              mc_crc32c_table[3][high & 0xFF] ^ mc_crc32c_table[2][(high >> 8) & 0xFF] ^
              mc_crc32c_table[1][(high >> 16) & 0xFF] ^ mc_crc32c_table[0][high >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) crc = (crc >> 8) ^ mc_crc32c_table[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

// MARK: Descriptors

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

int mc_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

int mc_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : -errno;
}

void mc_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

// MARK: Spawning a worker copy of this executable

#include <spawn.h>
#include <stdarg.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

// Defined by MulticoreProcessing (Swift, @_cdecl) in binaries that link it; weak so that
// binaries without it still link.
extern void multicore_worker_main(int fd) __attribute__((weak));

// The program's own arguments, as the loader passed them (a worker handed off to `main` gets
// them too, as Python's spawn gives its children the parent's sys.argv).
static int mc_program_argc;
static char **mc_program_argv;
// Set in a process whose `main` called `enterWorkerIfChild()`: its workers are handed off to
// `main` too, at that line, once the globals above it are set.
static int mc_handoff = 0;
// In a worker handed off to `main`: its channel, until `main` reaches `enterWorkerIfChild()`.
static int mc_deferred_channel = -1;

static void mc_deferred_worker_never_entered(void) {
    if (mc_deferred_channel < 0) return;
    static const char message[] =
        "multicore: this worker process reached the end of main without calling enterWorkerIfChild(); "
        "every worker runs main's top-level code up to that line, so it must be reached unconditionally\n";
    fflush(NULL); // what main printed before it ended
    ssize_t ignored = write(2, message, sizeof(message) - 1);
    (void)ignored;
    _exit(70);
}

// How the bootstrap ends a process that it refuses to run as a worker (see `mc_refuse`).
#define MC_BOOTSTRAP_REFUSED 77

// Says on stderr, in one line, why this process does not run as a worker, and exits with
// MC_BOOTSTRAP_REFUSED: an environment variable set by accident (or by someone else) must
// neither run anything nor fail without a word.
__attribute__((noreturn, format(printf, 1, 2))) static void mc_refuse(const char *format, ...) {
    char reason[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    char line[512];
    int length = snprintf(line, sizeof line,
                          "multicore: not starting as a worker process: %s (MULTICORE_WORKER_FD is set only by Multicore, "
                          "in the processes it starts)\n", reason);
    if (length > (int)sizeof line - 1) length = (int)sizeof line - 1;
    ssize_t ignored = write(2, line, (size_t)length);
    (void)ignored;
    _exit(MC_BOOTSTRAP_REFUSED);
}

// A positive decimal number that fits in an int, nothing else; -1 otherwise.
static int mc_parse_positive(const char *text) {
    if (text == NULL || *text == 0) return -1;
    long value = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9' || value > 100000000) return -1;
        value = value * 10 + (*c - '0');
    }
    return value > 0 && value <= 0x7fffffff ? (int)value : -1;
}

// Runs before `main` in every process of this executable: a worker spawned by Multicore (the
// environment variable names its descriptor) runs its task and exits without ever reaching
// `main`, unless its parent hands workers off to `main` (see `mc_take_deferred_worker`).
// Everything else returns at once.
//
// What it trusts: the variables are read with secure_getenv (ignored in a set-user-ID or
// set-group-ID program), the process's parent must be the pid in MULTICORE_PARENT_PID, and
// the descriptor must be a socket whose peer is that same process, with this process's user
// (SO_PEERCRED). Anything else is refused with one line on stderr and status 77.
__attribute__((constructor)) static void mc_worker_bootstrap(int argc, char **argv, char **envp) {
    (void)envp;
    mc_program_argc = argc;
    mc_program_argv = argv;
    const char *value = secure_getenv("MULTICORE_WORKER_FD");
    if (value == NULL) {
        // A set-user-ID or set-group-ID program never takes its environment's word for it (its
        // caller chose the environment): say so rather than go on into `main` unnoticed.
        if (getauxval(AT_SECURE) != 0 && getenv("MULTICORE_WORKER_FD") != NULL) {
            unsetenv("MULTICORE_WORKER_FD");
            mc_refuse("this program runs set-user-ID or set-group-ID, and takes no worker from its environment");
        }
        return;
    }
    int fd = mc_parse_positive(value);
    pid_t expected = (pid_t)mc_parse_positive(secure_getenv("MULTICORE_PARENT_PID"));
    const char *handoff = secure_getenv("MULTICORE_WORKER_HANDOFF");
    int deferred = handoff != NULL && strcmp(handoff, "1") == 0;
    unsetenv("MULTICORE_WORKER_FD"); // not inherited by what the task itself starts
    unsetenv("MULTICORE_PARENT_PID");
    unsetenv("MULTICORE_WORKER_HANDOFF");
    // No orphans: the kernel kills this worker when the thread that spawned it ends (Multicore
    // spawns from one long-lived thread), and a parent that died before this line is noticed by
    // the getppid check.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fd < 0) mc_refuse("MULTICORE_WORKER_FD is not a descriptor number");
    if (expected <= 0) mc_refuse("MULTICORE_PARENT_PID is missing or not a process id");
    pid_t parent = getppid();
    if (parent != expected) {
        // The parent that spawned this worker died already: nobody waits for it.
        if (kill(expected, 0) != 0 && errno == ESRCH) _exit(1);
        mc_refuse("its parent is process %d, not %d", (int)parent, (int)expected);
    }
    struct ucred peer;
    socklen_t size = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
        mc_refuse("descriptor %d is not a socket from its parent (%s)", fd, strerror(errno));
    }
    if (peer.pid != expected || peer.uid != getuid()) {
        mc_refuse("the socket on descriptor %d comes from process %d (user %u), not from its parent %d (user %u)", fd,
                  (int)peer.pid, (unsigned)peer.uid, (int)expected, (unsigned)getuid());
    }
    if (multicore_worker_main == NULL) {
        static const char message[] = "multicore: not starting as a worker process: this executable does not link MulticoreProcessing\n";
        ssize_t ignored = write(2, message, sizeof(message) - 1);
        (void)ignored;
        _exit(127);
    }
    if (deferred) {
        // `main` runs its top-level code (setting the globals of main.swift) and hands over at
        // `enterWorkerIfChild()`; a `main` that never gets there must not go on as the program.
        mc_deferred_channel = fd;
        mc_handoff = 1; // what this worker starts is handed off too
        atexit(mc_deferred_worker_never_entered);
        return;
    }
    multicore_worker_main(fd);
    _exit(0);
}

int mc_take_deferred_worker(void) {
    int fd = mc_deferred_channel;
    mc_deferred_channel = -1;
    return fd;
}

int mc_worker_is_deferred(void) { return mc_deferred_channel >= 0; }

void mc_enable_worker_handoff(void) { mc_handoff = 1; }

int mc_spawn_worker(int channel, pid_t *pid) {
    // The channel becomes the child's descriptor 3. One at 3 or below is first moved above it
    // (to the lowest free descriptor from 4: this works under any RLIMIT_NOFILE that lets the
    // parent open the channel at all), so that dup2 onto 3 never clobbers its own source.
    int high = channel;
    if (channel <= 3) {
        high = fcntl(channel, F_DUPFD_CLOEXEC, 4);
        if (high < 0) return -errno;
    }

    size_t count = 0;
    while (environ[count] != NULL) count++;
    char **env = calloc(count + 5, sizeof(char *));
    if (env == NULL) {
        if (high != channel) close(high);
        return -ENOMEM;
    }
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        if (strncmp(environ[i], "MULTICORE_WORKER_FD=", 20) == 0) continue;
        if (strncmp(environ[i], "SWIFT_BACKTRACE=", 16) == 0) continue;
        if (strncmp(environ[i], "MULTICORE_PARENT_PID=", 21) == 0) continue;
        if (strncmp(environ[i], "MULTICORE_WORKER_HANDOFF=", 25) == 0) continue;
        env[used++] = environ[i];
    }
    char parent[48];
    snprintf(parent, sizeof(parent), "MULTICORE_PARENT_PID=%d", (int)getpid());
    env[used++] = parent;
    env[used++] = "MULTICORE_WORKER_FD=3";
    // A crashing worker is reported by its signal; the backtracer would delay that by ~10 ms.
    env[used++] = "SWIFT_BACKTRACE=enable=no";
    if (mc_handoff) env[used++] = "MULTICORE_WORKER_HANDOFF=1";
    env[used] = NULL;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, high, 3);
    // Nothing else of this process's reaches the child, close-on-exec or not (a launching
    // shell's descriptors, a library's pipe): standard input, output and error and the channel.
    int closing = posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    if (closing != 0) {
        posix_spawn_file_actions_destroy(&actions);
        free(env);
        if (high != channel) close(high);
        return -closing;
    }

    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);

    // A worker handed off to `main` runs main's top-level code first: with the program's own
    // arguments, as the parent's did. Otherwise the name says what the process is.
    char *worker_argv[] = {"multicore-worker", NULL};
    char **argv = mc_handoff && mc_program_argv != NULL ? mc_program_argv : worker_argv;
    int result = posix_spawn(pid, "/proc/self/exe", &actions, &attributes, argv, env);

    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    if (high != channel) close(high);
    return -result;
}

int mc_pidfd_open(pid_t pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int mc_child_ended(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0) return -errno;
    return info.si_pid == pid ? 1 : 0;
}

int mc_wait_status(pid_t pid, int *exited, int *code, int nohang) {
    int status = 0;
    pid_t r = waitpid(pid, &status, nohang ? WNOHANG : 0);
    if (r < 0) return -errno;
    if (r == 0) return 0;
    if (WIFEXITED(status)) { *exited = 1; *code = WEXITSTATUS(status); }
    else if (WIFSIGNALED(status)) { *exited = 0; *code = WTERMSIG(status); }
    else { return 0; }
    return 1;
}

const char *mc_signal_name(int signal) {
    const char *abbrev = sigabbrev_np(signal);
    return abbrev ? abbrev : "unknown";
}

// MARK: Shared memory

#include <sys/mman.h>
#include <sys/stat.h>

int mc_shm_open(const char *name, int create, int exclusive, size_t size, int allocate, size_t *actual_size) {
    int flags = O_RDWR | O_CLOEXEC;
    if (create) flags |= O_CREAT | (exclusive ? O_EXCL : 0);
    int fd = shm_open(name, flags, 0600);
    if (fd < 0) return -errno;
    if (create) {
        int error = ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
        if (error == 0 && allocate) error = posix_fallocate(fd, 0, (off_t)size);
        if (error != 0) {
            close(fd);
            shm_unlink(name);
            return -error;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    *actual_size = (size_t)st.st_size;
    return fd;
}

int mc_shm_unlink(const char *name) { return shm_unlink(name) == 0 ? 0 : -errno; }

int mc_map_shared(int fd, size_t size, void **address) {
    void *mapped = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) return -errno;
    *address = mapped;
    return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int mc_populate_shared(void *address, size_t length) {
    // madvise works on whole pages: widen the range to its pages (within the same mapping).
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)address & ~(page - 1);
    uintptr_t end = ((uintptr_t)address + length + page - 1) & ~(page - 1);
    return madvise((void *)start, end - start, MADV_POPULATE_WRITE) == 0 ? 0 : -errno;
}

int mc_discard_shared(void *address, size_t length) {
    // Only the whole pages inside the range: a page partly outside may hold live data.
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)address + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)address + length) & ~(page - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_REMOVE) == 0 ? 0 : -errno;
}

int mc_process_exists(int32_t id) { return kill((pid_t)id, 0) == 0 || errno != ESRCH; }

void mc_clear_parent_death_signal(void) { prctl(PR_SET_PDEATHSIG, 0); }

int mc_outlive_owner_signals(void) {
    // A session (and so a process group) of its own: what is sent to the owner's process group
    // (a terminal's SIGHUP or Ctrl-C, `kill -- -pgid`, SIGKILL included) does not reach it.
    int result = setsid() < 0 ? -errno : 0;
    // And what is sent to it alone, by mistake, does not end or stop it either.
    static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTSTP,
                                   SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) signal(ignored[i], SIG_IGN);
    return result;
}

// MARK: Passing descriptors

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

// MARK: Forking

pid_t mc_fork(void) {
    // As Python does: what this process buffered must not be written twice, by it and by the child.
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
    }
    return pid;
}

// Closes every descriptor from 3 up, except `keep`.
static void mc_close_descriptors_except(int keep) {
    unsigned int first = 3;
    if (keep >= 3) {
        if ((unsigned int)keep > first && close_range(first, (unsigned int)keep - 1, 0) != 0) goto fallback;
        first = (unsigned int)keep + 1;
    }
    if (close_range(first, ~0U, 0) == 0) return;
fallback:
    // A kernel without close_range (before 5.9): one by one, up to the descriptor limit.
    for (long fd = 3, last = sysconf(_SC_OPEN_MAX); fd < last; fd++) {
        if (fd != keep) close((int)fd);
    }
}

pid_t mc_fork_server_worker(int keep) {
    fflush(NULL);
    // SIGINT stays blocked across the fork: one sent to the new worker before it restored the
    // default disposition is then held pending (a blocked signal is never discarded as ignored),
    // and delivered when the worker unblocks it.
    sigset_t interrupt, previous;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_BLOCK, &interrupt, &previous);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        // The server ignores SIGINT (a Ctrl-C is for its parent); a worker takes it as any
        // process does, as Python's forkserver children do.
        signal(SIGINT, SIG_DFL);
        mc_close_descriptors_except(keep);
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        return 0;
    }
    int error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return pid < 0 ? -error : pid;
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

void mc_exit_now(int code) {
    fflush(NULL);
    _exit(code);
}
