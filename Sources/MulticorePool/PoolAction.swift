import MulticoreProcessing
import MulticoreThreading

/// What `PoolMachine` asks of the process pool, in the order given.
enum PoolAction {
    /// Write these requests to the worker's channel.
    case send(PoolMachine.WorkerID, [PoolRequest])
    /// Send the worker SIGTERM.
    case terminate(PoolMachine.WorkerID)
    /// Send the worker SIGKILL.
    case kill(PoolMachine.WorkerID)
    /// The reply just received from `worker` is this job's: decode it and complete the job. Its
    /// tasks took `nanoseconds` each, on average, on the worker.
    case deliver(PoolJob, by: WorkerIdentity, nanoseconds: Int64)
    /// The job failed, run by this worker (nil: no worker ran it). The error is made from the
    /// failure when performed, outside the lock (describing the task runs its code).
    case fail(PoolJob, PoolFailure, by: WorkerIdentity?)
    /// The job's future is cancelled (it never ran).
    case cancel(PoolJob)
    /// The worker ended: close its channel and let its process go.
    case release(PoolMachine.WorkerID)
    /// A worker ended, so: `unexpected` when it ended while it held work (a death the pool did
    /// not cause), what is logged at notice rather than debug.
    case ended(ExitReport, unexpected: Bool)
    /// The job's worker died running it (`report`): it runs again, for the `attempt`-th time.
    case retried(PoolJob, ExitReport, attempt: Int)
}

/// What the manager saw of a worker's end, for `PoolMachine.workerExited`.
struct WorkerEnd {
    /// Python's convention: the exit status, or -N for signal N.
    var exitCode: Int32
    /// The last few KiB of its standard error.
    var standardError = ""
    /// The last line of it that reads as a Swift trap's message.
    var fatalLine: String?
    /// The kernel's count of OOM kills moved while it ran.
    var oomKilled = false
    /// Its memory cgroup's limit (`memoryLimit`), if the kernel killed it there for going over.
    var memoryLimit: Int?
}

/// Why a job failed, as `PoolMachine` decides it; `error(for:)` makes the error its caller gets.
enum PoolFailure {
    /// This error, as it is.
    case error(any Error)
    /// Its worker ended (`report`) while running it, for the `attempts`-th time.
    case workerDied(ExitReport, attempts: Int)
    /// Its worker (`pid`) broke the protocol while running it.
    case protocolError(pid: Int32, reason: String, attempts: Int)
    /// It ran longer than its timeout.
    case timedOut(Duration)
    /// Its worker went over the pool's `memoryLimit` running it (`report`).
    case memoryLimitExceeded(ExitReport)

    /// The error for `job` (described by its task, which may run the task type's code).
    func error(for job: PoolJob) -> any Error {
        switch self {
        case .error(let error): error
        case .workerDied(let report, let attempts):
            PoolError.workerDied(report, task: job.summary(), attempts: attempts)
        case .protocolError(let pid, let reason, let attempts):
            PoolError.protocolError(pid: pid, reason: reason, task: job.summary(), attempts: attempts)
        case .timedOut(let limit): PoolError.timedOut(after: limit, task: job.summary())
        case .memoryLimitExceeded(let report): PoolError.memoryLimitExceeded(limit: report.memoryLimit ?? 0, report, task: job.summary())
        }
    }
}
