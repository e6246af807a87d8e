import MulticoreThreading
import PostgresNIO

/// Runs `body` on a connection leased from `client`, bounded so that no statement can hang:
///
/// - The connection closing under the statement fails it at once. postgres-nio 1.33.2 writes a
///   query to its channel with no write promise (`PostgresClient.query`, `PostgresConnection.query`):
///   when the pool leases a connection the server has just terminated (`pg_terminate_backend`,
///   a restart) and the channel's handlers are already gone, the write fails silently and the
///   query's reply promise is never completed: the caller waits forever (vapor/postgres-nio#487,
///   whose fix was reverted). Seen here mid-map. A watch every `closedCheck` notices the closed
///   connection.
/// - No reply within `limit` (a half-open connection: a host cut off, a server that vanished):
///   the connection is closed, which fails the statement and lets the pool drop it, so the next
///   statement gets a fresh connection. The body is cancelled and left behind.
///
/// The loops that run statements retry with back-off: a statement given up on is tried again on
/// another connection.
package func withBoundedConnection<T: Sendable>(_ client: PostgresClient, within limit: Duration,
                                        _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
    let race = FirstOutcome<T>()
    let leased = Locked<PostgresConnection?>(nil)
    let work = Task<Void, Never> {
        do {
            race.finish(.success(try await client.withConnection { connection in
                leased.withLock { $0 = connection }
                return try await body(connection)
            }))
        } catch {
            race.finish(.failure(error))
        }
    }
    let watch = Task<Void, Never> {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: min(closedCheck, deadline - ContinuousClock.now))
            if Task.isCancelled { return }
            if let connection = leased.withLock({ $0 }), connection.isClosed {
                race.finish(.failure(ClusterError.database("the server closed the connection under the statement")))
                return
            }
        }
        if race.finish(.failure(ClusterError.database("no reply from the server within \(limit)"))) {
            // A connection that does not answer is not used again.
            if let connection = leased.withLock({ $0 }) {
                let closing: EventLoopFuture<Void> = connection.close()
                _ = closing
            }
        }
    }
    defer {
        work.cancel()
        watch.cancel()
    }
    return try await race.value
}

/// How often a waiting statement looks whether its connection closed.
private let closedCheck: Duration = .milliseconds(50)
