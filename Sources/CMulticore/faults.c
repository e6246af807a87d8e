// The fault injector's state, for tests of the system layer (MulticoreSystem/FaultInjection.swift).
// Plain words touched only with atomic builtins: no lock, no allocation, nothing to initialize,
// so a wrapped call in a forked child (before exec) can look at it safely.
#include "CMulticore.h"

int mc_fault_armed_word;

static int mc_fault_every[MC_FAULT_CALLS];
static int mc_fault_kind[MC_FAULT_CALLS];
static int mc_fault_counter[MC_FAULT_CALLS];

void mc_fault_plan(int call, int every, int kind) {
    if (call < 0 || call >= MC_FAULT_CALLS) return;
    __atomic_store_n(&mc_fault_kind[call], kind, __ATOMIC_RELAXED);
    __atomic_store_n(&mc_fault_counter[call], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&mc_fault_every[call], every, __ATOMIC_RELEASE);
}

void mc_fault_arm(int armed) { __atomic_store_n(&mc_fault_armed_word, armed, __ATOMIC_RELEASE); }

int mc_fault_calls(int call) {
    if (call < 0 || call >= MC_FAULT_CALLS) return 0;
    return __atomic_load_n(&mc_fault_counter[call], __ATOMIC_RELAXED);
}

int mc_fault_draw(int call) {
    if (call < 0 || call >= MC_FAULT_CALLS) return 0;
    int every = __atomic_load_n(&mc_fault_every[call], __ATOMIC_ACQUIRE);
    if (every <= 0) return 0;
    int count = __atomic_add_fetch(&mc_fault_counter[call], 1, __ATOMIC_RELAXED);
    return count % every == 0 ? __atomic_load_n(&mc_fault_kind[call], __ATOMIC_RELAXED) : 0;
}
