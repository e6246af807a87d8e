import struct Foundation.UUID
import Logging
import MulticoreProcessing
import MulticoreThreading
import PostgresNIO

/// Runs tasks on the nodes of a cluster whose queue is a PostgreSQL database: the submitting
/// side. Tasks are the same `ProcessTask` types a `ProcessPoolExecutor` takes; what the nodes
/// send back comes through the database (a notification wakes the submitter, polling every
/// `pollInterval` is the truth).
///
///     let cluster = try await Cluster(url: "postgres://queue@db/queue")
///     let doubled = try await cluster.map((1...1000).map { Twice(value: $0) })
///     let one = try await cluster.submit(Twice(value: 21)).value
///     await cluster.shutdown()
///
/// Each handle is a *session*: its tasks' outcomes come back to it alone, and the rows of a task
/// are deleted once its outcome is delivered.
public final class Cluster: Sendable {
    public let database: ClusterDatabase
    /// This handle's id in the queue: its tasks carry it, and its outcomes come on its channel.
    public let session: UUID
    /// How many nodes may run a task that loses its node (missed heartbeats) before it fails
    /// with `ClusterError.nodeLost` (default 3, as Ray). Errors the task throws are not retried.
    public let maxAttempts: Int
    /// The most a finished task waits to be noticed when its notification is lost.
    public let pollInterval: Duration
    /// Tasks inserted per statement (and per notification) by `map` and `submit(contentsOf:)`.
    public static let batchSize = 1000
    /// Tries of a batch's insert before `submit` gives up with `ClusterError.database` (about 10 s
    /// of back-off: a dropped connection or a server restart in between is waited out).
    static let insertAttempts = 8

    private let client: PostgresClient
    private let statements: ClusterStatements
    private let collector: ClusterCollector
    private let background: Locked<[Task<Void, Never>]>

    /// Connects, creates or migrates the schema, and starts listening for outcomes.
    /// - Throws: `ClusterError.invalidURL`, `.invalidSchema`, `.invalidConfiguration`;
    ///   `ClusterError.database` when the server cannot be reached.
    public init(url: String, schema: String = "multicore", maxAttempts: Int = 3, pollInterval: Duration = .milliseconds(500),
                logger: Logger? = nil) async throws {
        let database = try ClusterDatabase(url: url, schema: schema)
        guard maxAttempts >= 1 else { throw ClusterError.invalidConfiguration("maxAttempts must be at least 1, not \(maxAttempts)") }
        guard pollInterval > .zero else { throw ClusterError.invalidConfiguration("pollInterval must be positive") }
        let logger = logger ?? Logger(label: "MulticoreCluster", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = PostgresClient(configuration: database.clientConfiguration(maximumConnections: 4), backgroundLogger: logger)
        let statements = ClusterStatements(database: database, logger: logger)
        let collector = ClusterCollector()
        let session = UUID()
        let clientRun = Task { await client.run() }
        do {
            try await ClusterSchema.migrate(client, schema: database.schema, logger: logger)
        } catch {
            clientRun.cancel()
            throw error as? ClusterError ?? ClusterError.database(String(reflecting: error))
        }
        // The LISTEN is in place before the first task goes in (else its outcome waits for a poll).
        let listening = Event()
        let listener = Task {
            await ClusterListener(database: database, channel: database.doneChannel(session), logger: logger)
                .run(listening: { listening.set() }) { collector.doorbell.ring() }
        }
        let drainer = Task {
            await collector.run(client, statements, session: session, pollInterval: pollInterval, logger: logger)
        }
        self.database = database
        self.session = session
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
        self.client = client
        self.statements = statements
        self.collector = collector
        background = Locked([clientRun, listener, drainer])
        let deadline = ContinuousClock.now + .seconds(5)
        while !listening.isSet, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
    }

    deinit {
        collector.close()
        for task in background.withLock({ $0 }) { task.cancel() }
    }

    /// Sends `task` to the cluster and returns its future (await `value`).
    /// - Parameter timeout: how long the task may run once a node has started it: past it, its
    ///   worker is killed there and the task fails (`PoolError.timedOut`, as the node saw it).
    /// - Throws: `ClusterError.payloadTooLarge`, the task's encoding error, `.shutDown`, `.database`.
    public func submit<Task: ProcessTask>(_ task: Task, timeout: Duration? = nil) async throws -> Future<Task.Output> {
        try await submit(contentsOf: [task], timeout: timeout)[0]
    }

    /// Sends `tasks` in batches of `batchSize` rows per statement and returns their futures in order.
    public func submit<Task: ProcessTask>(contentsOf tasks: [Task], timeout: Duration? = nil) async throws -> [Future<Task.Output>] {
        let kind = try ClusterTaskKind.name(of: Task.self)
        let typeName = String(reflecting: Task.self)
        let timeoutMilliseconds = timeout.map { Int64(ClusterStatements.seconds($0) * 1000) } ?? -1
        var futures: [Future<Task.Output>] = []
        futures.reserveCapacity(tasks.count)
        var start = 0
        while start < tasks.count {
            let batch = tasks[start..<min(start + Self.batchSize, tasks.count)]
            start += batch.count
            let payloads = try batch.map { try ClusterTaskKind.payload($0) }
            let batchFutures = batch.map { _ in Future<Task.Output>() }
            let seqs = try collector.reserve(batchFutures.map { ClusterCollector.deliver(to: $0, task: typeName) })
            var backoff = ClusterBackoff()
            for attempt in 1...Self.insertAttempts {
                do {
                    try await statements.insert(client, session: session, seqs: seqs, kinds: Array(repeating: kind, count: seqs.count),
                                                payloads: payloads,
                                                timeoutsMilliseconds: Array(repeating: timeoutMilliseconds, count: seqs.count),
                                                maxAttempts: Int32(maxAttempts))
                    break
                } catch {
                    // A lost connection, a restarting server: the insert is idempotent, so try again.
                    guard attempt < Self.insertAttempts, !Swift.Task.isCancelled else {
                        let failure = ClusterError.database(String(reflecting: error))
                        collector.fail(seqs, with: failure)
                        throw failure
                    }
                    try? await Swift.Task.sleep(for: backoff.next())
                }
            }
            futures += batchFutures
        }
        return futures
    }

    /// Runs every task on the cluster and returns their outputs in order (inserted in batches of
    /// `batchSize`). Python's `Pool.map`: the first failed task's error, in input order, is thrown.
    /// - Parameter timeout: each task's timeout on its node, as in `submit`.
    public func map<S: Sequence>(_ tasks: S, timeout: Duration? = nil) async throws -> [S.Element.Output] where S.Element: ProcessTask {
        let futures = try await submit(contentsOf: Array(tasks), timeout: timeout)
        var outputs: [S.Element.Output] = []
        outputs.reserveCapacity(futures.count)
        for future in futures { outputs.append(try await future.value) }
        return outputs
    }

    /// Stops the handle: futures still pending fail with `ClusterError.shutDown`, the session's
    /// rows are deleted (queued tasks never run; running ones finish on their nodes, and their
    /// outcomes are dropped), and the connections close.
    public func shutdown() async {
        collector.close()
        let statements = statements, client = client, session = session
        await Task { try? await statements.forget(client, session: session) }.value
        for task in background.withLock({ $0 }) { task.cancel() }
    }
}
