import Logging
import MulticoreProcessing
import MulticoreThreading

/// `Pool`'s API backed by threads: Python's `multiprocessing.pool.ThreadPool`. For work that
/// waits (I/O, locks, system calls) or that shares memory; the work is a closure (with its
/// captures) or, as with `Pool`, a `ProcessTask` run in this process.
///
/// A thread cannot be stopped: `terminate` cancels what has not started, and what runs finishes.
/// An initializer that throws breaks the pool (`ExecutorError.broken`), as Python's
/// `ThreadPoolExecutor` does; Python's `ThreadPool` restarts the thread forever instead.
public final class ThreadPool: Sendable {

    let executor: ThreadPoolExecutor
    private let lifecycle = PoolLifecycle()

    /// The number of threads. Python: `ThreadPool._processes`.
    public var processes: Int { executor.maxWorkers }

    /// Its threads (started as work arrives). Python: `ThreadPool._pool`.
    public var threads: [JoinableThread] { executor.threads }

    /// Python: `ThreadPool(processes=None, initializer=None, initargs=())`.
    /// - Parameter processes: threads (default: the CPUs this process may use).
    /// - Throws: `ExecutorError.invalidMaxWorkers`.
    /// - Parameter logger: as `ThreadPoolExecutor`'s.
    public init(processes: Int? = nil, initializer: (@Sendable () throws -> Void)? = nil, logger: Logger? = nil) throws {
        executor = try ThreadPoolExecutor(maxWorkers: processes ?? cpuCount(), threadNamePrefix: "ThreadPool",
                                          initializer: initializer, logger: logger)
    }

    // MARK: One call

    /// Runs `work` on a pool thread and returns its value. Python: `ThreadPool.apply(func, args)`.
    /// - Throws: `PoolStateError.notRunning`; what `work` threw; `ExecutorError.broken`.
    @available(*, noasync, message: "blocks the thread")
    public func apply<T: Sendable>(_ work: @escaping @Sendable () throws -> T) throws -> T {
        try applyAsync(work).get()
    }

    /// Runs `task` on a pool thread: `Pool.apply`'s form.
    @available(*, noasync, message: "blocks the thread")
    public func apply<Task: ProcessTask>(_ task: Task) throws -> Task.Output {
        try applyAsync { try task.run() }.get()
    }

    /// Starts `work` and returns at once. Python: `ThreadPool.apply_async(func, args, callback, error_callback)`.
    /// The callbacks run on the pool thread that ran the work, before the result is ready (as
    /// in Python: a `get` that returned has seen them run).
    public func applyAsync<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T,
        callback: (@Sendable (T) -> Void)? = nil, errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<T> {
        try lifecycle.ensureRunning()
        guard callback != nil || errorCallback != nil else { return AsyncResult(try executor.submit(work)) }
        return AsyncResult(try executor.submit {
            do {
                let value = try work()
                callback?(value)
                return value
            } catch {
                errorCallback?(error)
                throw error
            }
        })
    }

    // MARK: Maps

    /// `transform` applied to every item, the outputs in order. Python: `ThreadPool.map(func, iterable, chunksize=None)`.
    /// - Parameters:
    ///   - chunksize: items given to a thread at once (default: about four chunks per thread).
    ///   - progress: called with (items done, items in all) as chunks finish, in increasing order.
    /// - Throws: the first error in input order.
    @available(*, noasync, message: "blocks the thread")
    public func map<S: Sequence, T: Sendable>(
        _ items: S, chunksize: Int? = nil, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws -> [T] where S.Element: Sendable {
        try mapAsync(items, chunksize: chunksize, progress: progress, transform).get()
    }

    /// Every task run on the pool's threads, the outputs in order: `Pool.map`'s form.
    @available(*, noasync, message: "blocks the thread")
    public func map<S: Sequence>(_ tasks: S, chunksize: Int? = nil) throws -> [S.Element.Output] where S.Element: ProcessTask {
        try mapAsync(tasks, chunksize: chunksize) { try $0.run() }.get()
    }

    /// `map` without waiting. Python: `ThreadPool.map_async(func, iterable, chunksize, callback, error_callback)`.
    public func mapAsync<S: Sequence, T: Sendable>(
        _ items: S, chunksize: Int? = nil,
        callback: (@Sendable ([T]) -> Void)? = nil, errorCallback: (@Sendable (any Error) -> Void)? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws -> AsyncResult<[T]> where S.Element: Sendable {
        try lifecycle.ensureRunning()
        let all = Array(items)
        let size = chunksize ?? poolChunkSize(count: all.count, workers: processes)
        let result = Future<[T]>()
        _ = try result.setRunningOrNotifyCancel()
        let starts = Array(stride(from: 0, to: all.count, by: max(1, size)))
        let collector = MapCollector(chunkCount: starts.count, taskCount: all.count, into: result, callback: callback,
                                     errorCallback: errorCallback, progress: progress)
        if starts.isEmpty { collector.finishEmpty() }
        var futures: [Future<ChunkOutcomes<T>>] = []
        for (index, start) in starts.enumerated() {
            let chunk = Array(all[start ..< min(start + size, all.count)])
            let future = try submitChunk(chunk, transform)
            futures.append(future)
            future.addDoneCallback { done in
                collector.complete(index, Result { try done.result(timeout: .zero) }, tasks: chunk.count, worker: done.worker)
            }
        }
        // Cancelling a task that awaits the map drops the chunks not started (threads cannot be stopped).
        result.setInterruptHandler { [futures] in for future in futures { future.cancel() } }
        return AsyncResult(result)
    }

    /// Outputs in order, lazily: the input is read as results are taken, with at most
    /// `bufferSize` chunks in flight. Python: `ThreadPool.imap(func, iterable, chunksize=1)`.
    public func imap<S: Sequence, T: Sendable>(
        _ items: S, chunksize: Int = 1, bufferSize: Int? = nil, _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws -> PoolResults<S.Iterator, T> where S.Element: Sendable {
        try lazyResults(items, chunksize: chunksize, bufferSize: bufferSize, ordered: true, transform)
    }

    /// Outputs as they are ready, lazily. Python: `ThreadPool.imap_unordered(func, iterable, chunksize=1)`.
    public func imapUnordered<S: Sequence, T: Sendable>(
        _ items: S, chunksize: Int = 1, bufferSize: Int? = nil, _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws -> PoolResults<S.Iterator, T> where S.Element: Sendable {
        try lazyResults(items, chunksize: chunksize, bufferSize: bufferSize, ordered: false, transform)
    }

    private func lazyResults<S: Sequence, T: Sendable>(
        _ items: S, chunksize: Int, bufferSize: Int?, ordered: Bool, _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws -> PoolResults<S.Iterator, T> where S.Element: Sendable {
        try lifecycle.ensureRunning()
        return PoolResults(input: items.makeIterator(), chunkSize: max(1, chunksize), bufferSize: max(1, bufferSize ?? 4 * processes),
                           ordered: ordered) { [self] chunk in try submitChunk(chunk, transform) }
    }

    /// One chunk on one thread: each item's outcome, in order (a failure does not stop the others).
    private func submitChunk<E: Sendable, T: Sendable>(
        _ items: [E], _ transform: @escaping @Sendable (E) throws -> T
    ) throws -> Future<ChunkOutcomes<T>> {
        try executor.submit {
            var values: [T] = []
            values.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                do {
                    values.append(try transform(item))
                } catch {
                    var results = values.map { Result<T, any Error>.success($0) }
                    results.append(.failure(error))
                    for rest in items[(index + 1)...] { results.append(Result { try transform(rest) }) }
                    return .each(results)
                }
            }
            return .values(values)
        }
    }

    // MARK: Ending

    /// No more work; the threads end once the given work is done. Python: `ThreadPool.close()`.
    public func close() {
        lifecycle.close()
    }

    /// Cancels the work not started; what runs finishes (a thread cannot be stopped).
    /// Python: `ThreadPool.terminate()`.
    public func terminate() {
        lifecycle.terminate()
        executor.shutdown(wait: false, cancelFutures: true)
    }

    /// Waits until the work given is done and the threads have ended, after `close` or
    /// `terminate`. Python: `ThreadPool.join()`.
    /// - Throws: `PoolStateError.stillRunning` before `close` or `terminate`.
    @available(*, noasync, message: "blocks the thread")
    public func join() throws(PoolStateError) {
        try lifecycle.ensureEnding()
        executor.shutdown(wait: true)
    }
}

extension ThreadPool: CustomStringConvertible {
    /// Like Python's repr (`<multiprocessing.pool.ThreadPool state=RUN pool_size=4>`), with its
    /// threads and queued chunks: `<ThreadPool state=RUN pool_size=4 threads=2 queued=0>`.
    public var description: String {
        "<ThreadPool state=\(lifecycle.pythonState) pool_size=\(processes) threads=\(executor.threads.count) queued=\(executor.queuedCount)>"
    }
}
