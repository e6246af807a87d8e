import CMulticore

/// Why a pool task has no result although the task itself did not throw: its worker died, or it
/// ran past its timeout. Python's pools hang or break the whole pool here; a Multicore pool fails
/// that one task and carries on.
public enum PoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The worker running the task ended before answering: `exitCode` in Python's convention
    /// (-N for signal N, else the exit status). `attempts` counts the workers that died running
    /// it: the pool's `maxRetries` plus one, since a task fails this way only once its retries
    /// are used up.
    case workerDied(pid: Int32, exitCode: Int32, task: String, attempts: Int)
    /// The task ran longer than its timeout; its worker was stopped (SIGTERM, then SIGKILL).
    case timedOut(after: Duration, task: String)
    /// The pool's initializer threw (`type` and `message` of its error) in worker `pid`, or its
    /// type could not be found there (`type` is then empty): the tasks that worker held and
    /// those queued at that moment fail with this. The pool stays usable.
    case initializerFailed(pid: Int32, type: String, message: String)

    public var description: String {
        switch self {
        case .workerDied(let pid, let code, let task, let attempts):
            (code < 0 ? "worker \(pid) was killed by signal \(-code) (SIG\(String(cString: mc_signal_name(-code)))) while running \(task)"
                      : "worker \(pid) exited with code \(code) while running \(task)")
                + (attempts > 1 ? " (the last of \(attempts) workers that died running it)" : "")
        case .timedOut(let limit, let task): "\(task) ran longer than its timeout of \(limit)"
        case .initializerFailed(let pid, let type, let message):
            type.isEmpty ? "the pool's initializer could not run in worker \(pid): \(message)"
                         : "the pool's initializer threw in worker \(pid): \(type): \(message)"
        }
    }
}
