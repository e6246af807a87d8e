import Logging
import MulticoreCluster
import PostgresNIO

/// What the soak reads of the queue's `tasks` table, on a connection of its own: its rows, and
/// its live and dead tuples and size as PostgreSQL's statistics count them (updated by each
/// backend about once a second, reset by VACUUM).
final class QueueTables: Sendable {
    struct Sample: Sendable {
        var live: Int64
        var dead: Int64
        var bytes: Int64
        /// VACUUMs of the table so far (the janitor's and autovacuum's).
        var vacuums: Int64
    }

    private let client: PostgresClient
    private let schema: String
    private let running: Task<Void, Never>

    init(url: String, schema: String) throws {
        let database = try ClusterDatabase(url: url, schema: schema)
        self.schema = database.schema
        client = PostgresClient(configuration: database.clientConfiguration(maximumConnections: 2),
                                backgroundLogger: Logger(label: "soak", factory: { _ in SwiftLogNoOpLogHandler() }))
        let client = client
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    func sample() async throws -> Sample? {
        let query: PostgresQuery = """
            SELECT n_live_tup, n_dead_tup, pg_total_relation_size(relid), vacuum_count + autovacuum_count
            FROM pg_stat_user_tables WHERE schemaname = \(schema) AND relname = 'tasks'
            """
        return try await withBoundedConnection(client, within: .seconds(10)) { connection in
            let rows = try await connection.query(query, logger: connection.logger).decode((Int64, Int64, Int64, Int64).self)
            for try await (live, dead, bytes, vacuums) in rows {
                return Sample(live: live, dead: dead, bytes: bytes, vacuums: vacuums)
            }
            return nil
        }
    }

    /// The rows of `tasks` (any session's).
    func rows() async throws -> Int64 {
        // The schema name was checked by ClusterDatabase (a-z, 0-9, _).
        let query = PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).tasks")
        return try await withBoundedConnection(client, within: .seconds(10)) { connection in
            for try await count in try await connection.query(query, logger: connection.logger).decode(Int64.self) { return count }
            return 0
        }
    }

    /// Polls `rows()` until it is 0 (the submitter deletes the rows its last read delivered at
    /// its next poll), at most `limit`: the rows left then.
    func waitUntilEmpty(within limit: Duration) async -> Int64? {
        let deadline = ContinuousClock.now + limit
        var left: Int64?
        repeat {
            left = try? await rows()
            if left == 0 { return 0 }
            try? await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        return left
    }
}
