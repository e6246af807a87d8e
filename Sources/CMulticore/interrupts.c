#define _GNU_SOURCE
#include "CMulticore.h"

// Who a Ctrl-C is for, in a worker process. Every worker (spawned, or forked by the fork
// server) starts with SIGINT blocked, so that a Ctrl-C that reaches it before it knows what it
// is (a terminal sends SIGINT to its whole foreground process group, workers included) is held
// pending, never acted on. Once the worker has read its request it settles: a pool's worker
// ignores SIGINT (setting SIG_IGN discards the pending one), as its parent decides what a
// Ctrl-C does to the pool; a plain child process takes it with the disposition it inherited,
// as Python's `Process` does. Then SIGINT is unblocked.

#include <signal.h>

// Set in a process that ignores SIGINT because it is a pool's worker (not because its own
// parent ignored it): what it starts gets the default disposition back.
static volatile sig_atomic_t mc_interrupt_left_to_parent = 0;

void mc_worker_settle_interrupt(int leave_to_parent) {
    if (leave_to_parent) {
        signal(SIGINT, SIG_IGN);
        mc_interrupt_left_to_parent = 1;
    }
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &interrupt, NULL);
}

int mc_interrupt_is_left_to_parent(void) { return mc_interrupt_left_to_parent; }

void mc_interrupt_restore_default(void) {
    if (!mc_interrupt_left_to_parent) return;
    signal(SIGINT, SIG_DFL);
    mc_interrupt_left_to_parent = 0;
}
