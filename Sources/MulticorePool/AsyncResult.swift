import MulticoreThreading

/// The result of `Pool.applyAsync` or `Pool.mapAsync`, to wait for or poll. Corresponds to
/// Python's `multiprocessing.pool.AsyncResult`. `await result.value` waits without blocking a
/// thread.
public final class AsyncResult<Value: Sendable>: Sendable {
    let future: Future<Value>

    init(_ future: Future<Value>) { self.future = future }

    /// The value, waiting at most `timeout`. Python: `AsyncResult.get(timeout=None)`.
    /// - Throws: what the task threw (or `PoolError`); `FutureError.timeout`.
    @available(*, noasync, message: "blocks the thread")
    public func get(timeout: Duration? = nil) throws -> Value { try future.result(timeout: timeout) }

    /// Waits until it is ready or `timeout` passes; returns whether it is ready.
    /// Python: `AsyncResult.wait(timeout=None)`.
    @available(*, noasync, message: "blocks the thread")
    /// - Throws: `FutureError.timeoutTooLarge`.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(FutureError) -> Bool {
        if let timeout, timeout.isBeyondTimeoutMax { throw .timeoutTooLarge }
        _ = try? future.error(timeout: timeout)
        return future.isDone
    }

    /// The worker process that ran the task (`applyAsync`), or the chunk that failed the map
    /// (`mapAsync`), once ready: beside an error rethrown from a worker, where it was thrown.
    /// nil before then, and for a map that succeeded.
    public var worker: WorkerIdentity? { future.worker }

    /// Whether the work is done. Python: `AsyncResult.ready()`.
    public var isReady: Bool { future.isDone }

    /// Whether the work succeeded. Python: `AsyncResult.successful()`.
    /// - Throws: `PoolStateError.notReady` while it runs.
    public func successful() throws(PoolStateError) -> Bool {
        guard future.isDone else { throw .notReady }
        do { return try future.error(timeout: .zero) == nil } catch { return false } // cancelled
    }

    /// The value, awaited: the calling task is suspended, not its thread.
    public var value: Value {
        get async throws { try await future.value }
    }
}
