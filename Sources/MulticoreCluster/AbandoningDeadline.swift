import MulticoreThreading

/// Runs `body`, throwing `timeoutError()` if it has not finished within `limit`. Past the limit
/// the body is cancelled and left behind: unlike a task group, which waits for its children, a
/// body that ignores cancellation cannot hold the caller.
///
/// Every statement the cluster runs is bounded so (`ClusterStatements.replyDeadline`): a
/// connection the server terminated at the wrong moment can leave postgres-nio waiting for a
/// reply that never comes (seen here with `pg_terminate_backend` mid-map); the loops that run
/// statements retry with back-off, so a statement given up on is tried again. The cluster tests
/// bound their waits with it too.
package func withAbandoningDeadline<T: Sendable>(_ limit: Duration, orThrow timeoutError: @escaping @Sendable () -> any Error,
                                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let first = Locked<CheckedContinuation<T, any Error>?>(nil)
    let work = Task<Void, Never> {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        first.withLock { $0.take() }?.resume(with: outcome)
    }
    let timer = Task<Void, Never> {
        try? await Task.sleep(for: limit)
        first.withLock { $0.take() }?.resume(throwing: timeoutError())
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            first.withLock { $0 = continuation }
        }
    } onCancel: {
        first.withLock { $0.take() }?.resume(throwing: CancellationError())
    }
}
