import MulticoreProcessing

/// A process pool was asked for something it cannot do, at construction (Python raises
/// `ValueError` for the same requests). A pool that accepted such settings could never run a
/// task, so it refuses them at once.
public enum PoolConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `maxTasksPerChild` below 1. Python: `ValueError("max_tasks_per_child must be >= 1")`.
    case invalidMaxTasksPerChild(Int)
    /// `maxRetries` below 0.
    case invalidMaxRetries(Int)
    /// The fork start method: a pool starts its workers from its manager thread, so the process
    /// always has another thread when it would fork, and a forked child would inherit locks held
    /// by threads it does not have. Use `.forkserver` (workers forked from a single-threaded
    /// server, the nearest to fork) or `.spawn`. Python allows fork pools, and they can hang
    /// for exactly that reason; with `max_tasks_per_child` it refuses fork too.
    case forkStartMethod
    /// `output: .logger` with no `logger`: the workers' output would go nowhere.
    case outputToLoggerWithoutLogger
    /// A `memoryLimit` or `maxMemoryPerChild` below 1 MiB (a worker needs several to start).
    case invalidMemoryLimit(Int)
    /// `memoryLimit` needs a memory cgroup per worker, and none can be made here (`reason`: no
    /// cgroup file system, or no right to write to this process's own cgroup).
    case memoryLimitUnavailable(reason: String)

    public var description: String {
        switch self {
        case .invalidMaxTasksPerChild(let value): "max_tasks_per_child must be >= 1, not \(value)"
        case .invalidMaxRetries(let value): "maxRetries must be >= 0, not \(value)"
        case .forkStartMethod:
            "a process pool cannot use the fork start method: its workers are started from its manager thread, "
                + "and fork is only safe in a single-threaded process; use startMethod: .forkserver (workers forked "
                + "from a single-threaded server) or .spawn"
        case .invalidMemoryLimit(let value): "a memory limit must be at least 1 MiB (1048576 bytes), not \(value)"
        case .memoryLimitUnavailable(let reason): "memoryLimit cannot be enforced here: \(reason)"
        case .outputToLoggerWithoutLogger:
            "output: .logger needs a logger: pass logger:, or choose another WorkerOutput"
        }
    }
}
