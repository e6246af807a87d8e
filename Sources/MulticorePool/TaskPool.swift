import MulticoreProcessing
import MulticoreThreading

/// What `Pool` (processes) and `ThreadPool` (threads) both do with tasks, so that code can
/// switch between them with one line, as Python's mp_pool.py does with `Pool` and `ThreadPool`:
///
///     let pool: any TaskPool = useThreads ? try ThreadPool(processes: 4) : try Pool(processes: 4)
///     let outputs = try pool.map(tasks)
///
/// A task is a `ProcessTask`; on a `ThreadPool` it runs on a pool thread of this process.
/// Closures run on a `ThreadPool` only: they cannot cross to another process.
public protocol TaskPool: AnyObject, Sendable {
    /// The number of workers (processes or threads).
    var processes: Int { get }
    /// Runs `task` and returns its output. Python: `apply(func, args)`.
    @available(*, noasync, message: "blocks the thread")
    func apply<Task: ProcessTask>(_ task: Task) throws -> Task.Output
    /// Starts `task` and returns at once. Python: `apply_async(func, args, callback, error_callback)`.
    func applyAsync<Task: ProcessTask>(_ task: Task, callback: (@Sendable (Task.Output) -> Void)?,
                                       errorCallback: (@Sendable (any Error) -> Void)?) throws -> AsyncResult<Task.Output>
    /// Every task's output, in order. Python: `map(func, iterable, chunksize)`.
    @available(*, noasync, message: "blocks the thread")
    func map<S: Sequence>(_ tasks: S, chunksize: Int?) throws -> [S.Element.Output] where S.Element: ProcessTask
    /// `map` without waiting. Python: `map_async(func, iterable, chunksize, callback, error_callback)`.
    func mapAsync<S: Sequence>(_ tasks: S, chunksize: Int?, callback: (@Sendable ([S.Element.Output]) -> Void)?,
                               errorCallback: (@Sendable (any Error) -> Void)?) throws -> AsyncResult<[S.Element.Output]>
        where S.Element: ProcessTask
    /// The outputs in order, lazily. Python: `imap(func, iterable, chunksize)`.
    func imap<S: Sequence>(_ tasks: S, chunksize: Int, bufferSize: Int?) throws -> PoolResults<S.Iterator, S.Element.Output>
        where S.Element: ProcessTask
    /// The outputs as they are ready, lazily. Python: `imap_unordered(func, iterable, chunksize)`.
    func imapUnordered<S: Sequence>(_ tasks: S, chunksize: Int, bufferSize: Int?) throws -> PoolResults<S.Iterator, S.Element.Output>
        where S.Element: ProcessTask
    /// No more tasks; the workers end once the given ones are done. Python: `close()`.
    func close()
    /// Stops at once; what has not finished fails or is cancelled. Python: `terminate()`.
    func terminate()
    /// Waits for the workers to end, after `close` or `terminate`. Python: `join()`.
    @available(*, noasync, message: "blocks the thread")
    func join() throws(PoolStateError)
}

/// The requirements' defaults, for code written against `TaskPool`.
extension TaskPool {
    @inlinable @available(*, noasync, message: "blocks the thread")
    public func map<S: Sequence>(_ tasks: S) throws -> [S.Element.Output] where S.Element: ProcessTask {
        try map(tasks, chunksize: nil)
    }

    public func applyAsync<Task: ProcessTask>(_ task: Task) throws -> AsyncResult<Task.Output> {
        try applyAsync(task, callback: nil, errorCallback: nil)
    }

    @inlinable
    public func mapAsync<S: Sequence>(_ tasks: S) throws -> AsyncResult<[S.Element.Output]> where S.Element: ProcessTask {
        try mapAsync(tasks, chunksize: nil, callback: nil, errorCallback: nil)
    }

    @inlinable
    public func imap<S: Sequence>(_ tasks: S) throws -> PoolResults<S.Iterator, S.Element.Output> where S.Element: ProcessTask {
        try imap(tasks, chunksize: 1, bufferSize: nil)
    }

    @inlinable
    public func imapUnordered<S: Sequence>(_ tasks: S) throws -> PoolResults<S.Iterator, S.Element.Output>
        where S.Element: ProcessTask {
        try imapUnordered(tasks, chunksize: 1, bufferSize: nil)
    }
}

extension Pool: TaskPool {
    @available(*, noasync, message: "blocks the thread")
    public func apply<Task: ProcessTask>(_ task: Task) throws -> Task.Output { try apply(task, timeout: nil) }

    public func applyAsync<Task: ProcessTask>(_ task: Task, callback: (@Sendable (Task.Output) -> Void)?,
                                              errorCallback: (@Sendable (any Error) -> Void)?) throws -> AsyncResult<Task.Output> {
        try applyAsync(task, timeout: nil, callback: callback, errorCallback: errorCallback)
    }

    @inlinable @available(*, noasync, message: "blocks the thread")
    public func map<S: Sequence>(_ tasks: S, chunksize: Int?) throws -> [S.Element.Output] where S.Element: ProcessTask {
        try map(tasks, chunksize: chunksize, progress: nil)
    }

    @inlinable
    public func mapAsync<S: Sequence>(_ tasks: S, chunksize: Int?, callback: (@Sendable ([S.Element.Output]) -> Void)?,
                                      errorCallback: (@Sendable (any Error) -> Void)?) throws -> AsyncResult<[S.Element.Output]>
        where S.Element: ProcessTask {
        try mapAsync(tasks, chunksize: chunksize, callback: callback, errorCallback: errorCallback, progress: nil)
    }
}

/// `Pool`'s task forms on threads: each task runs on a pool thread of this process.
extension ThreadPool: TaskPool {
    public func applyAsync<Task: ProcessTask>(_ task: Task, callback: (@Sendable (Task.Output) -> Void)? = nil,
                                              errorCallback: (@Sendable (any Error) -> Void)? = nil) throws -> AsyncResult<Task.Output> {
        try applyAsync({ try task.run() }, callback: callback, errorCallback: errorCallback)
    }

    public func mapAsync<S: Sequence>(_ tasks: S, chunksize: Int? = nil, callback: (@Sendable ([S.Element.Output]) -> Void)? = nil,
                                      errorCallback: (@Sendable (any Error) -> Void)? = nil) throws -> AsyncResult<[S.Element.Output]>
        where S.Element: ProcessTask {
        try mapAsync(tasks, chunksize: chunksize, callback: callback, errorCallback: errorCallback) { try $0.run() }
    }

    public func imap<S: Sequence>(_ tasks: S, chunksize: Int = 1, bufferSize: Int? = nil) throws
        -> PoolResults<S.Iterator, S.Element.Output> where S.Element: ProcessTask {
        try imap(tasks, chunksize: chunksize, bufferSize: bufferSize) { try $0.run() }
    }

    public func imapUnordered<S: Sequence>(_ tasks: S, chunksize: Int = 1, bufferSize: Int? = nil) throws
        -> PoolResults<S.Iterator, S.Element.Output> where S.Element: ProcessTask {
        try imapUnordered(tasks, chunksize: chunksize, bufferSize: bufferSize) { try $0.run() }
    }
}
