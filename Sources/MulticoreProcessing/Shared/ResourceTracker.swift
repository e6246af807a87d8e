import CMulticore
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
/// exits. It ignores SIGINT and SIGTERM, and does not ask to be killed with its parent.
enum ResourceTracker {
    /// The request's type name that sends a spawned worker into `serve` instead of a task.
    static let typeName = "multicore.resource-tracker"

    enum Message: Codable {
        case register(String)
        case unregister(String)
    }

    /// The connection to this process's tracker; nil when it could not be started (blocks are
    /// then still unlinked by their handles, but not after a crash).
    private static let channel: Connection? = {
        guard let (local, remote) = try? Connection.pipe() else { return nil }
        let spawned = Spawner.spawn(channel: remote)
        remote.close()
        guard case .success = spawned else { return nil }
        let request = WorkerRequest(typeName: typeName, processName: "ResourceTracker", identity: [],
                                    parentPID: getpid(), payload: [])
        // The tracker answers once it no longer dies with this process: from then on, what it
        // tracks is cleaned up whatever happens here.
        guard (try? local.sendDescriptors([])) != nil, (try? local.send(request)) != nil,
              (try? local.recv(Bool.self)) == true else { return nil }
        return local
    }()

    private static let sendLock = Lock()

    static func register(_ name: String) { send(.register(name)) }
    static func unregister(_ name: String) { send(.unregister(name)) }

    private static func send(_ message: Message) {
        guard let channel else { return }
        sendLock.withLock { try? channel.send(message) }
    }

    /// The tracker's life, in its own process.
    static func serve(_ connection: Connection) -> Never {
        mc_clear_parent_death_signal()
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        guard (try? connection.send(true)) != nil else { exit(0) }
        var names = Set<String>()
        while let message = try? connection.recv(Message.self) {
            switch message {
            case .register(let name): names.insert(name)
            case .unregister(let name): names.remove(name)
            }
        }
        for name in names { _ = mc_shm_unlink("/" + name) }
        exit(0)
    }
}
