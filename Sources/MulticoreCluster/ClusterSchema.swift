import Logging
import PostgresNIO

/// The cluster's tables, created and migrated by the library: versioned (a `migrations` table in
/// the schema), idempotent, and safe when several nodes and submitters start at once (one
/// transaction under an advisory lock keyed by the schema's name).
///
/// - `nodes`: one row per node *incarnation* (a new id each time a node starts, or comes back
///   after it was declared dead), with its heartbeat, on the database's clock.
/// - `tasks`: one row per task, from submit until its submitter took its outcome (then deleted).
///   `state` 0 ready, 1 running (`owner`, `attempt`), 2 succeeded (`result`), 3 failed
///   (`error_type`, `error_message`), 4 cancelled (durable jobs only: a session's cancelled
///   tasks are deleted). `session` and `seq` say whose and which it is.
/// - Version 2: durable jobs (`job`: kept after their outcome, until deleted or past the nodes'
///   `jobRetention`), their idempotency `key` (unique among the jobs not finished), and
///   `failures`, one row per failed task for an hour (what `multicore cluster status` counts).
/// - Version 3: the key's index holds the rows that have a key, no longer every row.
enum ClusterSchema {
    /// The latest version; `migrate` brings a schema up to it.
    static let version = 3

    /// The statements of each version, in order.
    static func migration(_ version: Int, schema s: String) -> [String] {
        switch version {
        case 1:
            [
                """
                CREATE TABLE \(s).nodes (
                    id uuid PRIMARY KEY, host text NOT NULL, pid int NOT NULL, kinds text[] NOT NULL,
                    started_at timestamptz NOT NULL DEFAULT now(), heartbeat_at timestamptz NOT NULL DEFAULT now())
                """,
                """
                CREATE TABLE \(s).tasks (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    session uuid NOT NULL, seq bigint NOT NULL,
                    kind text NOT NULL, payload bytea NOT NULL,
                    state smallint NOT NULL DEFAULT 0,
                    priority smallint NOT NULL DEFAULT 0,
                    run_at timestamptz NOT NULL DEFAULT now(),
                    attempt int NOT NULL DEFAULT 0, max_attempts int NOT NULL DEFAULT 3,
                    timeout_ms bigint,
                    owner uuid, claimed_at timestamptz,
                    result bytea, error_type text, error_message text, node_host text, node_pid int,
                    finished_at timestamptz,
                    UNIQUE (session, seq)
                ) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                        autovacuum_vacuum_cost_delay = 0)
                """,
                "CREATE INDEX tasks_ready ON \(s).tasks (priority, run_at, id) WHERE state = 0",
                "CREATE INDEX tasks_running ON \(s).tasks (owner) WHERE state = 1",
                "CREATE INDEX tasks_done ON \(s).tasks (session) WHERE state >= 2",
            ]
        case 2:
            [
                "ALTER TABLE \(s).tasks ADD COLUMN job boolean NOT NULL DEFAULT false, ADD COLUMN key text",
                "CREATE UNIQUE INDEX tasks_key ON \(s).tasks (key) WHERE state < 2",
                "CREATE INDEX tasks_jobs_finished ON \(s).tasks (finished_at) WHERE job AND state >= 2",
                """
                CREATE TABLE \(s).failures (
                    at timestamptz NOT NULL DEFAULT now(), kind text NOT NULL, error_type text, node_host text)
                """,
                "CREATE INDEX failures_at ON \(s).failures (at)",
            ]
        case 3:
            // Keys only: the tasks of a map have none, and an entry each for a NULL key cost an
            // index insertion at each insert and each claim.
            [
                "DROP INDEX \(s).tasks_key",
                "CREATE UNIQUE INDEX tasks_key ON \(s).tasks (key) WHERE state < 2 AND key IS NOT NULL",
            ]
        default: []
        }
    }

    /// Creates the schema and its tables, or brings them up to `version`; does nothing when they
    /// are current. Returns the version found before.
    @discardableResult
    static func migrate(_ client: PostgresClient, schema s: String, logger: Logger) async throws -> Int {
        // Bounded: a server that cannot be reached fails the start instead of holding it.
        try await withBoundedConnection(client, within: migrationDeadline) { connection in
            try await connection.withTransaction(logger: logger) { connection in
                // Serialises concurrent migrations of this schema (released at commit).
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(s + ".migrations")))", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(s)"), logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(s).migrations (
                        version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                    """), logger: logger)
                var found = 0
                for try await current in try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0) FROM \(s).migrations"), logger: logger
                ).decode(Int32.self) {
                    found = Int(current)
                }
                if found < version {
                    for next in (found + 1)...version {
                        for statement in migration(next, schema: s) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "INSERT INTO \(s).migrations (version) VALUES (\(next))"), logger: logger)
                    }
                }
                return found
            }
        }
    }

    /// The longest a migration may take, its connection included.
    static let migrationDeadline: Duration = .seconds(60)
}
