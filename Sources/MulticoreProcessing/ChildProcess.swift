import CMulticore
import Logging
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A task running in a child process with its own memory. Corresponds to Python's
/// `multiprocessing.Process`, with the task's result and error brought back to the parent.
///
/// The child is started with one of Python's start methods (`StartMethod`): spawn (a fresh
/// copy of this executable, the default; works inside `swift test`), forkserver (forked by a
/// single-threaded server) or fork (this process forked; the only way to run a closure).
/// It inherits standard output and error (its stderr is passed on through a pipe, whose last
/// 4 KiB travel with its death: `ProcessError.crashed`'s `ExitReport`), and ends with Python's
/// exit codes: 0, 1 when the task threw, -N when killed by signal N. A child never outlives its
/// parent: the kernel kills it (SIGKILL) when the parent dies, even by SIGKILL.
public final class ChildProcess<Task: ProcessTask>: ChildProcessHandle, @unchecked Sendable { // mutable state is guarded by `stateLock`
    private enum Phase { case created, running, ended, closed }

    /// The work the child runs.
    public let task: Task
    /// Python's `Process._identity`: [1] for "Process-1", [1, 2] for its second child.
    private let identity: [Int]
    private let stateLock = Lock()
    /// Serializes joiners, which read the reply and reap the child.
    private let joinLock = Lock()
    private var _name: String
    private var phase = Phase.created
    private var _pid: pid_t?
    /// Readable when the child has ended: a pidfd (spawn, fork), or the status pipe the fork
    /// server writes to (forkserver).
    private var exitDescriptor: Int32 = -1
    /// How it was started, watched and is reaped (set by `start`).
    private var launched: LaunchedChild?
    private var connection: Connection?
    private var reply: WorkerReply?
    private var replyError: String?
    /// How it ended, put together when it is reaped.
    private var exitReport: ExitReport?
    /// Its standard error, tapped from start to end (nil before start, and for a pool's worker,
    /// which sends its own to its pool).
    private var standardError: SharedTap?
    private let tapsStandardError: Bool
    /// Why this process last signalled it (`terminate`, `kill`, `interrupt`).
    private var stopRequested: ExitReason.Stop?
    private let log: ChildProcessLog
    private var _daemon: Bool
    /// How the child is started. Python: the process's context.
    public let startMethod: StartMethod

    /// Creates a process that will run `task`. Corresponds to Python's
    /// `multiprocessing.Process(target=..., args=..., name=None)`.
    /// - Parameters:
    ///   - name: defaults to "Process-N", numbered as Python numbers them.
    ///   - daemon: a daemon child is terminated when this process exits; a non-daemon child is
    ///     waited for (Python's `daemon=False`, the default).
    ///   - startMethod: nil for `getStartMethod()` (spawn unless set).
    ///   - logger: where the child's start and end are logged (debug; notice when it trapped,
    ///     crashed or was killed by another process); nil: silent.
    public convenience init(task: Task, name: String? = nil, daemon: Bool = false, startMethod: StartMethod? = nil,
                            logger: Logger? = nil) {
        self.init(task: task, name: name, kind: "Process", daemon: daemon, startMethod: startMethod, tapsStandardError: true,
                  logger: logger)
    }

    /// The public `init`, where a default name is `kind`-N ("SpawnPoolWorker" gives
    /// "SpawnPoolWorker-3", numbered as "Process-N" is). Without `tapsStandardError`, the child
    /// keeps this process's stderr as its own (a pool's worker, which redirects it itself).
    package init(task: Task, name: String?, kind: String, daemon: Bool, startMethod: StartMethod?, tapsStandardError: Bool,
                 logger: Logger?) {
        self.task = task
        self.tapsStandardError = tapsStandardError
        self.log = ChildProcessLog(logger: logger)
        self._daemon = daemon
        self.startMethod = startMethod ?? getStartMethod()
        identity = ProcessLineage.identity + [ProcessLineage.nextChildNumber()]
        self._name = name ?? kind + "-" + identity.map(String.init).joined(separator: ":")
    }

    /// Creates a process that runs `body` in a forked copy of this process (the fork start
    /// method), with everything it captured. Corresponds to Python's
    /// `multiprocessing.get_context("fork").Process(target=body)`.
    public convenience init<Output>(name: String? = nil, daemon: Bool = false, logger: Logger? = nil,
                                    forking body: @escaping @Sendable () throws -> Output) where Task == ForkClosure<Output> {
        self.init(task: ForkClosure(body), name: name, daemon: daemon, startMethod: .fork, logger: logger)
    }

    /// Creates a process that runs `body`, which returns nothing, in a forked copy of this
    /// process; its `result()` is `NoOutput()`.
    public convenience init(name: String? = nil, daemon: Bool = false, logger: Logger? = nil,
                            forking body: @escaping @Sendable () throws -> Void) where Task == ForkClosure<NoOutput> {
        self.init(task: ForkClosure { try body(); return NoOutput() }, name: name, daemon: daemon, startMethod: .fork, logger: logger)
    }

    deinit {
        closeDescriptor(exitDescriptor)
    }

    /// Readable once the child has ended (or -1 before start and after close): what a pool
    /// polls beside its workers' connections.
    package var exitFileDescriptor: Int32 { stateLock.withLock { exitDescriptor } }

    /// A descriptor that becomes readable when the child ends, to wait on beside connections
    /// (`Connection.wait`); it stays open, and ready, until `close()`. Python: `Process.sentinel`.
    /// - Throws: `ProcessError.notStarted`, `.closed`.
    public var sentinel: Int32 {
        get throws(ProcessError) {
            try stateLock.withLock { () throws(ProcessError) -> Int32 in
                switch phase {
                case .created: throw .notStarted
                case .closed: throw .closed
                case .running, .ended:
                    // Without a pidfd (very old kernels) there is nothing to wait on.
                    guard exitDescriptor >= 0 else { throw .spawnFailed(errno: Errno(rawValue: ENOSYS)) }
                    return exitDescriptor
                }
            }
        }
    }

    /// Closes the pidfd and watches the child without it, as when none could be had (for tests).
    package func dropExitDescriptorForTesting() {
        stateLock.withLock {
            guard startMethod != .forkserver, exitDescriptor >= 0 else { return }
            closeDescriptor(exitDescriptor)
            exitDescriptor = -1
        }
    }

    /// Python's `Process._identity` (for tests).
    var identityForTests: [Int] { identity }

    /// The process's name, which the child sees as its own. Python: `Process.name`.
    public var name: String { stateLock.withLock { _name } }

    /// Whether the child is terminated, rather than waited for, when this process exits.
    /// Python: `Process.daemon`.
    public var daemon: Bool { stateLock.withLock { _daemon } }

    /// Sets the daemon flag. Corresponds to assigning Python's `Process.daemon`.
    /// - Throws: `ProcessError.alreadyStarted` once the process has started.
    public func setDaemon(_ daemonic: Bool) throws(ProcessError) {
        try stateLock.withLock { () throws(ProcessError) in
            guard phase == .created else { throw .alreadyStarted }
            _daemon = daemonic
        }
    }

    /// The child's pid, nil before start. Python: `Process.pid`.
    public var pid: Int32? { stateLock.withLock { _pid } }

    /// Starts the child and hands it the task. Corresponds to Python's `Process.start()`.
    /// - Throws: `ProcessError.alreadyStarted`; `.spawnFailed`; `.forkWithThreads` (fork from a
    ///   process with other threads); an encoding error of the task (spawn and forkserver).
    public func start() throws {
        // The connections in the task travel as descriptors beside its bytes.
        let descriptors = DescriptorTable()
        var payload: [UInt8] = []
        if startMethod != .fork { payload = try WireEncoder().encode(task, descriptors: descriptors) }
        // A forked child already holds the task: no name to look up, nothing to send.
        guard let typeName = startMethod == .fork ? "" : _mangledTypeName(Task.self) else {
            throw ProcessError.taskNotFound("\(Task.self)")
        }
        if startMethod == .fork { try ForkLauncher.checkSingleThreaded() }
        try stateLock.withLock { () throws(ProcessError) in
            if phase == .closed { throw .closed }
            guard phase == .created else { throw .alreadyStarted }
            phase = .running
        }
        let (parentEnd, childEnd): (Connection, Connection)
        let standardError: ChildStandardError?
        do {
            // A forked child only answers: a pipe (cheaper to make than a socket pair). The others
            // are sent their request, and descriptors with it.
            (parentEnd, childEnd) = try Connection.pipe(duplex: startMethod != .fork)
            standardError = tapsStandardError ? try ChildStandardError() : nil
        } catch {
            stateLock.withLock { phase = .created }
            throw error
        }
        // Once the child has its own copy (or could not start): the tap's end of file is the child's.
        defer { closeDescriptor(standardError?.writeEnd ?? -1) }
        // What this process printed so far comes out before what the child prints (stdout is a
        // pipe or a file: block-buffered), with every start method, as Python flushes.
        fflush(nil)
        let launched: LaunchedChild
        do throws(ProcessError) {
            switch startMethod {
            case .spawn: launched = try SpawnLauncher.launch(channel: childEnd)
            case .forkserver: launched = try ForkServer.launch(channel: childEnd)
            case .fork:
                let request = WorkerRequest(typeName: "", processName: name, identity: identity, parentPID: mc_getpid(), payload: [])
                launched = try ForkLauncher.launch(task, as: request, parentEnd: parentEnd, childEnd: childEnd,
                                                   standardError: standardError)
            }
        } catch {
            childEnd.close()
            stateLock.withLock { phase = .created }
            throw error
        }
        childEnd.close()
        stateLock.withLock {
            _pid = launched.pid
            exitDescriptor = launched.exitDescriptor
            self.launched = launched
            connection = parentEnd
            self.standardError = standardError?.tap
        }
        Children.add(self)
        log.started(WorkerIdentity(pid: launched.pid, name: name), method: startMethod)
        guard startMethod != .fork else { return }
        // The stderr pipe's write end travels last, after the connections in the task.
        var request = WorkerRequest(typeName: typeName, processName: name, identity: identity, parentPID: mc_getpid(), payload: payload)
        request.standardError = standardError.map { _ in descriptors.descriptors.count }
        // A child that died at once has closed its end: the send fails, and join reports how it ended.
        try? parentEnd.sendDescriptors(descriptors.descriptors + (standardError.map { [$0.writeEnd] } ?? []))
        try? parentEnd.sendBytes(request.wireBytes)
    }

    /// Waits until the child ends or `timeout` passes (nil: no limit); returns whether it
    /// ended. Reads the child's result while waiting, so a child with a large result never
    /// blocks on a full pipe. Corresponds to Python's `Process.join(timeout=None)`.
    /// - Throws: `ProcessError.notStarted`, `.closed`, `.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func join(timeout: Duration? = nil) throws(ProcessError) -> Bool {
        if let timeout, timeout.isBeyondTimeoutMax { throw .timeoutTooLarge }
        let (state, exitFD, connection) = stateLock.withLock { (phase, exitDescriptor, self.connection) }
        switch state {
        case .created: throw .notStarted
        case .closed: throw .closed
        case .ended: return true
        case .running: break
        }
        let deadline = Deadline.after(timeout.map { max($0, .zero) })
        // Another joiner may be waiting already: wait for it no longer than this join's own
        // deadline (so `isAlive` never blocks), and then see whether it reaped the child.
        guard (try? joinLock.acquire(timeout: timeout.map { max($0, .zero) })) == true else {
            return stateLock.withLock { phase == .ended }
        }
        defer { try? joinLock.release() }
        // The child's stderr is read here while this joiner waits, out of the reader thread's
        // set (a child joined at once then never wakes that thread), and handed back to it if
        // the join ends first; once the child is reaped, `exitReport` reads it to its end.
        let tap = stateLock.withLock { standardError }
        if let tap { ChildOutputReader.forget(tap) }
        var tapOpen = tap != nil
        func handBack() -> Bool {
            if let tap, tapOpen { try? ChildOutputReader.watch(tap) }
            return false
        }
        while true {
            if stateLock.withLock({ phase == .ended }) { return true }
            var entries = [pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)]
            var replyIndex: Int?
            if stateLock.withLock({ reply == nil && replyError == nil }), let connection {
                replyIndex = entries.count
                entries.append(pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0))
            }
            var tapIndex: Int?
            if let tap, tapOpen {
                tapIndex = entries.count
                entries.append(pollfd(fd: tap.descriptor, events: Int16(POLLIN), revents: 0))
            }
            var milliseconds = deadline.pollMilliseconds
            // No pidfd could be had (an old kernel, no descriptor left): look every 10 ms.
            let watched = exitFD >= 0
            if !watched { milliseconds = milliseconds < 0 ? 10 : min(milliseconds, 10) }
            guard let ready = try? Poll.wait(&entries, milliseconds: milliseconds) else { return handBack() }
            if !watched, stateLock.withLock({ launched })?.hasEnded() == true { entries[0].revents = Int16(POLLIN) }
            if let tapIndex, entries[tapIndex].revents != 0, tap?.readAvailable() == true { tapOpen = false }
            if let replyIndex, entries[replyIndex].revents != 0 {
                readReply()
                // A worker exits right after its reply: wait for that on this CPU for a
                // moment rather than sleep and pay a second wake-up.
                if entries[0].revents == 0, LaunchedChild.awaitExitBriefly(exitFD) { entries[0].revents = Int16(POLLIN) }
            }
            if entries[0].revents != 0 { reap(); return true }
            if ready == 0 || deadline.hasPassed {
                if !watched, !deadline.hasPassed { continue }
                return handBack()
            }
        }
    }

    private func readReply() {
        guard let connection = stateLock.withLock({ self.connection }) else { return }
        let outcome = Result { try WorkerReply(wireBytes: connection.recvBytes()) }
        stateLock.withLock {
            switch outcome {
            case .success(let value): reply = value
            case .failure(let error): replyError = "\(error)"
            }
        }
    }

    private func reap() {
        // Reaped as its launcher decided (waitpid, or the fork server's report).
        guard let status = stateLock.withLock({ launched })?.reap() else { return }
        // The child wrote its reply before exiting: collect it if the poll did not.
        if stateLock.withLock({ reply == nil && replyError == nil }), let connection = stateLock.withLock({ self.connection }),
           (try? connection.poll()) == true {
            readReply()
        }
        let report = exitReport(status)
        Children.remove(self)
        stateLock.withLock {
            exitReport = report
            phase = .ended
            connection?.close()
            // The exit descriptor stays open (and readable) until close(): it is the sentinel.
        }
    }

    /// How the child ended, with the end of its stderr: read up to the pipe's end (a short grace
    /// after the child's, for a grandchild that holds it), so that all it wrote counts.
    private func exitReport(_ status: ChildWatch.Status) -> ExitReport {
        let (pid, name, tap, stop) = stateLock.withLock { (_pid ?? 0, _name, standardError, stopRequested) }
        let code = status.exited ? status.code : -status.code
        let (tail, fatalLine) = tap?.drain(until: .after(ChildStandardError.endGrace)) ?? ("", nil)
        let report = ExitReport(worker: WorkerIdentity(pid: pid, name: name), exitCode: code,
                                reason: ExitReason(exitCode: code, stoppedBy: stop, fatalLine: fatalLine), standardError: tail)
        log.ended(report)
        return report
    }

    /// Releases the handle once the child has ended; using it afterwards throws
    /// `ProcessError.closed`. Corresponds to Python's `Process.close()`.
    /// - Throws: `ProcessError.stillRunning` while the child runs.
    public func close() throws(ProcessError) {
        if stateLock.withLock({ phase == .closed }) { return } // closing twice is harmless
        if try isAlive { throw .stillRunning }
        stateLock.withLock {
            phase = .closed
            reply = nil
            connection = nil
            closeDescriptor(exitDescriptor)
            exitDescriptor = -1
        }
    }

    /// Whether the child is still running (false before `start`). Corresponds to Python's
    /// `Process.is_alive()`.
    /// - Throws: `ProcessError.closed` after `close()`, as Python raises `ValueError`.
    public var isAlive: Bool {
        get throws(ProcessError) {
            switch stateLock.withLock({ phase }) {
            case .closed: throw .closed
            case .running: return try join(timeout: .zero) == false
            case .created, .ended: return false
            }
        }
    }

    /// The exit code once the child ended: 0, the code it exited with (1 when the task threw),
    /// or -N when signal N killed it; nil while it runs. Corresponds to Python's `Process.exitcode`.
    /// - Throws: `ProcessError.closed` after `close()`, as Python raises `ValueError`.
    public var exitCode: Int32? {
        get throws(ProcessError) {
            _ = try isAlive
            return stateLock.withLock { exitReport?.exitCode }
        }
    }

    /// Sends SIGTERM. Corresponds to Python's `Process.terminate()`.
    public func terminate() throws(ProcessError) { try signal(SIGTERM, .terminate) }
    /// Sends SIGKILL. Corresponds to Python's `Process.kill()`.
    public func kill() throws(ProcessError) { try signal(SIGKILL, .terminate) }
    /// Sends SIGINT. Corresponds to Python's `Process.interrupt()` (3.14).
    public func interrupt() throws(ProcessError) { try signal(SIGINT, .interrupt) }

    private func signal(_ number: Int32, _ stop: ExitReason.Stop) throws(ProcessError) {
        try stateLock.withLock { () throws(ProcessError) in
            if phase == .closed { throw .closed }
            guard let pid = _pid else { throw .notStarted }
            // Until it is reaped (under this lock), the pid cannot name another process.
            if phase == .running {
                stopRequested = stop
                _ = Glibc.kill(pid, number)
            }
        }
    }

    /// What the task returned, once the child has ended.
    /// - Throws: the task's own error, as itself, when its type is `Codable` (found and decoded
    ///   here); else `ProcessError.taskFailed` with its type's name and description; `.crashed`
    ///   and `.exitedWithoutResult` with how it ended and the end of its stderr (`ExitReport`);
    ///   `.taskNotFound`; `.stillRunning`; `.notStarted`.
    public func result() throws -> Task.Output {
        let (state, reply, replyError, report) = stateLock.withLock { (phase, self.reply, self.replyError, exitReport) }
        switch state {
        case .created: throw ProcessError.notStarted
        case .running: throw ProcessError.stillRunning
        case .closed: throw ProcessError.closed
        case .ended: break
        }
        switch reply {
        case let reply?:
            return try reply.output(Task.Output.self)
        case nil:
            let report = report ?? ExitReport(worker: WorkerIdentity(pid: pid ?? 0, name: name), exitCode: -1, reason: .exited(code: -1))
            if report.exitCode < 0 { throw ProcessError.crashed(report) }
            if let replyError, report.exitCode == 0 { throw ProcessError.unreadableResult(replyError) }
            throw ProcessError.exitedWithoutResult(report)
        }
    }
}
