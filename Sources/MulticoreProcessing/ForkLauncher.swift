import CMulticore
import MulticoreSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The fork start method's launcher: this process forks, and the child runs the task it holds
/// already, captures included. Safe only in a process with no other thread.
enum ForkLauncher {
    /// - Throws: `ProcessError.forkWithThreads` when another thread runs (the spawner's idle
    ///   thread does not count: it is only ever waiting for a request; nor does the thread that
    ///   reads children's stderr, whose lock the fork holds).
    static func checkSingleThreaded() throws(ProcessError) {
        let threads = Int(mc_thread_count()) - (SpawnLauncher.hasThread ? 1 : 0) - (ChildOutputReader.hasThread ? 1 : 0)
        guard threads <= 1 else { throw .forkWithThreads(count: threads) }
    }

    /// Forks this process; the child runs `task`, which it holds already, as `request` names it,
    /// with `standardError`'s write end as its standard error (nil: this process's).
    /// - Throws: `ProcessError.spawnFailed`.
    static func launch<Task: ProcessTask>(_ task: Task, as request: WorkerRequest, parentEnd: Connection, childEnd: Connection,
                                          standardError: ChildStandardError?) throws(ProcessError) -> LaunchedChild {
        _ = forkRehearsal
        let pid: pid_t
        do throws(Errno) { pid = try ChildOutputReader.aroundFork { () throws(Errno) in try Spawn.fork() } } catch {
            throw .spawnFailed(errno: error)
        }
        if pid > 0 { return .own(pid) }
        // The child: only this thread exists. It forgets its parent's children, runs the task,
        // waits for its own children, and exits without the parent's atexit handlers.
        parentEnd.close()
        if let standardError {
            closeDescriptor(standardError.tap.descriptor)
            WorkerMain.takeStandardError(standardError.writeEnd)
        }
        ProcessLineage.adopt(request)
        let reply = WorkerMain.reply(running: task)
        try? childEnd.sendBytes(reply.wireBytes)
        Children.finish()
        if case .value = reply { mc_exit_now(0) }
        mc_exit_now(1)
    }
}

/// Encodes a reply once in the parent before its first fork, so that the type metadata a child
/// needs to send its reply already exists: each child would otherwise build it in its own copy
/// of the memory, paying a page copy for every page it writes.
private let forkRehearsal: Void = {
    guard let (near, far) = try? Connection.pipe() else { return }
    for reply in [WorkerReply.value([0]), .failure(type: "", message: "")] {
        try? far.sendBytes(reply.wireBytes)
        _ = try? WorkerReply(wireBytes: near.recvBytes())
    }
}()
