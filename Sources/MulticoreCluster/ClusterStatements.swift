import struct Foundation.Date
import struct Foundation.UUID
import Logging
import PostgresNIO

/// A task as a node claimed it: what to run, and the attempt and owner its outcome is fenced by.
struct ClaimedTask: Sendable {
    let id: Int64
    let kind: String
    let payload: ByteBuffer
    let attempt: Int32
    let timeout: Duration?
    /// The node incarnation that claimed it.
    let owner: UUID
}

/// What a node recorded for one attempt of a task.
struct TaskOutcome: Sendable {
    /// Ready again: the task threw and its type asks for a retry (`ClusterRetryingTask`).
    static let ready: Int16 = 0
    static let succeeded: Int16 = 2
    static let failed: Int16 = 3
    /// A durable job cancelled before its outcome.
    static let cancelled: Int16 = 4

    let id: Int64
    let attempt: Int32
    let state: Int16
    let result: ByteBuffer
    let errorType: String
    let errorMessage: String

    static func success(_ task: ClaimedTask, result: ByteBuffer) -> TaskOutcome {
        TaskOutcome(id: task.id, attempt: task.attempt, state: succeeded, result: result, errorType: "", errorMessage: "")
    }

    static func failure(_ task: ClaimedTask, type: String, message: String) -> TaskOutcome {
        TaskOutcome(id: task.id, attempt: task.attempt, state: failed, result: ByteBuffer(), errorType: type, errorMessage: message)
    }

    /// The task threw and runs again (its error stays on the row until the next outcome).
    static func retry(_ task: ClaimedTask, type: String, message: String) -> TaskOutcome {
        TaskOutcome(id: task.id, attempt: task.attempt, state: ready, result: ByteBuffer(), errorType: type, errorMessage: message)
    }
}

/// An outcome a submitter read from the table (deleted there by its next read).
struct DeliveredOutcome: Sendable {
    let id: Int64
    let seq: Int64
    let state: Int16
    let result: ByteBuffer?
    let errorType: String?
    let errorMessage: String?
    let host: String?
    let pid: Int32?
    let attempt: Int32
}

/// Every SQL statement of the cluster, on the tables of `ClusterSchema`. Each is one statement
/// (one round trip, its own transaction); leases and ages are judged by the database's `now()`,
/// never by a node's clock.
struct ClusterStatements: Sendable {
    let database: ClusterDatabase
    let logger: Logger
    private var s: String { database.schema }
    /// The longest a statement waits for its reply (`withBoundedConnection`).
    static let replyDeadline: Duration = .seconds(10)

    /// Runs `query` and `read`s its rows on a connection of `client`, bounded: by
    /// `replyDeadline`, and by the connection's closing (`withBoundedConnection`).
    func run<T: Sendable>(_ client: PostgresClient, _ query: PostgresQuery,
                                  _ read: @escaping @Sendable (PostgresRowSequence) async throws -> T) async throws -> T {
        let logger = logger
        return try await withBoundedConnection(client, within: Self.replyDeadline) { connection in
            try await read(try await connection.query(query, logger: logger))
        }
    }

    /// Runs a prepared `statement` (prepared on the connection the first time it runs there)
    /// and returns its rows, bounded as `run` is.
    func execute<Statement: PostgresPreparedStatement>(_ client: PostgresClient, _ statement: Statement) async throws -> [Statement.Row]
        where Statement.Row: Sendable {
        let logger = logger
        return try await withBoundedConnection(client, within: Self.replyDeadline) { connection in
            var rows: [Statement.Row] = []
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            return rows
        }
    }

    // MARK: Submitters

    /// Inserts a batch of tasks of one session and wakes the nodes (one NOTIFY per batch: NOTIFY
    /// serialises commits). Idempotent: a batch tried again after its connection died (committed
    /// or not) inserts each task once. A batch is one statement, so its rows are all there or
    /// none: the insert looks once for any row of the batch's range of `seqs` (consecutive, as
    /// `ClusterCollector.reserve` gives them) and inserts nothing if there is one. Cheaper than
    /// `ON CONFLICT` (a speculative insertion per row: a third of an insert's cost, measured
    /// here); a try that overlaps an earlier one still running on the server fails on the unique
    /// index, and is tried again.
    func insert(_ client: PostgresClient, session: UUID, seqs: [Int64], kinds: [String], payloads: [ByteBuffer],
                timeoutsMilliseconds: [Int64], maxAttempts: Int32) async throws {
        guard let first = seqs.min(), let last = seqs.max() else { return }
        _ = try await execute(client, ClusterPrepared.Insert(
            session: session, maxAttempts: maxAttempts, seqs: seqs, kinds: kinds, payloads: payloads,
            timeoutsMilliseconds: timeoutsMilliseconds, first: first, last: last, readyChannel: database.readyChannel))
    }

    /// Reads up to `limit` finished tasks of `session`, and deletes those of the previous read
    /// (`acknowledged`: delivered by then). Deleting only what an earlier reply brought keeps an
    /// outcome whose reply was lost with its connection: it is read again next time.
    func drain(_ client: PostgresClient, session: UUID, acknowledged: [Int64], limit: Int) async throws -> [DeliveredOutcome] {
        try await execute(client, ClusterPrepared.Drain(acknowledged: acknowledged, session: session, limit: Int64(limit)))
    }

    /// Deletes what is left of a session (a submitter that shuts down), its durable jobs apart.
    func forget(_ client: PostgresClient, session: UUID) async throws {
        try await run(client, """
            WITH gone AS (DELETE FROM \(unescaped: s).tasks WHERE session = \(session) AND NOT job RETURNING state)
            SELECT count(*), (SELECT count(*) FROM (SELECT pg_notify(\(database.readyChannel), 'cancel')
                                                   WHERE EXISTS (SELECT 1 FROM gone WHERE state = 1)) woken) FROM gone
            """) { _ in }
    }

    /// Deletes the tasks `seqs` of `session` (their futures were cancelled): those queued never
    /// run; for those running, the nodes are told to look (`cancel` on the ready channel), and
    /// stop them on finding them gone (`stale`).
    func withdraw(_ client: PostgresClient, session: UUID, seqs: [Int64]) async throws {
        try await run(client, """
            WITH gone AS (DELETE FROM \(unescaped: s).tasks WHERE session = \(session) AND seq = ANY(\(seqs)::bigint[]) AND NOT job
                          RETURNING state)
            SELECT count(*), (SELECT count(*) FROM (SELECT pg_notify(\(database.readyChannel), 'cancel')
                                                   WHERE EXISTS (SELECT 1 FROM gone WHERE state = 1)) woken) FROM gone
            """) { _ in }
    }

    // MARK: Durable jobs

    /// Inserts a durable job, or finds the one that holds `key` (not finished yet), and returns
    /// its id; nil when neither (the key's job finished in between: try again). Idempotent: tried
    /// again after its connection died, it finds its own row by `session` and `seq`.
    func enqueue(_ client: PostgresClient, session: UUID, seq: Int64, kind: String, payload: ByteBuffer, key: String?,
                 priority: Int16, runAt: Date?, delaySeconds: Double, timeoutMilliseconds: Int64, maxAttempts: Int32) async throws -> Int64? {
        try await run(client, """
            WITH new AS (
                INSERT INTO \(unescaped: s).tasks (session, seq, kind, payload, priority, run_at, timeout_ms, max_attempts, job, key)
                VALUES (\(session), \(seq), \(kind), \(payload), \(priority),
                        coalesce(\(runAt)::timestamptz, now()) + make_interval(secs => \(delaySeconds)),
                        nullif(\(timeoutMilliseconds), -1), \(maxAttempts), true, \(key))
                ON CONFLICT DO NOTHING
                RETURNING id),
            woken AS (SELECT pg_notify(\(database.readyChannel), '') FROM new)
            SELECT id, (SELECT count(*) FROM woken) FROM new
            UNION ALL
            (SELECT id, 0 FROM \(unescaped: s).tasks
              WHERE ((session = \(session) AND seq = \(seq)) OR (key = \(key) AND state < 2)) AND NOT EXISTS (SELECT 1 FROM new)
              ORDER BY (session = \(session) AND seq = \(seq)) DESC LIMIT 1)
            """) { rows in
            var found: Int64?
            for try await (id, _) in rows.decode((Int64, Int64).self) { found = found ?? id }
            return found
        }
    }

    /// The rows of the durable jobs `ids` that exist, finished or not.
    func jobs(_ client: PostgresClient, ids: [Int64]) async throws -> [DeliveredOutcome] {
        try await run(client, """
            SELECT id, seq, state, result, error_type, error_message, node_host, node_pid, attempt FROM \(unescaped: s).tasks
             WHERE id = ANY(\(ids)::bigint[]) AND job
            """) { rows in try await Self.outcomes(rows) }
    }

    /// Marks a durable job cancelled unless it finished; a node running it is told to look, and
    /// stops it. Returns whether it was cancelled.
    func cancelJob(_ client: PostgresClient, id: Int64) async throws -> Bool {
        try await run(client, """
            WITH target AS MATERIALIZED (
                SELECT id, state FROM \(unescaped: s).tasks WHERE id = \(id) AND job AND state < 2 FOR UPDATE),
            cancelled AS (
                UPDATE \(unescaped: s).tasks t SET state = \(TaskOutcome.cancelled), owner = NULL, finished_at = now()
                  FROM target WHERE t.id = target.id
                RETURNING target.state AS was, t.session),
            woken AS (
                SELECT pg_notify(\(database.readyChannel), CASE WHEN was = 1 THEN 'cancel' ELSE '' END),
                       pg_notify(\(s + "_done_") || replace(session::text, '-', ''), '')
                  FROM cancelled)
            SELECT was, (SELECT count(*) FROM woken) FROM cancelled
            """) { rows in
            var cancelled = false
            for try await _ in rows.decode((Int16, Int64).self) { cancelled = true }
            return cancelled
        }
    }

    /// Deletes a finished durable job; returns whether there was one.
    func deleteJob(_ client: PostgresClient, id: Int64) async throws -> Bool {
        try await run(client, "DELETE FROM \(unescaped: s).tasks WHERE id = \(id) AND job AND state >= 2 RETURNING 1") { rows in
            var deleted = false
            for try await _ in rows.decode(Int32.self) { deleted = true }
            return deleted
        }
    }

    private static func outcomes(_ rows: PostgresRowSequence) async throws -> [DeliveredOutcome] {
        var delivered: [DeliveredOutcome] = []
        for try await (id, seq, state, result, errorType, errorMessage, host, pid, attempt) in rows.decode(
            (Int64, Int64, Int16, ByteBuffer?, String?, String?, String?, Int32?, Int32).self) {
            delivered.append(DeliveredOutcome(id: id, seq: seq, state: state, result: result, errorType: errorType,
                                              errorMessage: errorMessage, host: host, pid: pid, attempt: attempt))
        }
        return delivered
    }

    // MARK: Nodes

    func register(_ client: PostgresClient, node: UUID, host: String, pid: Int32, kinds: [String]) async throws {
        try await run(client, """
            INSERT INTO \(unescaped: s).nodes (id, host, pid, kinds) VALUES (\(node), \(host), \(pid), \(kinds)::text[])
            """) { _ in }
    }

    /// Marks the node alive; false when its row is gone: it was declared dead.
    func heartbeat(_ client: PostgresClient, node: UUID) async throws -> Bool {
        try await run(client, """
            UPDATE \(unescaped: s).nodes SET heartbeat_at = now() WHERE id = \(node) RETURNING 1
            """) { rows in
            var found = false
            for try await _ in rows.decode(Int32.self) { found = true }
            return found
        }
    }

    /// Claims up to `limit` ready tasks of the kinds this node knows, oldest first, for the
    /// incarnation `node` (which must still be registered: a node declared dead claims nothing).
    /// The materialized CTE is a fence: inlined (PostgreSQL 12 and later inline CTEs), the planner
    /// may run the LIMIT subquery again for each row it updates, and with SKIP LOCKED each run
    /// finds other rows (a node once claimed 9,000 tasks with a LIMIT of 32, seen here). SKIP
    /// LOCKED lets nodes claim side by side. The attempt is counted here, so crash loops count too.
    func claim(_ client: PostgresClient, node: UUID, kinds: [String], limit: Int) async throws -> [ClaimedTask] {
        try await execute(client, ClusterPrepared.Claim(kinds: kinds, node: node, limit: Int64(limit)))
    }

    /// Records a batch of outcomes, each only if the task is still running under `node` at the
    /// same attempt (a node declared dead, whose task was requeued, changes nothing), and wakes
    /// the submitters concerned (one NOTIFY per session and batch). A retry (state 0) makes the
    /// task ready again after a back-off of 0.1 s doubling with each attempt, up to 10 s, by the
    /// database's clock. Returns the ids recorded.
    func complete(_ client: PostgresClient, node: UUID, host: String, pid: Int32, outcomes: [TaskOutcome]) async throws -> Set<Int64> {
        Set(try await execute(client, ClusterPrepared.Complete(host: host, pid: pid, outcomes: outcomes, node: node,
                                                               donePrefix: s + "_done_")))
    }

    /// Requeues the tasks of nodes that are gone or whose last heartbeat is older than
    /// `deadAfter` (by the database's clock), or fails them with `NodeLost` once their attempts
    /// are used up; then deletes those nodes' rows. Any node may run it; SKIP LOCKED keeps
    /// concurrent rescuers apart. Returns the tasks requeued and failed.
    func rescue(_ client: PostgresClient, deadAfter: Duration) async throws -> (requeued: Int, failed: Int) {
        let seconds = Self.seconds(deadAfter)
        return try await run(client, """
            WITH dead AS MATERIALIZED (
                SELECT t.id FROM \(unescaped: s).tasks t LEFT JOIN \(unescaped: s).nodes n ON n.id = t.owner
                 WHERE t.state = 1 AND (n.id IS NULL OR n.heartbeat_at < now() - make_interval(secs => \(seconds)))
                 FOR UPDATE OF t SKIP LOCKED),
            rescued AS (
                UPDATE \(unescaped: s).tasks t SET
                    state = CASE WHEN t.attempt < t.max_attempts THEN 0 ELSE 3 END,
                    error_type = CASE WHEN t.attempt < t.max_attempts THEN NULL ELSE 'NodeLost' END,
                    error_message = CASE WHEN t.attempt < t.max_attempts THEN NULL
                        ELSE 'every node that ran the task stopped heartbeating while running it' END,
                    finished_at = CASE WHEN t.attempt < t.max_attempts THEN NULL ELSE now() END,
                    owner = NULL
                  FROM dead WHERE t.id = dead.id
                RETURNING t.session, t.state, t.kind),
            lost AS (
                INSERT INTO \(unescaped: s).failures (kind, error_type) SELECT kind, 'NodeLost' FROM rescued WHERE state = 3),
            woken AS (
                SELECT pg_notify(\(s + "_done_") || replace(session::text, '-', ''), '')
                  FROM (SELECT DISTINCT session FROM rescued WHERE state = 3) sessions),
            ready AS (
                SELECT pg_notify(\(database.readyChannel), '') FROM (SELECT 1 FROM rescued WHERE state = 0 LIMIT 1) one),
            gone AS (
                DELETE FROM \(unescaped: s).nodes WHERE heartbeat_at < now() - make_interval(secs => \(seconds)))
            SELECT (SELECT count(*) FROM rescued WHERE state = 0), (SELECT count(*) FROM rescued WHERE state = 3),
                   (SELECT count(*) FROM woken), (SELECT count(*) FROM ready)
            """) { rows in
            var counts = (requeued: 0, failed: 0)
            for try await (requeued, failed, _, _) in rows.decode((Int64, Int64, Int64, Int64).self) {
                counts = (Int(requeued), Int(failed))
            }
            return counts
        }
    }

    /// Gives back the tasks the queue says `node` runs but the node does not hold (`held`): a
    /// claim whose reply was lost with its connection committed without the node knowing. Only
    /// claims older than `grace` count (a reply may still be on its way). Their attempt stays
    /// counted, so a claim that comes back is fenced apart from the lost one.
    func releaseUnheld(_ client: PostgresClient, node: UUID, held: [Int64], grace: Duration) async throws -> Int {
        try await run(client, """
            WITH lost AS MATERIALIZED (
                SELECT id FROM \(unescaped: s).tasks
                 WHERE state = 1 AND owner = \(node) AND NOT (id = ANY(\(held)::bigint[]))
                   AND claimed_at < now() - make_interval(secs => \(Self.seconds(grace)))
                 FOR UPDATE SKIP LOCKED),
            released AS (
                UPDATE \(unescaped: s).tasks t SET state = 0, owner = NULL FROM lost WHERE t.id = lost.id RETURNING 1)
            SELECT (SELECT count(*) FROM released)
            """) { rows in
            var count = 0
            for try await released in rows.decode(Int64.self) { count = Int(released) }
            return count
        }
    }

    /// The tasks of `held` that the queue no longer says `node` runs: withdrawn or cancelled by
    /// their submitter, or requeued while the node was taken for dead. The node stops them.
    func stale(_ client: PostgresClient, node: UUID, held: [Int64]) async throws -> [Int64] {
        try await run(client, """
            SELECT h FROM unnest(\(held)::bigint[]) h
             WHERE NOT EXISTS (SELECT 1 FROM \(unescaped: s).tasks t WHERE t.id = h AND t.state = 1 AND t.owner = \(node))
            """) { rows in
            var stale: [Int64] = []
            for try await id in rows.decode(Int64.self) { stale.append(id) }
            return stale
        }
    }

    /// Deletes finished durable jobs older than `retention`, and failures older than an hour
    /// (a thousand rows at most each time: nodes run it at each heartbeat).
    func prune(_ client: PostgresClient, jobRetention retention: Duration) async throws {
        try await run(client, """
            WITH old AS (
                DELETE FROM \(unescaped: s).tasks WHERE id IN (
                    SELECT id FROM \(unescaped: s).tasks
                     WHERE job AND state >= 2 AND finished_at < now() - make_interval(secs => \(Self.seconds(retention)))
                     LIMIT 1000)),
            forgotten AS (
                DELETE FROM \(unescaped: s).failures WHERE ctid IN (
                    SELECT ctid FROM \(unescaped: s).failures WHERE at < now() - interval '1 hour' LIMIT 1000))
            SELECT 1
            """) { _ in }
    }

    /// A node that stops: its running tasks go back to the queue (their attempt not counted) and
    /// its row goes.
    func leave(_ client: PostgresClient, node: UUID) async throws {
        try await run(client, """
            WITH handed AS (
                UPDATE \(unescaped: s).tasks SET state = 0, owner = NULL, attempt = attempt - 1
                 WHERE state = 1 AND owner = \(node)
                RETURNING 1),
            removed AS (DELETE FROM \(unescaped: s).nodes WHERE id = \(node))
            SELECT (SELECT count(*) FROM handed), pg_notify(\(database.readyChannel), '')
            """) { _ in }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
