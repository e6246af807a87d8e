#define _GNU_SOURCE
#include "CMulticore.h"

// Child processes: forking, pidfds, waiting, signal names, a parent's death, exiting at once.

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

int mc_process_exists(int32_t id) { return kill((pid_t)id, 0) == 0 || errno != ESRCH; }

void mc_clear_parent_death_signal(void) { prctl(PR_SET_PDEATHSIG, 0); }

int mc_signal_on_parent_death(int signal, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, signal);
    return getppid() == parent ? 0 : -1;
}

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

// What a forked child calls that its parent may never have called, called through pointers the
// dynamic linker filled in when the program loaded. Through the PLT, the first call of a function
// looks its name up in every loaded library and binds it in the caller's memory only: every
// child would look up the same names again, paging in the libraries' symbol tables (a sixth of
// a forked child's page faults here).
static int (*const volatile mc_child_prctl)(int, ...) = prctl;
static pid_t (*const volatile mc_child_getppid)(void) = getppid;
static void (*const volatile mc_child_exit)(int) = _exit;

pid_t mc_fork(void) {
    // As Python does: what this process buffered must not be written twice, by it and by the child.
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        mc_child_prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (mc_child_getppid() != parent) mc_child_exit(1);
        mc_interrupt_restore_default(); // a child forked from a pool's worker takes Ctrl-C
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
    // until the worker settles who takes it.
    sigset_t interrupt, previous;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_BLOCK, &interrupt, &previous);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        // The server ignores SIGINT (a Ctrl-C is for its parent). The worker gets the default
        // back, and keeps SIGINT blocked until it knows whether it is a pool's worker (which
        // ignores it) or a plain child (which takes it, as Python's forkserver children do):
        // `mc_worker_settle_interrupt`, once its request has come.
        mc_interrupt_restore_default();
        signal(SIGINT, SIG_DFL);
        mc_close_descriptors_except(keep);
        return 0;
    }
    int error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return pid < 0 ? -error : pid;
}

void mc_exit_now(int code) {
    fflush(NULL);
    mc_child_exit(code);
    __builtin_unreachable();
}
