import Logging
import MulticoreProcessing
import MulticoreThreading

/// Runs tasks in a pool of worker processes and hands back a `Future` per task. Corresponds to
/// Python's `concurrent.futures.ProcessPoolExecutor`, without its traps:
///
/// - The pool knows which worker runs which task. A worker that dies (a trap, SIGSEGV, SIGKILL,
///   exit) fails only the task it was running, with `PoolError.workerDied` naming its pid, exit
///   code or signal and the task; tasks it had been given but not started go back to the queue;
///   a replacement starts; the pool stays usable (Python breaks the whole pool).
/// - A worker that sends what cannot be read as a reply (a corrupt frame, one longer than
///   `channelFrameLimit`: a task writing to its worker's channel) is killed at once and treated
///   the same way, its task failing with `PoolError.protocolError`. The manager reads only what
///   has arrived: no worker's large or unfinished reply ever stops it.
/// - A task can have a timeout: past it, the task fails with `PoolError.timedOut` and its worker
///   gets SIGTERM, then SIGKILL after a grace period, and is replaced (Python cannot stop it).
/// - A task that cannot be encoded throws at `submit`; its error, thrown in the worker, comes
///   back through its future as itself when its type is `Codable`, else as `ProcessError.taskFailed`.
///
/// Workers are daemon processes started with the pool's start method; one manager thread
/// dispatches tasks, reads results and watches the workers' exits (pidfds), with no polling.
///
/// An executor that is let go without `shutdown` shuts down by itself, as Python's does when it
/// is collected: the work given to it finishes (futures still held get their outcomes), then
/// its workers, manager thread and descriptors go. The caller's thread never waits for that.
public final class ProcessPoolExecutor: Sendable {
    /// The pool: held by the manager thread as long as there is work, and by this handle.
    let supervisor: PoolSupervisor

    /// The number of worker processes. Python: `_max_workers`.
    public var maxWorkers: Int { supervisor.maxWorkers }
    /// How the workers are started.
    public var startMethod: StartMethod { supervisor.startMethod }
    /// After this many tasks a worker exits and a fresh one replaces it (nil: never).
    /// Python: `max_tasks_per_child`.
    public var maxTasksPerChild: Int? { supervisor.maxTasksPerChild }
    /// How long a worker stopped for a timeout has after SIGTERM before SIGKILL.
    public var killGrace: Duration { supervisor.killGrace }
    /// How many times a task whose worker died is run again, on another worker, before it
    /// fails with `PoolError.workerDied` (Ray's `max_retries`). Timeouts are not retried.
    public var maxRetries: Int { supervisor.maxRetries }

    /// Creates a pool of `maxWorkers` processes (default: the number of CPUs this process may
    /// use). Python: `ProcessPoolExecutor(max_workers=None, mp_context=None, max_tasks_per_child=None)`.
    /// - Throws: `ExecutorError.invalidMaxWorkers`; `PoolConfigurationError` for a `maxTasksPerChild`
    ///   below 1, a negative `maxRetries` or the fork start method (given, or set with
    ///   `setStartMethod`); `ProcessError.spawnFailed` when no pipe or
    ///   thread can be had.
    /// - Parameter initializer: a task each worker runs once before its first task (Python's
    ///   `initializer` and `initargs`), to set up what its tasks share; its output is dropped.
    ///   If it throws in a worker, the tasks that worker held and those queued then fail with
    ///   `PoolError.initializerFailed`; the pool stays usable and starts new workers for new tasks.
    /// - Parameter output: where the workers' standard output and error go (`WorkerOutput`).
    /// - Parameter logger: what the pool logs (workers started and ended at debug; a worker's
    ///   unexpected death, a retry, a timeout, a failed initializer at notice), with the pool's
    ///   `label` and the worker's pid and name as metadata. nil (the default): silent.
    /// - Parameter label: the pool's name in its log lines; default "ProcessPoolExecutor-N".
    /// - Parameter memoryLimit: bytes each worker may use (resident memory and page cache, as
    ///   its memory cgroup counts them). A task that goes over fails alone with
    ///   `PoolError.memoryLimitExceeded` (the kernel kills its worker, not another process), and
    ///   the worker is replaced. Needs a cgroup file system this process may write to: else
    ///   `PoolConfigurationError.memoryLimitUnavailable`.
    /// - Parameter maxMemoryPerChild: a worker whose resident memory is above this many bytes
    ///   after a chunk ends once it has answered the tasks it holds, and a fresh one replaces
    ///   it; no task fails (billiard's and loky's `max_memory_per_child`).
    public convenience init(maxWorkers: Int? = nil, startMethod: StartMethod? = nil, maxTasksPerChild: Int? = nil,
                            maxRetries: Int = 0, killGrace: Duration = .seconds(1), initializer: (any ProcessTask)? = nil,
                            output: WorkerOutput = .inherit, logger: Logger? = nil, label: String? = nil,
                            memoryLimit: Int? = nil, maxMemoryPerChild: Int? = nil) throws {
        try self.init(maxWorkers: maxWorkers, startMethod: startMethod, maxTasksPerChild: maxTasksPerChild, maxRetries: maxRetries,
                      killGrace: killGrace, initializer: initializer, channelFrameLimit: PoolSupervisor.defaultChannelFrameLimit,
                      observation: PoolObservation(label: label, kind: "ProcessPoolExecutor", logger: logger, output: output),
                      memory: PoolMemory(limit: memoryLimit, perChild: maxMemoryPerChild))
    }

    /// The public `init`, with the limit on a worker's messages (`channelFrameLimit`) and the
    /// workers' kind ("Process": "SpawnProcess-N"; `Pool`'s are "PoolWorker") chosen.
    init(maxWorkers: Int? = nil, startMethod: StartMethod? = nil, maxTasksPerChild: Int? = nil, maxRetries: Int = 0,
         killGrace: Duration = .seconds(1), initializer: (any ProcessTask)? = nil, channelFrameLimit: Int,
         workerKind: String = "Process", observation: PoolObservation? = nil, memory: PoolMemory? = nil) throws {
        let observation = try observation ?? PoolObservation(label: nil, kind: "ProcessPoolExecutor", logger: nil, output: .inherit)
        supervisor = try PoolSupervisor(maxWorkers: maxWorkers, startMethod: startMethod, maxTasksPerChild: maxTasksPerChild,
                                        maxRetries: maxRetries, killGrace: killGrace, initializer: initializer,
                                        channelFrameLimit: channelFrameLimit, workerKind: workerKind, observation: observation,
                                        memory: memory ?? PoolMemory(limit: nil, perChild: nil))
    }

    /// The last handle went away: the pool finishes what it was given, then ends (Python's
    /// executor shuts down when collected). Never waits here.
    deinit { supervisor.shutdown(wait: false) }

    /// Schedules `task` on a worker and returns its future. Python: `submit(fn, *args)`.
    /// - Parameter timeout: how long the task may run once a worker has started it.
    /// - Throws: `ExecutorError.shutDown` after `shutdown`; the task's encoding error.
    public func submit<Task: ProcessTask>(_ task: Task, timeout: Duration? = nil) throws -> Future<Task.Output> {
        try supervisor.submit(task, timeout: timeout)
    }

    /// `submit`, with `willFinish` told the outcome before the future is (`Pool.applyAsync`).
    func submit<Task: ProcessTask>(_ task: Task, timeout: Duration?,
                                   willFinish: @escaping @Sendable (Result<Task.Output, any Error>) -> Void) throws -> Future<Task.Output> {
        try supervisor.submit(task, timeout: timeout, willFinish: willFinish)
    }

    /// Runs every task of `tasks` in the pool and returns their outputs in order, lazily: at
    /// most `bufferSize` (default: four per worker) are submitted ahead, so an endless sequence
    /// works. Python: `Executor.map(fn, *iterables, timeout=None)`.
    /// - Parameters:
    ///   - timeout: the whole map must finish within it, counted from this call.
    ///   - taskTimeout: each task's own timeout, as in `submit`.
    public func map<S: Sequence>(_ tasks: S, timeout: Duration? = nil, taskTimeout: Duration? = nil,
                                 bufferSize: Int? = nil) -> MapResults<S.Iterator, S.Element.Output> where S.Element: ProcessTask {
        MapResults(input: tasks.makeIterator(), deadline: .after(timeout), bufferSize: max(1, bufferSize ?? 4 * maxWorkers)) { task in
            try self.submit(task, timeout: taskTimeout)
        }
    }

    /// `map` with the tasks sent to the workers `chunksize` at a time, each chunk one message
    /// and one future: Python's `ProcessPoolExecutor.map(fn, *iterables, timeout=None, chunksize=1)`.
    /// The outputs still come one by one, in order, each task's error as its own element (Python
    /// raises a chunk's first error in place of the whole chunk); a chunk whose worker died fails
    /// each of its tasks. Small tasks want chunks: one by one, each costs a message each way.
    /// - Parameters:
    ///   - chunksize: tasks per chunk; 1 is `map` without it.
    ///   - bufferSize: chunks submitted ahead (default: four per worker).
    ///   - taskTimeout: with chunks, each chunk's timeout (a chunk's tasks run one after the other
    ///     on one worker: past it, they fail together with `PoolError.timedOut`).
    /// - Throws: `ExecutorError.invalidChunksize` for a `chunksize` below 1 (Python: `ValueError`).
    @inlinable
    public func map<S: Sequence>(_ tasks: S, timeout: Duration? = nil, taskTimeout: Duration? = nil, chunksize: Int,
                                 bufferSize: Int? = nil) throws(ExecutorError) -> MapResults<S.Iterator, S.Element.Output>
        where S.Element: ProcessTask {
        guard chunksize >= 1 else { throw .invalidChunksize(chunksize) }
        guard chunksize > 1 else { return map(tasks, timeout: timeout, taskTimeout: taskTimeout, bufferSize: bufferSize) }
        return chunkedMap(tasks.makeIterator(), readChunk: LazyInput<S.Iterator>.chunkReader(), timeout: timeout,
                          taskTimeout: taskTimeout, chunksize: chunksize, bufferSize: bufferSize)
    }

    @usableFromInline func chunkedMap<Input: IteratorProtocol>(
        _ input: Input, readChunk: LazyInput<Input>.ChunkReader?, timeout: Duration?, taskTimeout: Duration?, chunksize: Int,
        bufferSize: Int?
    ) -> MapResults<Input, Input.Element.Output> where Input.Element: ProcessTask {
        MapResults(input: input, readChunk: readChunk, deadline: .after(timeout), chunkSize: chunksize,
                   bufferSize: max(1, bufferSize ?? 4 * maxWorkers)) { chunk in
            try self.submitChunk(chunk, timeout: taskTimeout)
        }
    }

    /// The outputs of `tasks` in input order, as an `AsyncSequence` with back-pressure: at most
    /// `bufferSize` (default: four per worker) tasks, or chunks, are in flight, the input is
    /// read as outputs are taken. Cancelling the iterating task stops the work in flight,
    /// running tasks included (their workers are replaced).
    /// - Parameters:
    ///   - chunksize: tasks sent to a worker at once (1: each task alone). A chunk of small
    ///     tasks is one message each way and one future, where one by one each task costs a
    ///     round trip; with chunks, `bufferSize` counts chunks and `taskTimeout` is each chunk's.
    ///     A `chunksize` below 1 makes the iteration throw `ExecutorError.invalidChunksize`.
    ///   - taskTimeout: each task's own timeout, as in `submit`.
    @inlinable
    public func results<S: Sequence>(of tasks: S, chunksize: Int = 1, bufferSize: Int? = nil, taskTimeout: Duration? = nil)
        -> PoolOutputs<S> where S.Element: ProcessTask {
        PoolOutputs(source: source(tasks, chunksize: chunksize, readChunk: LazyInput<S.Iterator>.chunkReader(),
                                   bufferSize: bufferSize, taskTimeout: taskTimeout))
    }

    @usableFromInline func source<S: Sequence>(
        _ tasks: S, chunksize: Int, readChunk: LazyInput<S.Iterator>.ChunkReader?, bufferSize: Int?, taskTimeout: Duration?
    ) -> PoolSource<S> {
        PoolSource(tasks: tasks, executor: self, bufferSize: bufferSize ?? 4 * maxWorkers, taskTimeout: taskTimeout,
                   chunkSize: chunksize, readChunk: readChunk)
    }

    /// The outcomes of `tasks` as they complete, each with its input index, as an
    /// `AsyncSequence` (Python's `as_completed`), with back-pressure and cancellation as `results(of:)`.
    public func completions<S: Sequence>(of tasks: S, bufferSize: Int? = nil, taskTimeout: Duration? = nil) -> PoolCompletions<S>
        where S.Element: ProcessTask {
        PoolCompletions(source: source(tasks, chunksize: 1, readChunk: nil, bufferSize: bufferSize, taskTimeout: taskTimeout))
    }

    /// Stops taking tasks; with `cancelFutures`, cancels those not started; with `wait`, returns
    /// once every started task is done and the workers have exited. Python:
    /// `shutdown(wait=True, cancel_futures=False)`. Calling it again is harmless.
    @available(*, noasync, message: "blocks the thread while the pool drains")
    public func shutdown(wait: Bool = true, cancelFutures: Bool = false) {
        supervisor.shutdown(wait: wait, cancelFutures: cancelFutures)
    }

    /// Stops now: tasks not started are cancelled, and every worker gets SIGTERM (its running
    /// task fails with `PoolError.workerDied`); returns without waiting (`shutdown(wait:)` waits).
    func terminate() { supervisor.terminate() }

    /// A snapshot: the workers (each one's state, task, tasks done and resident memory), the
    /// tasks queued, and how the tasks have ended so far. Python has no such thing.
    public var stats: PoolStats { supervisor.stats }

    /// The workers alive now, in the order they started: each one's pid and name
    /// ("SpawnProcess-3"), the names their tasks see as `currentProcessName()`.
    public var workers: [WorkerIdentity] { supervisor.workers }

    /// The pids of the workers alive now.
    public var workerPIDs: [Int32] { supervisor.workers.map(\.pid) }

    // What `Pool` and the async sequences build on.

    /// `tasks` as one chunk, run one after the other by one worker: one message each way and one
    /// future for them all. A worker that dies during the chunk fails the whole chunk (the
    /// cluster's nodes run the tasks of such a chunk again one by one).
    package func submitChunk<Task: ProcessTask>(_ tasks: [Task], timeout: Duration? = nil) throws -> Future<ChunkOutcomes<Task.Output>> {
        try supervisor.submitChunk(tasks, timeout: timeout)
    }

    func enqueueChunks<Task: ProcessTask>(
        of tasks: [Task], size: Int, firstIndex: Int = 0, timeout: Duration?, start: @escaping @Sendable () -> Bool,
        cancel: @escaping @Sendable () -> Void,
        finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>, WorkerIdentity?) -> Void
    ) throws -> (ids: [UInt64], bytes: Int) {
        try supervisor.enqueueChunks(of: tasks, size: size, firstIndex: firstIndex, timeout: timeout, start: start, cancel: cancel,
                                     finish: finish)
    }

    func interrupt(_ ids: [UInt64]) { supervisor.interrupt(ids) }
}

extension ProcessPoolExecutor: CustomStringConvertible {
    /// `<ProcessPoolExecutor state=RUN workers=2/2 queued=0 [SpawnProcess-1 (pid 4242), ...]>`:
    /// its state (RUN, or SHUTDOWN once `shutdown` was called), workers alive of `maxWorkers`,
    /// tasks queued for a worker, and the workers.
    public var description: String {
        let (shuttingDown, workers, queued) = supervisor.snapshot
        return "<ProcessPoolExecutor state=\(shuttingDown ? "SHUTDOWN" : "RUN") workers=\(workers.count)/\(maxWorkers) "
            + "queued=\(queued) \(workers)>"
    }
}
