/// Who ran a piece of work: the worker process of a process pool, or the worker thread of a
/// thread pool. A future keeps it beside its outcome (`Future.worker`), so an error rethrown
/// from a worker (as itself, when its type is `Codable`) still says where it was thrown, as
/// Python's remote traceback does.
public struct WorkerIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The worker's pid: the worker process's, or, for a thread, this process's.
    public let pid: Int32
    /// The worker's name: "SpawnProcess-3" (ProcessPoolExecutor), "SpawnPoolWorker-3" (Pool),
    /// "ThreadPoolExecutor-0_1" (a thread).
    public let name: String

    public init(pid: Int32, name: String) {
        self.pid = pid
        self.name = name
    }

    /// "SpawnProcess-3 (pid 4242)".
    public var description: String { "\(name) (pid \(pid))" }
}
