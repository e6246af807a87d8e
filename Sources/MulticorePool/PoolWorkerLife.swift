import DequeModule
import MulticoreProcessing
import MulticoreThreading

/// A worker as the pool's policy sees it: where it is in its life, and what it holds.
extension PoolMachine {
    /// Where a worker is in its life. It ends when its exit is reported (`workerExited`).
    enum Life: Equatable {
        /// Takes chunks.
        case serving
        /// Takes no more chunks and ends after those it holds: it reached `maxTasksPerChild` (it
        /// was told to stop), or its channel ended.
        case retiring
        /// Its initializer threw: it exits, and what it held and what is queued then fail with this.
        case initializerFailed(PoolError)
        /// Sent SIGTERM at `since` (a timeout, a cancel); SIGKILL follows after the grace.
        case stopping(since: Int64)
        /// Sent SIGKILL (the grace passed, or its channel broke the protocol).
        case killed
    }

    struct Worker {
        let id: WorkerID
        let identity: WorkerIdentity
        var life = Life.serving
        /// In flight, in the order sent: the first is running.
        var jobs = Deque<PoolJob>()
        /// When the first job started.
        var headStarted: Int64
        var tasksDone = 0
        /// It answered at least one chunk.
        var replied = false
        /// The task types this worker was told about.
        var definedTypes = Set<UInt32>()
        /// Jobs that failed already (timed out, or cancelled) while this worker held them: they
        /// stay in `jobs`, in their place, until their reply or the worker's end (the worker
        /// runs them anyway: the request went out), and fail no second time.
        var abandoned: Set<UInt64> = []
        /// The pool stopped it (a timeout, a cancel): its end is no task's fault, and the jobs it
        /// held go back to the queue, charged nothing.
        var stoppedByPool = false
        /// Why the pool signalled it (SIGTERM or SIGKILL), if it did: what its end is put down to.
        var stopCause: ExitReason.Stop?
        /// Its initializer's report came (always true without an initializer): the first frame
        /// of a worker with an initializer is that report, and no later frame may be one.
        var initialized: Bool
        /// Its channel is still read (false once reading failed).
        var listening = true
        /// Why its channel could not be trusted: its running job fails with this when it ends.
        var protocolError: String?

        /// Whether it takes chunks now.
        var isServing: Bool { life == .serving }
    }
}
