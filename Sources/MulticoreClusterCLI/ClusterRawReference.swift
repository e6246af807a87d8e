import Foundation
import Logging
import MulticoreCluster
import MulticoreThreading
import PostgresNIO

/// The raw references of the cluster rows: a bare PostgreSQL client (postgres-nio, plain
/// statements, no Multicore logic) doing the same work on the same server, in a table of the
/// queue's shape (`id`, `session`, `seq`, `kind`, `payload`, `state`, `attempt`, `owner`,
/// `result`; claims with `FOR UPDATE SKIP LOCKED` in a materialized CTE, completions fenced by
/// owner), in a schema of its own dropped at the end.
enum ClusterRawReference {
    /// Seconds per task of `tasks` x*2 rows inserted, claimed and completed in batches of 100:
    /// one client inserts, two claim and complete (the map's two nodes), and the first reads the
    /// finished rows back and deletes them (1,000 per statement), all at once; timed from the
    /// first insert until every result was read.
    static func map(url: String, schema: String, tasks n: Int) async throws -> Double {
        try await withClient(url: url, schema: schema) { client, s in
            let session = UUID()
            let start = monotonicSeconds()
            let finished = Locked(false)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for first in stride(from: 0, to: n, by: 100) {
                        let seqs = (first..<min(n, first + 100)).map { Int64($0) }
                        let payloads = seqs.map { value in ByteBuffer(integer: value) }
                        try await client.query("""
                            INSERT INTO \(unescaped: s).tasks (session, seq, kind, payload)
                            SELECT \(session), seq, 'double', payload FROM unnest(\(seqs)::bigint[], \(payloads)::bytea[]) AS t(seq, payload)
                            """, logger: quiet)
                    }
                }
                for _ in 0..<2 {
                    group.addTask {
                        let owner = UUID()
                        while !finished.withLock({ $0 }) {
                            var ids: [Int64] = [], results: [ByteBuffer] = []
                            for try await (id, payload) in try await client.query("""
                                WITH next AS MATERIALIZED (
                                    SELECT id FROM \(unescaped: s).tasks WHERE state = 0 ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
                                UPDATE \(unescaped: s).tasks t SET state = 1, attempt = t.attempt + 1, owner = \(owner)
                                  FROM next WHERE t.id = next.id RETURNING t.id, t.payload
                                """, logger: quiet).decode((Int64, ByteBuffer).self) {
                                ids.append(id)
                                results.append(ByteBuffer(integer: 2 * (payload.getInteger(at: payload.readerIndex, as: Int64.self) ?? 0)))
                            }
                            if ids.isEmpty {
                                try await Task.sleep(for: .milliseconds(1))
                                continue
                            }
                            try await client.query("""
                                UPDATE \(unescaped: s).tasks t SET state = 2, result = d.result, owner = NULL
                                  FROM unnest(\(ids)::bigint[], \(results)::bytea[]) AS d(id, result)
                                 WHERE t.id = d.id AND t.state = 1 AND t.owner = \(owner)
                                """, logger: quiet)
                        }
                    }
                }
                group.addTask {
                    var read = 0
                    while read < n {
                        var got = 0
                        for try await (seq, result) in try await client.query("""
                            DELETE FROM \(unescaped: s).tasks
                             WHERE id IN (SELECT id FROM \(unescaped: s).tasks WHERE session = \(session) AND state = 2 LIMIT 1000)
                            RETURNING seq, result
                            """, logger: quiet).decode((Int64, ByteBuffer).self) {
                            guard result.getInteger(at: result.readerIndex, as: Int64.self) == 2 * seq else {
                                throw BenchError("raw: a wrong result for \(seq)")
                            }
                            got += 1
                        }
                        read += got
                        if got == 0 { try await Task.sleep(for: .milliseconds(1)) }
                    }
                    finished.withLock { $0 = true }
                }
                try await group.waitForAll()
            }
            return (monotonicSeconds() - start) / Double(n)
        }
    }

    /// Seconds of each of `cycles` one-task round trips (after 5 not counted): the submitter
    /// inserts a row and notifies in one statement, a worker LISTENing wakes, claims it and
    /// completes it with a notification in the same statement, the submitter wakes and reads the
    /// result (deleting the row).
    static func latency(url: String, schema: String, cycles: Int) async throws -> [Double] {
        try await withClient(url: url, schema: schema) { client, s in
            let database = try ClusterDatabase(url: url)
            let ready = s + "_ready", done = s + "_done"
            let listening = Event()
            let worker = Task {
                let connection = try await PostgresConnection.connect(configuration: connectionConfiguration(database), id: 1, logger: quiet)
                defer { Task { try? await connection.close() } }
                let owner = UUID()
                try await connection.listen(on: ready) { notifications in
                    listening.set()
                    for try await _ in notifications {
                        var claimed: [(Int64, ByteBuffer)] = []
                        for try await row in try await client.query("""
                            WITH next AS MATERIALIZED (
                                SELECT id FROM \(unescaped: s).tasks WHERE state = 0 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                            UPDATE \(unescaped: s).tasks t SET state = 1, attempt = t.attempt + 1, owner = \(owner)
                              FROM next WHERE t.id = next.id RETURNING t.id, t.payload
                            """, logger: quiet).decode((Int64, ByteBuffer).self) { claimed.append(row) }
                        for (id, payload) in claimed {
                            let result = ByteBuffer(integer: 2 * (payload.getInteger(at: payload.readerIndex, as: Int64.self) ?? 0))
                            try await client.query("""
                                WITH finished AS (
                                    UPDATE \(unescaped: s).tasks t SET state = 2, result = \(result), owner = NULL
                                     WHERE t.id = \(id) AND t.state = 1 AND t.owner = \(owner) RETURNING t.session)
                                SELECT pg_notify(\(done), '') FROM finished
                                """, logger: quiet)
                        }
                    }
                }
            }
            defer { worker.cancel() }
            let deadline = monotonicSeconds() + 10
            while !listening.isSet, monotonicSeconds() < deadline { try await Task.sleep(for: .milliseconds(1)) }
            let submitter = try await PostgresConnection.connect(configuration: connectionConfiguration(database), id: 2, logger: quiet)
            defer { Task { try? await submitter.close() } }
            let session = UUID()
            return try await submitter.listen(on: done) { notifications in
                var woken = notifications.makeAsyncIterator()
                var samples: [Double] = []
                for seq in 0..<Int64(cycles + 5) {
                    let start = monotonicSeconds()
                    try await client.query("""
                        WITH inserted AS (
                            INSERT INTO \(unescaped: s).tasks (session, seq, kind, payload)
                            VALUES (\(session), \(seq), 'double', \(ByteBuffer(integer: seq))) RETURNING 1)
                        SELECT pg_notify(\(ready), '') FROM inserted
                        """, logger: quiet)
                    guard try await woken.next() != nil else { throw BenchError("raw: the LISTEN ended") }
                    var value: Int64?
                    for try await result in try await client.query("""
                        DELETE FROM \(unescaped: s).tasks WHERE session = \(session) AND seq = \(seq) AND state = 2 RETURNING result
                        """, logger: quiet).decode(ByteBuffer.self) {
                        value = result.getInteger(at: result.readerIndex, as: Int64.self)
                    }
                    guard value == 2 * seq else { throw BenchError("raw: no result for \(seq) when woken") }
                    if seq >= 5 { samples.append(monotonicSeconds() - start) }
                }
                return samples
            }
        }
    }

    /// Drops `schema` (a benchmark's cluster schema) from the server; errors are ignored.
    static func dropSchema(url: String, schema: String) async {
        guard let database = try? ClusterDatabase(url: url) else { return }
        let client = PostgresClient(configuration: clientConfiguration(database), backgroundLogger: quiet)
        let running = Task { await client.run() }
        defer { running.cancel() }
        _ = try? await withAbandoningDeadline(.seconds(30), orThrow: { BenchError("dropping \(schema) took over 30 s") }, {
            try await client.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE", logger: quiet)
        })
    }

    /// Runs `body` with a client of the server and a fresh table `schema.tasks`; drops the schema
    /// after. Bounded: 5 minutes.
    private static func withClient<T: Sendable>(url: String, schema: String,
                                                _ body: @escaping @Sendable (PostgresClient, String) async throws -> T) async throws -> T {
        let database = try ClusterDatabase(url: url)
        let client = PostgresClient(configuration: clientConfiguration(database), backgroundLogger: quiet)
        let running = Task { await client.run() }
        defer { running.cancel() }
        let result = try await withAbandoningDeadline(.seconds(300), orThrow: { BenchError("the raw reference took over 5 minutes") }) {
            try await client.query("CREATE SCHEMA \(unescaped: schema)", logger: quiet)
            try await client.query("""
                CREATE TABLE \(unescaped: schema).tasks (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, session uuid NOT NULL, seq bigint NOT NULL,
                    kind text NOT NULL, payload bytea NOT NULL, state smallint NOT NULL DEFAULT 0,
                    attempt int NOT NULL DEFAULT 0, owner uuid, result bytea, UNIQUE (session, seq))
                """, logger: quiet)
            try await client.query("CREATE INDEX tasks_ready ON \(unescaped: schema).tasks (id) WHERE state = 0", logger: quiet)
            try await client.query("CREATE INDEX tasks_done ON \(unescaped: schema).tasks (session) WHERE state = 2", logger: quiet)
            return try await body(client, schema)
        }
        _ = try? await client.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE", logger: quiet)
        return result
    }

    static func clientConfiguration(_ database: ClusterDatabase) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: database.host, port: database.port, username: database.username,
                                                         password: database.password, database: database.database, tls: .disable)
        configuration.options.maximumConnections = 4
        return configuration
    }

    static func connectionConfiguration(_ database: ClusterDatabase) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(host: database.host, port: database.port, username: database.username,
                                         password: database.password, database: database.database, tls: .disable)
    }

    static let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
}
