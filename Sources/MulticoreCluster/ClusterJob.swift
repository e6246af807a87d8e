import struct Foundation.Date

/// A durable job's id: what `Cluster.enqueue` returns. Its outcome stays in the queue after the
/// job ran, so any process connected to the same database (and schema) can await or fetch it,
/// later, from the id alone: `ClusterJob<Int>(id: 42)`. `Output` is the job's task's output.
public struct ClusterJob<Output: Codable & Sendable>: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The job's row in the queue.
    public let id: Int64

    public init(id: Int64) { self.id = id }

    public var description: String { "job \(id)" }
}

/// Where a durable job is: what `Cluster.status(of:)` returns.
public enum ClusterJobStatus<Output: Codable & Sendable>: Sendable {
    /// Waiting to be claimed (`attempt` runs so far: a job whose node died runs again).
    case queued(attempt: Int)
    /// Claimed by a node, at its `attempt`-th run (1 for the first).
    case running(attempt: Int)
    /// Finished: its output, or the error it failed with (`ClusterError.taskFailed`, `.nodeLost`,
    /// `.undecodableResult`), or `ClusterError.cancelled` when it was cancelled first.
    case finished(Result<Output, ClusterError>)

    /// The outcome, once finished.
    public var outcome: Result<Output, ClusterError>? {
        if case .finished(let outcome) = self { return outcome }
        return nil
    }
}

/// When a durable job may start, judged by the database's clock (never the submitter's).
public enum ClusterJobStart: Sendable, Equatable {
    /// As soon as a node is free.
    case now
    /// This long after the database receives it.
    case after(Duration)
    /// Not before this moment, compared with the database's clock.
    case at(Date)
}
