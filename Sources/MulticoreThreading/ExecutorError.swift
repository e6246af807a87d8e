/// Why an executor refused work. Corresponds to Python's `RuntimeError` from `submit` after
/// shutdown, `concurrent.futures.thread.BrokenThreadPool` and the constructors' `ValueError`.
public enum ExecutorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `submit` or `map` after `shutdown`.
    /// Python: `RuntimeError("cannot schedule new futures after shutdown")`.
    case shutDown
    /// The executor can no longer run work (for a thread pool: an initializer threw).
    /// Python: `BrokenThreadPool`.
    case broken(String)
    /// `maxWorkers` was not positive. Python: `ValueError("max_workers must be greater than 0")`.
    case invalidMaxWorkers
    /// A `map`'s or `results(of:)`' `chunksize` was below 1.
    /// Python: `ValueError("chunksize must be >= 1.")`.
    case invalidChunksize(Int)

    /// The message, in Python's words where Python has one.
    public var description: String {
        switch self {
        case .shutDown: "cannot schedule new futures after shutdown"
        case .broken(let reason): reason
        case .invalidMaxWorkers: "max_workers must be greater than 0"
        case .invalidChunksize(let value): "chunksize must be >= 1, not \(value)"
        }
    }
}
