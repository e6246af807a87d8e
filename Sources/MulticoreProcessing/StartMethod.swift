import MulticoreThreading

/// How a child process is started. Corresponds to Python's start methods
/// (`multiprocessing.get_context(method)`).
public enum StartMethod: String, Codable, Sendable, CaseIterable {
    /// A fresh copy of this executable runs the task (the default, as on macOS and, from 3.14,
    /// in Python on Linux). Works from any process, threads or not, and inside `swift test`.
    /// The task is a `Codable` value, found in the child by its type's name.
    case spawn
    /// A fork server, itself spawned once and kept single-threaded, forks a worker per process:
    /// faster than spawn, just as safe from a threaded parent. The task is a `Codable` value.
    case forkserver
    /// This process is forked: the only method that can run a closure with its captures
    /// (`ChildProcess(forking:)`), and the fastest. Unsafe in a process with other threads (a
    /// lock another thread held stays held forever in the child; Dispatch and Swift Concurrency
    /// do not survive it), so `start()` refuses it then, with `ProcessError.forkWithThreads`.
    case fork

    /// What Python puts before a process's kind: "Spawn" in "SpawnProcess-1", "ForkServer",
    /// "Fork".
    package var namePrefix: String {
        switch self {
        case .spawn: "Spawn"
        case .forkserver: "ForkServer"
        case .fork: "Fork"
        }
    }
}

/// The start method of processes created without one. Python:
/// `multiprocessing.set_start_method(method, force=False)`.
/// - Throws: `ProcessError.startMethodAlreadySet` when it was set already and `force` is false.
public func setStartMethod(_ method: StartMethod, force: Bool = false) throws(ProcessError) {
    let refused = defaultStartMethod.withLock { current in
        if current != nil, !force { return true }
        current = method
        return false
    }
    if refused { throw .startMethodAlreadySet }
}

/// The start method of processes created without one (spawn unless set). Python:
/// `multiprocessing.get_start_method()`.
public func getStartMethod() -> StartMethod { defaultStartMethod.withLock { $0 } ?? .spawn }

private let defaultStartMethod = Locked<StartMethod?>(nil)

/// A task that is a closure: what `ChildProcess(forking:)` runs in a forked child. It cannot
/// be encoded, so only the fork start method can run it.
public struct ForkClosure<Output: Codable & Sendable>: ProcessTask {
    let body: @Sendable () throws -> Output

    public init(_ body: @escaping @Sendable () throws -> Output) { self.body = body }

    public func run() throws -> Output { try body() }

    /// - Throws: always: a closure cannot cross to a spawned process.
    public func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath,
            debugDescription: "a closure can only run in a child started with the fork start method"))
    }

    /// - Throws: always.
    public init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a closure cannot be decoded"))
    }
}
