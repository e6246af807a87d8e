import struct Foundation.UUID
import PostgresNIO

/// The statements every task goes through (submit, claim, complete, read back), prepared once
/// per connection and then only bound, planned for their values and run: parsed at each call,
/// they cost a quarter of a millisecond more per task here (`cluster.submit.latency` 2.22-2.37
/// against 1.96-2.08 ms in interleaved runs). Their text is fixed (`PostgresPreparedStatement.sql`
/// is static): the tables are named without their schema, which the cluster's connections have
/// as their `search_path` (`ClusterDatabase.connectionParameters`, which also keeps plans made
/// for each run's values), and the channels are parameters. Each is the same statement as the
/// `ClusterStatements` method that runs it, which says what it does and why.
enum ClusterPrepared {
    /// `ClusterStatements.insert`.
    struct Insert: PostgresPreparedStatement {
        static let name = "multicore_insert_v3"
        static let sql = """
            WITH inserted AS (
                INSERT INTO tasks (session, seq, kind, payload, timeout_ms, max_attempts)
                SELECT $1, seq, kind, payload, nullif(timeout_ms, -1), $2
                  FROM unnest($3::bigint[], $4::text[], $5::bytea[], $6::bigint[]) AS t(seq, kind, payload, timeout_ms)
                 WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE session = $1 AND seq BETWEEN $7 AND $8)
                RETURNING 1)
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM (SELECT pg_notify($9, '')) woken)
            """
        typealias Row = (Int64, Int64)

        let session: UUID, maxAttempts: Int32
        let seqs: [Int64], kinds: [String], payloads: [ByteBuffer], timeoutsMilliseconds: [Int64]
        let first: Int64, last: Int64
        let readyChannel: String

        func makeBindings() throws -> PostgresBindings {
            try PostgresBindings(session, maxAttempts, seqs, kinds, payloads, timeoutsMilliseconds, first, last, readyChannel)
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// `ClusterStatements.drain`.
    struct Drain: PostgresPreparedStatement {
        static let name = "multicore_drain_v3"
        static let sql = """
            WITH gone AS (DELETE FROM tasks WHERE id = ANY($1::bigint[]))
            SELECT id, seq, state, result, error_type, error_message, node_host, node_pid, attempt FROM tasks
             WHERE session = $2 AND state >= 2 AND NOT job AND NOT (id = ANY($1::bigint[]))
             LIMIT $3
            """
        typealias Row = DeliveredOutcome

        let acknowledged: [Int64], session: UUID, limit: Int64

        func makeBindings() throws -> PostgresBindings { try PostgresBindings(acknowledged, session, limit) }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            let (id, seq, state, result, errorType, errorMessage, host, pid, attempt) = try row.decode(
                (Int64, Int64, Int16, ByteBuffer?, String?, String?, String?, Int32?, Int32).self)
            return DeliveredOutcome(id: id, seq: seq, state: state, result: result, errorType: errorType,
                                    errorMessage: errorMessage, host: host, pid: pid, attempt: attempt)
        }
    }

    /// `ClusterStatements.claim`.
    struct Claim: PostgresPreparedStatement {
        static let name = "multicore_claim_v3"
        static let sql = """
            WITH next AS MATERIALIZED (
                SELECT id FROM tasks
                 WHERE state = 0 AND run_at <= now() AND kind = ANY($1::text[])
                   AND EXISTS (SELECT 1 FROM nodes WHERE id = $2)
                 ORDER BY priority, run_at, id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)
            UPDATE tasks t SET state = 1, attempt = t.attempt + 1, owner = $2, claimed_at = now()
              FROM next WHERE t.id = next.id
            RETURNING t.id, t.kind, t.payload, t.attempt, t.timeout_ms
            """
        typealias Row = ClaimedTask

        let kinds: [String], node: UUID, limit: Int64

        func makeBindings() throws -> PostgresBindings { try PostgresBindings(kinds, node, limit) }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            let (id, kind, payload, attempt, timeout) = try row.decode((Int64, String, ByteBuffer, Int32, Int64?).self)
            return ClaimedTask(id: id, kind: kind, payload: payload, attempt: attempt, timeout: timeout.map { .milliseconds($0) },
                               owner: node)
        }
    }

    /// `ClusterStatements.complete`.
    struct Complete: PostgresPreparedStatement {
        static let name = "multicore_complete_v3"
        static let sql = """
            WITH done AS (
                UPDATE tasks t
                   SET state = d.state, result = CASE WHEN d.state = 2 THEN d.result END,
                       error_type = nullif(d.error_type, ''), error_message = nullif(d.error_message, ''),
                       node_host = $1, node_pid = $2, owner = NULL,
                       finished_at = CASE WHEN d.state = 0 THEN NULL ELSE now() END,
                       run_at = CASE WHEN d.state = 0 THEN now() + make_interval(secs => least(0.1 * power(2, t.attempt - 1), 10)::float8)
                                ELSE t.run_at END
                  FROM unnest($3::bigint[], $4::int[], $5::smallint[], $6::bytea[], $7::text[], $8::text[])
                       AS d(id, attempt, state, result, error_type, error_message)
                 WHERE t.id = d.id AND t.state = 1 AND t.owner = $9 AND t.attempt = d.attempt
                RETURNING t.id, t.session, t.kind, t.state, t.error_type),
            failed AS (
                INSERT INTO failures (kind, error_type, node_host)
                SELECT kind, error_type, $1 FROM done WHERE state = 3),
            woken AS (
                SELECT pg_notify($10 || replace(session::text, '-', ''), '')
                  FROM (SELECT DISTINCT session FROM done WHERE state >= 2) sessions)
            SELECT id, (SELECT count(*) FROM woken) FROM done
            """
        typealias Row = Int64

        let host: String, pid: Int32, outcomes: [TaskOutcome], node: UUID, donePrefix: String

        func makeBindings() throws -> PostgresBindings {
            try PostgresBindings(host, pid, outcomes.map(\.id), outcomes.map(\.attempt), outcomes.map(\.state),
                                 outcomes.map(\.result), outcomes.map(\.errorType), outcomes.map(\.errorMessage), node, donePrefix)
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int64, Int64).self).0 }
    }
}

extension PostgresBindings {
    /// Bindings of `values`, in order ($1, $2, ...).
    init(_ values: any PostgresThrowingDynamicTypeEncodable...) throws {
        self.init(capacity: values.count)
        for value in values { try append(value) }
    }
}
