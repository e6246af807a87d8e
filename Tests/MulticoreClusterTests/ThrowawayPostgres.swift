#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import MulticoreCluster
import MulticoreTestSupport
import MulticoreThreading
import PostgresNIO

/// A throwaway PostgreSQL server started by Scripts/postgres-server.sh (initdb in a temporary
/// folder owned by `postgres`, 127.0.0.1, a free port, fsync off; the server binaries are
/// installed with apt-get when absent and the tests run as root). The script stops the server
/// and removes its folder once this process is gone, however it ended.
struct PostgresServer: Sendable {
    let directory: String
    let url: String

    /// Starts a server; with `addresses`, it also listens there and admits clients from `network`
    /// (a CIDR) as it does those on loopback.
    static func start(addresses: [String] = [], network: String = "") -> Result<PostgresServer, ProgramRunError> {
        let directory = NSTemporaryDirectory() + "multicore-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        } catch {
            return .failure(ProgramRunError("cannot make \(directory): \(error)"))
        }
        var arguments = ["start", directory, "\(getpid())"]
        if !addresses.isEmpty { arguments += [addresses.joined(separator: ","), network] }
        let started = runScript(arguments)
        guard started.status == 0, let url = started.output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            return .failure(ProgramRunError("the server did not start (status \(started.status)): \(started.output)"))
        }
        return .success(PostgresServer(directory: directory, url: String(url)))
    }

    /// The server's URL with another host (one of its `addresses`).
    func url(host: String) -> String { url.replacingOccurrences(of: "@127.0.0.1:", with: "@\(host):") }

    /// `pg_ctl restart -m fast`: every client is disconnected, and the server comes back on the
    /// same port.
    func restart() async throws {
        let restarted = try await runProgramAside(scriptPath("postgres-server.sh"), ["restart", directory])
        guard restarted.status == 0 else { throw ProgramRunError("the restart failed (status \(restarted.status)): \(restarted.output)") }
    }

    func stop() { _ = Self.runScript(["stop", directory]) }

    static func install() -> Result<Void, ProgramRunError> {
        let install = runScript(["install"])
        guard install.status == 0 else {
            return .failure(ProgramRunError("Scripts/postgres-server.sh install failed (status \(install.status)): \(install.output)"))
        }
        return .success(())
    }

    private static func runScript(_ arguments: [String]) -> (status: Int32, output: String) {
        runProgram(scriptPath("postgres-server.sh"), arguments, within: .seconds(600))
    }
}

/// The path of a script in Scripts/.
func scriptPath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/\(name)").path
}

/// Runs a program to its end (at most `limit`: apt-get may take minutes on a fresh machine, a
/// start takes a second or two): its status (-1 when it could not run or ran out of time) and
/// output.
func runProgram(_ path: String, _ arguments: [String], within limit: Duration = testDeadline) -> (status: Int32, output: String) {
    do {
        let run = try ProgramRun(path: path, arguments)
        guard let status = run.wait(within: limit) else {
            run.signalGroup(SIGKILL)
            return (-1, "timed out: \(run.output)")
        }
        return (status, run.output)
    } catch {
        return (-1, "\(error)")
    }
}

/// Runs `work` on a thread of its own: the test waits for it without holding one of the few
/// threads of the cooperative pool (2 here) for seconds.
func aside<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
    let done = Future<T>()
    try JoinableThread(name: "aside", daemon: true) { try? done.finish(.success(work()), by: nil) }.start()
    return try await done.value
}

/// `runProgram`, aside.
func runProgramAside(_ path: String, _ arguments: [String], within limit: Duration = testDeadline) async throws
    -> (status: Int32, output: String) {
    try await aside { runProgram(path, arguments, within: limit) }
}

/// The server the cluster tests share, started on first use; each test uses a schema of its own.
enum ThrowawayPostgres {
    /// The server, or why there is none.
    static let server: Result<PostgresServer, ProgramRunError> = PostgresServer.install().flatMap { PostgresServer.start() }

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
        get throws { try server.get().url }
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

/// A direct connection to the test server, to look at the queue's tables as the tests go (its
/// statements bounded as the cluster's are: the tests terminate its connections too).
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
        let query = PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "$schema", with: schema))
        return try await withBoundedConnection(client, within: testDeadline) { connection in
            for try await value in try await connection.query(query, logger: connection.logger).decode(Int64?.self) { return value }
            return nil
        }
    }

    /// Polls `sql` (bounded) until it returns `expected`; a statement that fails (its connection
    /// was terminated) is tried again.
    func waitFor(_ sql: String, toBe expected: Int64?, within limit: Duration = testDeadline) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if (try? await int(sql)) == expected { return true }
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
