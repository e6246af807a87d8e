import MulticoreThreading

/// How a worker process ended and what it last said: what `PoolError.workerDied`, and
/// `ProcessError.crashed` and `.exitedWithoutResult` for a `ChildProcess`, carry, so that a
/// Swift trap's own message ("Fatal error: Index out of range") reaches the caller with the task
/// that caused it.
public struct ExitReport: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The process: its pid and name.
    public let worker: WorkerIdentity
    /// Python's convention: the exit status, or -N for signal N.
    public let exitCode: Int32
    /// Why it ended.
    public let reason: ExitReason
    /// The last few KiB of its standard error (empty when none was read).
    public let standardError: String

    public init(worker: WorkerIdentity, exitCode: Int32, reason: ExitReason, standardError: String = "") {
        self.worker = worker
        self.exitCode = exitCode
        self.reason = reason
        self.standardError = standardError
    }

    /// The limit of its memory cgroup, if the kernel killed it there (`ExitReason.memoryLimit`).
    public var memoryLimit: Int? {
        if case .memoryLimit(let limit) = reason { return limit }
        return nil
    }

    /// "worker SpawnPoolWorker-2 (pid 4242) trapped (SIGILL): Fatal error: Index out of range".
    public var description: String { "worker \(worker) \(reason)" }

    /// The same, with what it was doing put before the trap's message: "worker SpawnPoolWorker-2
    /// (pid 4242) trapped (SIGILL) while running Task(x: 1): Fatal error: Index out of range".
    public func describe(doing activity: String) -> String {
        "worker \(worker) \(reason.headline) \(activity)" + (reason.message.map { ": " + $0 } ?? "")
    }
}
