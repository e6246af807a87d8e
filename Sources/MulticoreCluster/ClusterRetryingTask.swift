import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// A task type whose own errors are worth another try. By default an error a task throws is its
/// outcome at once (as Ray and Dask: only a lost node makes a task run again); a type that
/// conforms here runs again on any node, up to `retriesOnError` times, when it throws.
///
///     struct FetchQuote: ClusterRetryingTask {
///         static let retriesOnError = 2          // three attempts in all
///         func run() throws -> Quote { ... }
///     }
///
/// Only the task's own error is retried: not a worker that died or was killed, a timeout, a
/// task or result the node cannot decode or encode. A retry is fenced as any outcome (it counts
/// only from the node incarnation and attempt that hold the task) and waits, by the database's
/// clock, 0.1 s doubling with each attempt up to 10 s. A task that throws at its `n`th attempt
/// runs again when `n` is at most `retriesOnError` (attempts lost with a node count too, as
/// retries count toward `maxAttempts` when a node is lost).
public protocol ClusterRetryingTask: ProcessTask {
    /// How many times the task runs again after it threw (0: never; a negative count is 0).
    static var retriesOnError: Int { get }
}

extension ClusterTaskKind {
    /// How many times a task of `type` runs again after it threw.
    static func retriesOnError<Task: ProcessTask>(of type: Task.Type) -> Int {
        max(0, (type as? any ClusterRetryingTask.Type)?.retriesOnError ?? 0)
    }

    /// Whether `error` is one a task threw (it came back as itself, or as `taskFailed` when its
    /// type is not `Codable`), not one of the pool (a worker's death, a timeout) or the wire.
    static func isThrownByTask(_ error: any Error) -> Bool {
        switch error {
        case ProcessError.taskFailed: true
        case is ProcessError, is PoolError, is ExecutorError, is WireError, is CancellationError: false
        default: true
        }
    }
}
