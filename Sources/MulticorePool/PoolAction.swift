import MulticoreThreading

/// What `PoolMachine` asks of the process pool, in the order given.
enum PoolAction {
    /// Write these requests to the worker's channel.
    case send(PoolMachine.WorkerID, [PoolRequest])
    /// Send the worker SIGTERM.
    case terminate(PoolMachine.WorkerID)
    /// Send the worker SIGKILL.
    case kill(PoolMachine.WorkerID)
    /// The reply just received from `worker` is this job's: decode it and complete the job.
    case deliver(PoolJob, by: WorkerIdentity)
    /// The job failed with this error, run by this worker (nil: no worker ran it).
    case fail(PoolJob, any Error, by: WorkerIdentity?)
    /// The job's future is cancelled (it never ran).
    case cancel(PoolJob)
    /// The worker ended: close its channel and let its process go.
    case release(PoolMachine.WorkerID)
}
