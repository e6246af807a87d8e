import CMulticore
import MulticoreSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The fork start method's launcher: this process forks, and the child runs the task it holds
/// already, captures included. Safe only in a process with no other thread.
enum ForkLauncher {
    /// - Throws: `ProcessError.forkWithThreads` when another thread runs (the spawner's thread
    ///   and the thread that reads children's stderr do not count: `ForkGate` forks only while
    ///   they wait).
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
        do throws(Errno) { pid = try ForkGate.fork() } catch {
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

/// What a child needs to encode and send its reply, made in the parent before it forks: type
/// metadata, lazily made globals, and what the runtime learned of `Task.Output` (whether the
/// format writes it itself: a dynamic cast that reads through every conformance record of the
/// program). Each child would otherwise make them in its own copy of the memory, paying the
/// work and a page fault for every page it reads or writes on the way, once per child.
private func rehearse<Task: ProcessTask>(_: Task.Type) {
    _ = forkRehearsal
    // Asked in code generic over `Task`, as the child's `WorkerMain.reply` asks for it: the
    // witness table's slot for `Task.Output: Encodable` is filled here too.
    _ = _WireEncoder.processKind(of: Task.Output.self)
}

/// The part of `rehearse` that is the same for every task, done once: an output encoded, a reply
/// encoded, sent, received and decoded, and the C library's functions the child calls bound.
private let forkRehearsal: Void = {
    _ = try? WireEncoder().encode(0)
    // The child's first dup2 (its stderr onto the tap's pipe), bound here: onto itself, it does nothing.
    try? FileDescriptor(rawValue: STDERR_FILENO).redirect(onto: STDERR_FILENO)
    guard let (near, far) = try? Connection.pipe() else { return }
    for reply in [WorkerReply.value([0]), .failure(type: "", message: "")] {
        try? far.sendBytes(reply.wireBytes)
        _ = try? WorkerReply(wireBytes: near.recvBytes())
    }
}()
