import CMulticore

/// Where a worker process takes over `main`: call it at the top of main.swift, after the
/// constants and globals that tasks read, before anything starts a process. Python's
/// counterpart is the `if __name__ == "__main__":` guard of a script that uses processes.
///
/// In a worker that Multicore started (spawn, forkserver, and the workers of pools), it runs the
/// worker's task and never returns; in any other process it returns at once, and from then on
/// the workers this process starts run `main` up to this same line before their task.
///
/// Why: the top-level code of main.swift runs inside `main`, and a worker normally starts its
/// task before `main` (from a constructor), so a global of main.swift would read as zero or
/// garbage there (`let factor = 3` reads 0; an array crashes). Globals declared in any other
/// file are initialized on first use and work without this line; so do task types.
///
/// Like Python's spawn, a worker runs the code above this line again (with the program's
/// arguments): keep it to declarations and cheap set-up. It must be reached unconditionally: a
/// worker whose `main` ends without reaching it exits with status 70 and says why on stderr,
/// and one that tries to start a process before reaching it gets
/// `ProcessError.startedBeforeWorkerEntry`.
public func enterWorkerIfChild() {
    let channel = mc_take_deferred_worker()
    if channel >= 0 { multicoreWorkerMain(channel) }
    mc_enable_worker_handoff()
}

extension WorkerEntry {
    /// Whether this process is a worker whose `main` has not reached `enterWorkerIfChild()` yet.
    static var isPending: Bool { mc_worker_is_deferred() != 0 }
}

enum WorkerEntry {}
