import Logging
import PostgresNIO

/// LISTENs on one channel over a connection of its own (postgres-nio's pool has no LISTEN),
/// calling `wake` with each notification's payload, and with "" after each (re)connection, since notifications
/// sent while it was away are lost; reconnects with back-off until the calling task is cancelled.
/// Notifications are hints: whoever is woken polls the table, which is the truth.
struct ClusterListener: Sendable {
    let database: ClusterDatabase
    let channel: String
    let logger: Logger

    /// Runs until cancelled; `listening` is called each time the LISTEN is in place.
    func run(listening: @Sendable () -> Void = {}, wake: @Sendable (_ payload: String) -> Void) async {
        var backoff = ClusterBackoff()
        var connectionID = 0
        while !Task.isCancelled {
            connectionID += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: database.connectionConfiguration(), id: connectionID, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: channel) { notifications in
                    backoff.reset()
                    listening()
                    wake("")
                    for try await notification in notifications { wake(notification.payload) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("cluster listener lost its connection: \(error)")
            }
            try? await Task.sleep(for: backoff.next())
        }
    }
}
