import CMulticore
import MulticoreSystem
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// Unlinks the shared memory blocks this process created and did not unlink, when it ends.
/// Corresponds to Python's `multiprocessing.resource_tracker`.
///
/// The tracker is a worker process, spawned with the first block, that keeps a list of names
/// sent over a pipe. When the pipe reaches end-of-file (this process exited, or was killed,
/// SIGKILL included: the kernel closes its descriptors), the tracker unlinks what is left and
/// exits. It does not ask to be killed with its parent, runs in a session and process group of
/// its own (no signal sent to its owner's group or terminal reaches it: a hang-up, a Ctrl-C,
/// `kill -9 -pgid`), and ignores every signal that would end or stop it but SIGKILL and SIGSTOP.
enum ResourceTracker {
    /// The request's type name that sends a spawned worker into `serve` instead of a task.
    static let typeName = "multicore.resource-tracker"

    enum Message: Codable {
        case register(String)
        case unregister(String)
    }

    /// This process's tracker. `owner` tells a forked child, which inherits its parent's
    /// connection, that the tracker is not its own: a block the child creates is tracked by a
    /// tracker of its own, and unlinked when the child ends, not when its parent does.
    private struct Running {
        let owner: pid_t
        let channel: Connection
    }

    private static let running = Locked<Running?>(nil)

    /// Tells this process's tracker about a block it just created, starting the tracker first
    /// (with the first block, and again if it was killed).
    /// - Throws: `SharedMemoryError.trackerUnavailable` when no tracker can be started: the
    ///   block would be left in /dev/shm if this process were killed.
    static func register(_ name: String) throws(SharedMemoryError) {
        let outcome: Result<Void, SharedMemoryError> = running.withLock { running in
            for attempt in 0..<2 {
                if running?.owner != getpid() {
                    // A forked child's copy of its parent's connection is not for it to use.
                    running?.channel.close()
                    running = nil
                    switch start() {
                    case .success(let channel): running = Running(owner: getpid(), channel: channel)
                    case .failure(let error): return .failure(error)
                    }
                }
                do {
                    try running?.channel.send(Message.register(name))
                    return .success(())
                } catch {
                    // The tracker died (killed from outside): start another one, once.
                    running?.channel.close()
                    running = nil
                    if attempt > 0 { return .failure(.trackerUnavailable(reason: "it stopped answering (\(error))")) }
                }
            }
            return .success(())
        }
        try outcome.get()
    }

    /// Tells this process's tracker that a block it created was unlinked.
    static func unregister(_ name: String) {
        running.withLock { running in
            guard let current = running, current.owner == getpid() else { return }
            try? current.channel.send(Message.unregister(name))
        }
    }

    /// Spawns a tracker and waits until it no longer dies with this process: from then on,
    /// what it tracks is cleaned up whatever happens here.
    private static func start() -> Result<Connection, SharedMemoryError> {
        let local: Connection, remote: Connection
        do { (local, remote) = try Connection.pipe() } catch {
            return .failure(.trackerUnavailable(reason: "no connection to it: \(error)"))
        }
        // Closed here at once, spawned or not: the handshake below must see the end if the tracker dies.
        let spawned = Result { () throws(ProcessError) in try SpawnLauncher.spawn(channel: remote) }
        remote.close()
        if case .failure(let error) = spawned { return .failure(.trackerUnavailable(reason: "\(error)")) }
        let request = WorkerRequest(typeName: typeName, processName: "ResourceTracker", identity: [],
                                    parentPID: getpid(), payload: [])
        guard (try? local.sendDescriptors([])) != nil, (try? local.sendBytes(request.wireBytes)) != nil,
              (try? local.recv(Bool.self)) == true else {
            return .failure(.trackerUnavailable(reason: "it ended before it was ready"))
        }
        return .success(local)
    }

    /// The tracker's life, in its own process.
    static func serve(_ connection: Connection) -> Never {
        mc_clear_parent_death_signal()
        // A terminal hang-up (SIGHUP to the whole process group) or `kill -9 -pgid` ends the
        // owner: the tracker must be elsewhere, to clean up after it.
        _ = mc_outlive_owner_signals()
        guard (try? connection.send(true)) != nil else { exit(0) }
        var names = Set<String>()
        while let message = try? connection.recv(Message.self) {
            switch message {
            case .register(let name): names.insert(name)
            case .unregister(let name): names.remove(name)
            }
        }
        for name in names { try? SharedMemoryObject.unlink("/" + name) }
        exit(0)
    }
}
