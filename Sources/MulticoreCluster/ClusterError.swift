/// Why a cluster call or a task sent to the cluster has no result.
public enum ClusterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database URL cannot be used (`reason` says why). Expected:
    /// `postgres://user[:password]@host[:port]/database`.
    case invalidURL(String, reason: String)
    /// A schema name must be 1 to 24 characters of `a-z`, `0-9` and `_`, not starting with a digit
    /// (it also names the notification channels, which PostgreSQL caps at 63 bytes).
    case invalidSchema(String)
    /// A configuration value out of range (`reason` says which and why).
    case invalidConfiguration(String)
    /// The task, once encoded, is larger than `ClusterLimits.maximumPayload` bytes.
    case payloadTooLarge(bytes: Int, limit: Int)
    /// The task type has no mangled name to be found by on a node.
    case unnamedTaskType(String)
    /// The task failed on a node: it threw (`type` and `message` of its error), its worker died
    /// (a trap, a signal: `message` names the worker's pid and signal), it ran past its timeout,
    /// its node could not decode it, or its result was too large. `host` and `pid` name the node
    /// process that recorded the outcome, `attempt` the attempt (1 for the first run).
    case taskFailed(type: String, message: String, host: String, pid: Int32, attempt: Int)
    /// Every node that ran the task was declared dead while running it (missed heartbeats),
    /// `attempts` times: the task's `maxAttempts` are used up.
    case nodeLost(attempts: Int, message: String)
    /// The result came back but cannot be decoded as the task's `Output` (a node built from
    /// other sources sent it).
    case undecodableResult(type: String, reason: String)
    /// The cluster handle was shut down before the task had an outcome.
    case shutDown
    /// The durable job was cancelled (`Cluster.cancel(_:)`) before it had an outcome.
    case cancelled
    /// No durable job has this id in the queue (never enqueued there, or deleted: by
    /// `Cluster.delete(_:)`, or past the nodes' `jobRetention`).
    case unknownJob(Int64)
    /// The database could not be reached or refused a statement (`reason`: its error).
    case database(String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason): "invalid PostgreSQL URL \(url): \(reason)"
        case .invalidSchema(let name):
            "invalid cluster schema name \"\(name)\": 1 to 24 of a-z, 0-9 and _, not starting with a digit"
        case .invalidConfiguration(let reason): "invalid cluster configuration: \(reason)"
        case .payloadTooLarge(let bytes, let limit): "the encoded task is \(bytes) bytes, over the cluster's limit of \(limit)"
        case .unnamedTaskType(let type): "the task type \(type) has no mangled name: it cannot be found on a node"
        case .taskFailed(let type, let message, let host, let pid, let attempt):
            "the task failed on node \(host) (pid \(pid)), attempt \(attempt): \(type): \(message)"
        case .nodeLost(let attempts, let message): "\(message) (\(attempts) attempts)"
        case .undecodableResult(let type, let reason): "the result of \(type) cannot be decoded: \(reason)"
        case .shutDown: "the cluster handle was shut down before the task had an outcome"
        case .cancelled: "the job was cancelled before it had an outcome"
        case .unknownJob(let id): "no job \(id) in the queue (never enqueued in this schema, or deleted)"
        case .database(let reason): "database error: \(reason)"
        }
    }
}

/// Sizes the cluster refuses past.
public enum ClusterLimits {
    /// The largest encoded task, and the largest encoded result, in bytes (16 MiB). A task over it
    /// throws at submit; a result over it fails its task with `ResultTooLarge`. PostgreSQL's own
    /// limit for a `bytea` value is 1 GB; large data belongs in files or shared storage.
    public static let maximumPayload = 16 << 20
}
