#define _GNU_SOURCE
#include "CMulticore.h"

// Spawning a worker copy of this executable, and the bootstrap that runs before `main` in
// every process of it: a worker runs its task there and exits.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
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
// Default priority: after the constructors it relies on (the CRC table, the main thread's
// identity), which run at priority 101.
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
    // SIGINT blocked, nothing else: a Ctrl-C that comes before the worker knows whether it is a
    // pool's (which ignores it) or a plain child (which takes it) waits for that decision
    // (`mc_worker_settle_interrupt`), with no window in which it would kill a pool's worker.
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    posix_spawnattr_setsigmask(&attributes, &interrupt);
    short flags = POSIX_SPAWN_SETSIGMASK;
    // A pool's worker ignores SIGINT, and exec keeps an ignored signal ignored: what it starts
    // gets the default back.
    if (mc_interrupt_is_left_to_parent()) {
        posix_spawnattr_setsigdefault(&attributes, &interrupt);
        flags |= POSIX_SPAWN_SETSIGDEF;
    }
    posix_spawnattr_setflags(&attributes, flags);

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
