/// Where a process pool's workers' standard output and error go. Whatever the choice, the pool
/// reads each worker's standard error and keeps its last 4 KiB, which travel with the worker's
/// death (`PoolError.workerDied`'s `ExitReport`): a Swift trap's message reaches the caller
/// with the task that caused it.
public enum WorkerOutput: Sendable, Hashable {
    /// Standard output is this process's, as Python's workers have it; standard error is passed
    /// on byte for byte to this process's standard error, as it comes.
    case inherit
    /// Both streams, line by line, to this process's standard output and error, each line
    /// prefixed with its worker's name ("[SpawnPoolWorker-2] "); lines of different workers are
    /// never mixed mid-line. A worker's standard output is line-buffered.
    case prefixed
    /// Both streams, line by line, to the pool's `logger` (at info level, with the worker's
    /// name, pid and the stream as metadata). A worker's standard output is line-buffered.
    case logger
    /// Both streams are dropped (the tail of standard error still travels with a death).
    case discard
}
