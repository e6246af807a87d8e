import DequeModule
import Logging
import MulticoreProcessing
import MulticoreThreading

/// A pool of worker processes with Python's `multiprocessing.Pool` API: `apply`, `map`,
/// `imap`, `imapUnordered` and their async forms, `close`, `terminate` and `join`, built on
/// `ProcessPoolExecutor`, so that it never hangs and never loses a task: a worker that dies
/// fails the chunk it was running (or runs it again, with `maxRetries`), and a replacement starts.
///
/// Python's `func` and `args` are a task here: a `Codable` value whose `run()` does the work,
/// so `starmap` is `map` (each task carries its own arguments).
public final class Pool: Sendable {

    @usableFromInline let executor: ProcessPoolExecutor
    private let lifecycle = PoolLifecycle()

    /// The number of worker processes. Python: `Pool._processes`.
    public var processes: Int { executor.maxWorkers }

    /// Python: `multiprocessing.Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None, context=None)`.
    /// - Parameters:
    ///   - initializer: a task each worker runs once before its first task (its fields are
    ///     Python's `initargs`). If it throws, the tasks waiting then fail with
    ///     `PoolError.initializerFailed` and the pool stays usable (Python restarts the worker forever).
    ///   - maxRetries: how many times a chunk whose worker died runs again.
    ///   - output, logger, label, memoryLimit, maxMemoryPerChild: as `ProcessPoolExecutor`'s
    ///     (the label defaults to "Pool-N").
    public init(processes: Int? = nil, initializer: (any ProcessTask)? = nil, maxTasksPerChild: Int? = nil,
                startMethod: StartMethod? = nil, maxRetries: Int = 0, output: WorkerOutput = .inherit, logger: Logger? = nil,
                label: String? = nil, memoryLimit: Int? = nil, maxMemoryPerChild: Int? = nil) throws {
        executor = try ProcessPoolExecutor(maxWorkers: processes, startMethod: startMethod, maxTasksPerChild: maxTasksPerChild,
                                           maxRetries: maxRetries, initializer: initializer,
                                           channelFrameLimit: PoolSupervisor.defaultChannelFrameLimit, workerKind: "PoolWorker",
                                           observation: PoolObservation(label: label, kind: "Pool", logger: logger, output: output),
                                           memory: PoolMemory(limit: memoryLimit, perChild: maxMemoryPerChild))
    }

    /// A snapshot: the workers, the tasks queued, and how tasks have ended so far (`PoolStats`).
    public var stats: PoolStats { executor.stats }

    /// The workers alive now, in the order they started: each one's pid and name
    /// ("SpawnPoolWorker-3", as Python names them). Python: `[(p.pid, p.name) for p in pool._pool]`.
    public var workers: [WorkerIdentity] { executor.workers }

    // MARK: One task

    /// Runs `task` in a worker and returns its output. Python: `Pool.apply(func, args)`.
    /// - Throws: `PoolStateError.notRunning`; what the task threw; `PoolError`.
    @available(*, noasync, message: "blocks the thread")
    public func apply<Task: ProcessTask>(_ task: Task, timeout: Duration? = nil) throws -> Task.Output {
        try applyAsync(task, timeout: timeout).get()
    }

    /// Starts `task` and returns at once. Python: `Pool.apply_async(func, args, callback, error_callback)`.
    /// - Parameters:
    ///   - timeout: how long the task may run once started (`PoolError.timedOut` past it).
    ///   - callback: called with the output, on the pool's manager thread, before the result is
    ///     ready (as in Python: a `get` that returned has seen it run; it must not wait for it).
    ///   - errorCallback: called with the error instead.
    public func applyAsync<Task: ProcessTask>(
        _ task: Task, timeout: Duration? = nil,
        callback: (@Sendable (Task.Output) -> Void)? = nil, errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<Task.Output> {
        try lifecycle.ensureRunning()
        guard callback != nil || errorCallback != nil else { return AsyncResult(try executor.submit(task, timeout: timeout)) }
        // The callbacks run before the result is ready, as Python's `ApplyResult._set` calls
        // them before it sets its event: a `get` that returned has seen them run.
        return AsyncResult(try executor.submit(task, timeout: timeout) { outcome in
            switch outcome {
            case .success(let value): callback?(value)
            case .failure(let error): errorCallback?(error)
            }
        })
    }

    // MARK: Maps

    /// The automatic chunk size for `map`: Python's, the input cut into about four chunks per
    /// worker, with chunks of plain tasks (`ChunkFormat.raw`) of at most `automaticChunkBytes`.
    func automaticChunkSize<Task>(count: Int, of _: Task.Type) -> Int {
        let size = poolChunkSize(count: count, workers: processes)
        guard ChunkFormat.mayBeRaw(Task.self) else { return size }
        return min(size, max(1, automaticChunkBytes / MemoryLayout<Task>.stride))
    }

    /// Runs every task and returns their outputs in order. Python: `Pool.map(func, iterable, chunksize=None)`.
    /// - Parameter chunksize: tasks sent to a worker at once (default: about four chunks per worker,
    ///   chunks of plain tasks of at most 256 KiB).
    /// - Throws: the first error in input order (a task's, or `PoolError` for its chunk).
    /// - Parameter progress: called with (tasks done, tasks in all) each time a chunk is done,
    ///   in increasing order, on the pool's manager thread (keep it short).
    ///
    /// An input whose count is not known up front (a lazy sequence that is not a `Collection`)
    /// is sent while it is read, a chunk at a time (`streamingMap`), with at most four chunks
    /// per worker in flight; with `progress` (whose total needs it) it is read whole first.
    ///
    /// Inlined into the caller, where the input is read with calls specialized for its type (a
    /// lazy sequence is read as fast as an array is copied).
    @inlinable @available(*, noasync, message: "blocks the thread")
    public func map<S: Sequence>(_ tasks: S, chunksize: Int? = nil,
                                 progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) throws -> [S.Element.Output]
        where S.Element: ProcessTask {
        if progress == nil, tasks.underestimatedCount == 0 {
            try ensureRunning()
            return try streamingMap(tasks.makeIterator(), readChunk: LazyInput<S.Iterator>.chunkReader(), chunksize: chunksize,
                                    window: streamingWindow, callback: nil, errorCallback: nil).get()
        }
        return try mapAsync(tasks, chunksize: chunksize, progress: progress).get()
    }

    /// `map` without waiting. Python: `Pool.map_async(func, iterable, chunksize, callback, error_callback)`.
    /// The input is read before it returns: an input whose count is not known up front is sent
    /// while it is read, as in `map` but with no limit on the chunks in flight (it does not wait).
    /// `callback` (the outputs) or `errorCallback` (the map's error) runs on the pool's manager
    /// thread before the result is ready, as in Python.
    /// - Parameter progress: as in `map`.
    @inlinable
    public func mapAsync<S: Sequence>(
        _ tasks: S, chunksize: Int? = nil,
        callback: (@Sendable ([S.Element.Output]) -> Void)? = nil, errorCallback: (@Sendable (any Error) -> Void)? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> AsyncResult<[S.Element.Output]> where S.Element: ProcessTask {
        try ensureRunning() // before the input is read: it may be endless
        if progress == nil, tasks.underestimatedCount == 0 {
            return try streamingMap(tasks.makeIterator(), readChunk: LazyInput<S.Iterator>.chunkReader(), chunksize: chunksize,
                                    window: nil, callback: callback, errorCallback: errorCallback)
        }
        return try mapAsync(array: Array(tasks), chunksize: chunksize, callback: callback, errorCallback: errorCallback,
                            progress: progress)
    }

    /// - Throws: `PoolStateError.notRunning` after `close` or `terminate`.
    @usableFromInline func ensureRunning() throws(PoolStateError) { try lifecycle.ensureRunning() }

    /// `mapAsync` of the input read into `all`.
    @usableFromInline func mapAsync<Task: ProcessTask>(
        array all: [Task], chunksize: Int?, callback: (@Sendable ([Task.Output]) -> Void)?,
        errorCallback: (@Sendable (any Error) -> Void)?, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
    ) throws -> AsyncResult<[Task.Output]> {
        let size = max(1, chunksize ?? automaticChunkSize(count: all.count, of: Task.self))
        let chunkCount = (all.count + size - 1) / size
        let result = Future<[Task.Output]>()
        _ = try result.setRunningOrNotifyCancel()
        let collector = MapCollector<Task.Output>(chunkCount: chunkCount, taskCount: all.count, into: result, callback: callback,
                                                  errorCallback: errorCallback, progress: progress,
                                                  appendPlain: { Task._appendPlainOutputs($0, to: &$1) })
        if chunkCount == 0 { collector.finishEmpty() }
        let total = all.count
        let (ids, _) = try executor.enqueueChunks(of: all, size: size, timeout: nil, start: { !result.isDone },
                                                  cancel: { collector.cancel() }) { index, outcome, worker in
            collector.complete(index, outcome, tasks: min(size, total - index * size), worker: worker)
        }
        // Cancelling a task that awaits the map stops all of it, running chunks included.
        result.setInterruptHandler { [weak executor] in executor?.interrupt(ids) }
        return AsyncResult(result)
    }

    /// Python: `Pool.starmap(func, iterable, chunksize)`. The same as `map`: a task carries its
    /// own arguments, so there is nothing to unpack.
    @inlinable @available(*, noasync, message: "blocks the thread")
    public func starmap<S: Sequence>(_ tasks: S, chunksize: Int? = nil) throws -> [S.Element.Output] where S.Element: ProcessTask {
        try map(tasks, chunksize: chunksize)
    }

    /// Python: `Pool.starmap_async(func, iterable, chunksize, callback, error_callback)`: `mapAsync`.
    @inlinable public func starmapAsync<S: Sequence>(
        _ tasks: S, chunksize: Int? = nil,
        callback: (@Sendable ([S.Element.Output]) -> Void)? = nil, errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<[S.Element.Output]> where S.Element: ProcessTask {
        try mapAsync(tasks, chunksize: chunksize, callback: callback, errorCallback: errorCallback)
    }

    /// The outputs in order, lazily: the input is read as results are taken, with at most
    /// `bufferSize` chunks in flight (Python reads the whole input first).
    /// Python: `Pool.imap(func, iterable, chunksize=1)`.
    ///
    /// Inlined into the caller, where the input is read and the outputs are taken with calls
    /// specialized for their types (`PoolResults`).
    @inlinable
    public func imap<S: Sequence>(_ tasks: S, chunksize: Int = 1, bufferSize: Int? = nil) throws
        -> PoolResults<S.Iterator, S.Element.Output> where S.Element: ProcessTask {
        try lazyResults(tasks.makeIterator(), readChunk: LazyInput<S.Iterator>.chunkReader(), chunksize: chunksize,
                        bufferSize: bufferSize, ordered: true)
    }

    /// The outputs as they are ready, lazily. Python: `Pool.imap_unordered(func, iterable, chunksize=1)`.
    @inlinable
    public func imapUnordered<S: Sequence>(_ tasks: S, chunksize: Int = 1, bufferSize: Int? = nil) throws
        -> PoolResults<S.Iterator, S.Element.Output> where S.Element: ProcessTask {
        try lazyResults(tasks.makeIterator(), readChunk: LazyInput<S.Iterator>.chunkReader(), chunksize: chunksize,
                        bufferSize: bufferSize, ordered: false)
    }

    @usableFromInline func lazyResults<Input: IteratorProtocol>(
        _ input: Input, readChunk: LazyInput<Input>.ChunkReader?, chunksize: Int, bufferSize: Int?, ordered: Bool
    ) throws -> PoolResults<Input, Input.Element.Output> where Input.Element: ProcessTask {
        try lifecycle.ensureRunning()
        return PoolResults(input: input, readChunk: readChunk, chunkSize: max(1, chunksize),
                           bufferSize: max(1, bufferSize ?? 4 * processes), ordered: ordered) { [executor] chunk in
            try executor.submitChunk(chunk)
        }
    }

    // MARK: Async sequences

    /// The outputs in input order, as an `AsyncSequence` with back-pressure; cancelling the
    /// iterating task stops the work in flight. See `ProcessPoolExecutor.results(of:chunksize:)`.
    @inlinable
    public func results<S: Sequence>(of tasks: S, chunksize: Int = 1, bufferSize: Int? = nil) throws -> PoolOutputs<S>
        where S.Element: ProcessTask {
        try ensureRunning()
        return executor.results(of: tasks, chunksize: chunksize, bufferSize: bufferSize)
    }

    /// The outcomes as they complete, with their input index, as an `AsyncSequence`.
    /// See `ProcessPoolExecutor.completions(of:)`.
    public func completions<S: Sequence>(of tasks: S, bufferSize: Int? = nil) throws -> PoolCompletions<S> where S.Element: ProcessTask {
        try lifecycle.ensureRunning()
        return executor.completions(of: tasks, bufferSize: bufferSize)
    }

    // MARK: Ending

    /// No more tasks; the workers exit once the given ones are done. Python: `Pool.close()`.
    public func close() {
        lifecycle.close()
        executor.shutdown(wait: false)
    }

    /// Stops the workers now: tasks not started are cancelled, running ones fail with
    /// `PoolError.workerDied`. Python: `Pool.terminate()` (whose pending results never arrive).
    public func terminate() {
        lifecycle.terminate()
        executor.terminate()
    }

    /// Waits until every worker has exited, after `close` or `terminate`. Python: `Pool.join()`.
    /// - Throws: `PoolStateError.stillRunning` before `close` or `terminate`.
    @available(*, noasync, message: "blocks the thread")
    public func join() throws(PoolStateError) {
        try lifecycle.ensureEnding()
        executor.shutdown(wait: true)
    }
}

/// The most bytes of encoded tasks an automatic chunk holds (`map` without a chunksize): larger
/// chunks save nothing per task worth having (a chunk costs tens of microseconds), while a map's
/// first chunk must arrive whole before a worker starts and its last reply before the map ends,
/// and a chunk and its outputs no longer fit a core's cache (1 MiB of L2 here) nor memory freed
/// by the chunk before. Measured on a map of 1M Ints on 2 workers: chunks of 1 MB (Python's
/// size) 23-33 ns per task and 25-26k page faults in a run, of 256 KiB 16-20 ns and 14-18k.
let automaticChunkBytes = 256 << 10

/// Python's `Pool._map_async` chunk size: `count` cut into about four chunks per worker.
func poolChunkSize(count: Int, workers: Int) -> Int {
    let (size, extra) = count.quotientAndRemainder(dividingBy: max(1, workers * 4))
    return max(1, size + (extra > 0 ? 1 : 0))
}

/// The lazy results of `imap` and `imapUnordered` (of `Pool` and `ThreadPool`): `for result in
/// results` (each a `Result`, see `ResultIterator`; a task's error does not end the iteration)
/// or `while let output = try results.next()`.
public final class PoolResults<Input: IteratorProtocol, Output: Sendable>: Sequence {
    private var window: ChunkWindow<Input, Output>
    /// The outputs of the chunk being taken.
    @usableFromInline var ready = ReadyOutputs<Output>()
    private let ordered: Bool

    init(input: Input, readChunk: LazyInput<Input>.ChunkReader? = nil, chunkSize: Int, bufferSize: Int, ordered: Bool,
         submitChunk: @escaping ([Input.Element]) throws -> Future<ChunkOutcomes<Output>>) {
        window = ChunkWindow(input: input, readChunk: readChunk, chunkSize: chunkSize, bufferSize: bufferSize, submit: submitChunk)
        self.ordered = ordered
    }

    deinit { window.cancelAll(stopRunning: false) }

    /// The next output, nil at the end. Python: `next(iterator, timeout)`.
    /// - Throws: that task's error (the iteration can go on after it); `FutureError.timeout`.
    @inlinable @available(*, noasync, message: "blocks the thread")
    public func next(timeout: Duration? = nil) throws -> Output? {
        if let value = ready.nextValue() { return value }
        return try nextSlowly(timeout: timeout)
    }

    /// `next` past the outputs at hand: waits for the next chunk (the oldest, or with
    /// `imapUnordered` the first done), reading more input as chunks are taken.
    @usableFromInline @available(*, noasync, message: "blocks the thread")
    func nextSlowly(timeout: Duration?) throws -> Output? {
        while true {
            if let outcome = ready.nextOutcome() { return try outcome.get() }
            try window.fill()
            guard !window.isEmpty else { return nil }
            let entry: ChunkWindow<Input, Output>.Entry
            if ordered {
                entry = window.removeFirst()
            } else {
                let (done, _) = try Futures.wait(window.inFlight.map { $0.future }, timeout: timeout, returnWhen: .firstCompleted)
                guard let first = done.first, let index = window.inFlight.firstIndex(where: { $0.future === first }) else {
                    throw FutureError.timeout
                }
                entry = window.remove(at: index)
            }
            do {
                ready.take(try entry.future.result(timeout: timeout))
            } catch FutureError.timeout {
                window.putBack(entry, first: ordered)
                throw FutureError.timeout
            } catch {
                // The whole chunk failed (its worker died): its error stands for each of its tasks.
                ready.fail(error, count: entry.count)
            }
        }
    }

    /// Every remaining output, in the iteration's order; throws the first error.
    @available(*, noasync, message: "blocks the thread")
    public func collect() throws -> [Output] {
        var outputs: [Output] = []
        while let output = try next() { outputs.append(output) }
        return outputs
    }

    /// The remaining outputs as `Result`s, in the iteration's order; a task's error is its
    /// element and the iteration goes on, as Python's `imap` does; it ends once the pool no
    /// longer takes tasks.
    @inlinable public func makeIterator() -> ResultIterator<Output> {
        ResultIterator(endsAfter: { $0 is PoolStateError || $0 as? ExecutorError == .shutDown }) { try self.next() }
    }
}

extension Pool: CustomStringConvertible {
    /// As Python's repr, with the workers: `<Pool state=RUN pool_size=4 queued=0 [SpawnPoolWorker-1 (pid 4242), ...]>`.
    public var description: String {
        let (_, workers, queued) = executor.supervisor.snapshot
        return "<Pool state=\(lifecycle.pythonState) pool_size=\(processes) queued=\(queued) \(workers)>"
    }
}
