import MulticoreProcessing

/// Why a pool task has no result although the task itself did not throw: its worker died or
/// broke the pool's protocol, or it ran past its timeout. Python's pools hang or break the whole pool here; a Multicore pool fails
/// that one task and carries on.
public enum PoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The worker running the task ended before answering. `report` says which worker, its exit
    /// code in Python's convention (-N for signal N), why it ended (a Swift trap with its
    /// message, a crash, the OOM killer, a signal from elsewhere...) and the end of its standard
    /// error. `attempts` counts the workers that died running it: the pool's `maxRetries` plus
    /// one, since a task fails this way only once its retries are used up.
    case workerDied(ExitReport, task: String, attempts: Int)
    /// The worker running the task broke the pool's protocol: what it sent on its channel could
    /// not be read as a reply (`reason`: a corrupt frame, one longer than the pool's limit, a
    /// reply too short for its id...). Nothing more from it can be trusted, so it was killed
    /// (SIGKILL) and the task failed, or ran again, exactly as if it had died. The usual cause
    /// is a task writing to its worker's channel. `attempts` as in `workerDied`.
    case protocolError(pid: Int32, reason: String, task: String, attempts: Int)
    /// The task ran longer than its timeout; its worker was stopped (SIGTERM, then SIGKILL).
    case timedOut(after: Duration, task: String)
    /// The task's worker went over the pool's `memoryLimit` running it: the kernel killed it in
    /// its memory cgroup (`report.reason` is `.memoryLimit`). The task is not run again (it
    /// would go over again); the worker is replaced, and no other task is touched.
    case memoryLimitExceeded(limit: Int, ExitReport, task: String)
    /// The pool's initializer threw (`type` and `message` of its error) in worker `pid`, or its
    /// type could not be found there (`type` is then empty): the tasks that worker held and
    /// those queued at that moment fail with this. The pool stays usable.
    case initializerFailed(pid: Int32, type: String, message: String)
    /// No worker could be started (`reason`: too few descriptors, no process could be
    /// created...) while the pool had none running: the tasks queued then fail with this. The
    /// pool goes on trying, every 100 ms to 1 s, and runs new tasks once a worker starts.
    case cannotStartWorker(reason: String)

    public var description: String {
        switch self {
        case .workerDied(let report, let task, let attempts):
            report.describe(doing: "while running \(task)") + Self.attemptsNote(attempts)
        case .protocolError(let pid, let reason, let task, let attempts):
            "protocol error from worker \(pid) while running \(task): \(reason); the worker was killed" + Self.attemptsNote(attempts)
        case .timedOut(let limit, let task): "\(task) ran longer than its timeout of \(limit)"
        case .memoryLimitExceeded(_, let report, let task): "\(task) went over the pool's memory limit: \(report)"
        case .initializerFailed(let pid, let type, let message):
            type.isEmpty ? "the pool's initializer could not run in worker \(pid): \(message)"
                         : "the pool's initializer threw in worker \(pid): \(type): \(message)"
        case .cannotStartWorker(let reason): "no worker could be started: \(reason)"
        }
    }

    private static func attemptsNote(_ attempts: Int) -> String {
        attempts > 1 ? " (the last of \(attempts) workers that died running it)" : ""
    }
}
