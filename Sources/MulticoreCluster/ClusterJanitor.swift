import Logging
import PostgresNIO

/// Keeps the queue's tables small: delivered rows are deleted by their submitters (each read
/// deletes what the one before delivered), and the janitor `VACUUM`s the tables every
/// `interval` so that their dead rows do not pile up (measured here: without it, claims slow to
/// half within a minute at full speed; with a `VACUUM` every 5 s they stay flat). Every node runs
/// one; one at a time does the work (a session advisory lock), and only when no node vacuumed in
/// the last `interval` by the database's clock (`pg_stat_user_tables.last_vacuum`).
struct ClusterJanitor: Sendable {
    let database: ClusterDatabase
    let interval: Duration
    let logger: Logger
    /// How often a `VACUUM` also renews the planner's statistics (`ANALYZE`): it samples up to
    /// 30,000 rows, which on a full queue cost as much as the `VACUUM` itself (measured here),
    /// and the claims' plans need them fresh only as the table's size changes.
    static let analyzeInterval: Duration = .seconds(10)
    /// The longest a `VACUUM` may take before its connection is closed (it is tried again later).
    static let vacuumDeadline: Duration = .seconds(60)

    /// Runs until cancelled.
    func run(_ client: PostgresClient) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            do {
                if try await vacuumIfDue(client) { logger.debug("cluster janitor vacuumed the queue") }
            } catch {
                if Task.isCancelled { return }
                logger.notice("cluster janitor could not vacuum: \(error)")
            }
        }
    }

    /// VACUUMs the queue's tables unless another node holds the janitor's lock or vacuumed them
    /// within `interval`; returns whether it did.
    func vacuumIfDue(_ client: PostgresClient) async throws -> Bool {
        let s = database.schema, logger = logger
        let seconds = ClusterStatements.seconds(interval)
        return try await withBoundedConnection(client, within: Self.vacuumDeadline) { connection in
            let lock = Self.lockName(schema: s)
            guard try await Self.flag(connection, "SELECT pg_try_advisory_lock(hashtext(\(lock)))", logger) else { return false }
            do {
                var due = false, analyze = false
                for try await (vacuum, statistics) in try await connection.query("""
                    SELECT coalesce(max(last_vacuum), '-infinity') < now() - make_interval(secs => \(seconds)),
                           coalesce(max(greatest(last_analyze, last_autoanalyze)), '-infinity')
                             < now() - make_interval(secs => \(ClusterStatements.seconds(Self.analyzeInterval)))
                      FROM pg_stat_user_tables WHERE relid = \(s + ".tasks")::regclass
                    """, logger: logger).decode((Bool, Bool).self) {
                    (due, analyze) = (vacuum, statistics)
                }
                if due {
                    let options = analyze ? "(ANALYZE) " : ""
                    try await connection.query(PostgresQuery(unsafeSQL: "VACUUM \(options)\(s).tasks, \(s).nodes"), logger: logger)
                }
                _ = try await Self.flag(connection, "SELECT pg_advisory_unlock(hashtext(\(lock)))", logger)
                return due
            } catch {
                // The lock goes with its session when the connection is gone; else give it back.
                _ = try? await Self.flag(connection, "SELECT pg_advisory_unlock(hashtext(\(lock)))", logger)
                throw error
            }
        }
    }

    /// The name of the janitor's advisory lock (its key: `hashtext` of it), one per schema.
    static func lockName(schema: String) -> String { schema + ".janitor" }

    private static func flag(_ connection: PostgresConnection, _ query: PostgresQuery, _ logger: Logger) async throws -> Bool {
        var value = false
        for try await flag in try await connection.query(query, logger: logger).decode(Bool.self) { value = flag }
        return value
    }
}
