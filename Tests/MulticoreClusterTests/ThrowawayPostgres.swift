#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import MulticoreCluster
import MulticoreTestSupport
import PostgresNIO

/// One throwaway PostgreSQL server per test process, started on first use by
/// Scripts/postgres-server.sh (initdb in a temporary folder owned by `postgres`, 127.0.0.1, a
/// free port, fsync off; the server binaries are installed with apt-get when absent and the
/// tests run as root). The script stops the server and removes its folder once this process is
/// gone, however it ended. Each test uses a schema of its own.
enum ThrowawayPostgres {
    /// The server's URL, or why there is none.
    static let server: Result<String, ProgramRunError> = start()

    /// Whether the cluster tests can run; when they cannot, says why on standard error (the
    /// skipped tests carry the reason too).
    static let available: Bool = {
        if case .failure(let error) = server {
            FileHandle.standardError.write(Data("CLUSTER TESTS SKIPPED: no PostgreSQL server: \(error)\n".utf8))
            return false
        }
        return true
    }()

    static var url: String {
        get throws {
            switch server {
            case .success(let url): url
            case .failure(let error): throw error
            }
        }
    }

    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/postgres-server.sh").path

    private static func start() -> Result<String, ProgramRunError> {
        let install = runScript(["install"])
        guard install.status == 0 else {
            return .failure(ProgramRunError("Scripts/postgres-server.sh install failed (status \(install.status)): \(install.output)"))
        }
        let directory = NSTemporaryDirectory() + "multicore-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        } catch {
            return .failure(ProgramRunError("cannot make \(directory): \(error)"))
        }
        let started = runScript(["start", directory, "\(getpid())"])
        guard started.status == 0, let url = started.output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            return .failure(ProgramRunError("the server did not start (status \(started.status)): \(started.output)"))
        }
        return .success(String(url))
    }

    private static func runScript(_ arguments: [String]) -> (status: Int32, output: String) {
        do {
            let run = try ProgramRun(path: script, arguments)
            // apt-get may take minutes on a fresh machine; a start takes a second or two.
            guard let status = run.wait(within: .seconds(600)) else { return (-1, "timed out: \(run.output)") }
            return (status, run.output)
        } catch {
            return (-1, "\(error)")
        }
    }
}

/// Runs `body`, failing with `DeadlineExceeded` if it takes longer than `limit`: every wait in
/// the cluster tests is bounded, also by a body that ignores cancellation.
func within<T: Sendable>(_ limit: Duration = testDeadline, _ what: String = "the operation",
                         _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withAbandoningDeadline(limit, orThrow: { DeadlineExceeded(what: what, limit: limit) }, body)
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    let what: String
    let limit: Duration
    var description: String { "\(what) did not finish within \(limit)" }
}

/// A direct connection to the test server, to look at the queue's tables as the tests go.
final class QueueInspector: Sendable {
    let client: PostgresClient
    let schema: String
    private let running: Task<Void, Never>

    init(url: String, schema: String) throws {
        let parts = try ClusterURLParts(url)
        client = PostgresClient(configuration: .init(host: parts.host, port: parts.port, username: parts.user, password: nil,
                                                     database: parts.database, tls: .disable),
                                backgroundLogger: Logger(label: "inspector", factory: { _ in SwiftLogNoOpLogHandler() }))
        self.schema = schema
        let client = client
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// The first column of the first row of `sql` (with `$schema` replaced), as an Int64.
    /// Bounded by `testDeadline`.
    func int(_ sql: String) async throws -> Int64? {
        let client = client, query = PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "$schema", with: schema))
        return try await within(testDeadline, sql) {
            for try await value in try await client.query(query).decode(Int64?.self) { return value }
            return nil
        }
    }

    /// Polls `sql` (bounded) until it returns `expected`.
    func waitFor(_ sql: String, toBe expected: Int64?, within limit: Duration = testDeadline) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await int(sql) == expected { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// The parts of the test server's URL (postgres://user@host:port/database).
struct ClusterURLParts {
    let user: String, host: String, port: Int, database: String

    init(_ url: String) throws {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port,
              let user = components.user else { throw ProgramRunError("cannot read \(url)") }
        self.user = user
        self.host = host
        self.port = port
        database = String(components.path.dropFirst())
    }
}
