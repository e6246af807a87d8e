import MulticoreThreading

/// Runs one statement, failing with `ClusterError.database` if no reply came within `limit`.
/// A connection the server terminated at the wrong moment can leave postgres-nio waiting for a
/// reply that never comes (seen here with `pg_terminate_backend` mid-map); the loops that run
/// statements retry with back-off, so a statement given up on is simply tried again. The
/// abandoned wait is cancelled and left behind: it cannot hold its caller.
func withStatementDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let first = Locked<CheckedContinuation<T, any Error>?>(nil)
    let work = Task<Void, Never> {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        first.withLock { $0.take() }?.resume(with: outcome)
    }
    let timer = Task<Void, Never> {
        try? await Task.sleep(for: limit)
        first.withLock { $0.take() }?.resume(throwing: ClusterError.database("no reply from the server within \(limit)"))
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
