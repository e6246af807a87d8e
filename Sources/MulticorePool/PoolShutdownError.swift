/// Why a task given to a process pool has no result: the pool was shut down with a grace
/// period (`shutdown(gracePeriod:)`, or `PoolService` in a ServiceGroup's graceful shutdown),
/// and the task had not finished when the grace period ended. A running task's worker was
/// stopped (SIGTERM, then SIGKILL after the pool's `killGrace`); a task still queued never ran.
public enum PoolShutdownError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The grace period, this long, ended before the task finished.
    case gracePeriodExpired(Duration)

    public var description: String {
        switch self {
        case .gracePeriodExpired(let gracePeriod):
            "the pool was shut down and its grace period of \(gracePeriod) ended before the task finished: it was stopped"
        }
    }
}
