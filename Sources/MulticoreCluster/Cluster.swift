import struct Foundation.Date
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
    /// with `ClusterError.nodeLost` (default 3, as Ray). Errors the task throws are not retried
    /// unless its type asks (`ClusterRetryingTask`).
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
    private let jobs: ClusterJobWatch
    private let withdrawals: ClusterWithdrawals
    private let background: Locked<[Task<Void, Never>]>

    /// Connects to the database of `url` (`ClusterDatabase`), creates or migrates the schema, and
    /// starts listening for outcomes.
    /// - Throws: `ClusterError.invalidURL`, `.invalidSchema`, `.invalidConfiguration`;
    ///   `ClusterError.database` when the server cannot be reached.
    public convenience init(url: String, schema: String = "multicore", maxAttempts: Int = 3,
                            pollInterval: Duration = .milliseconds(500), logger: Logger? = nil) async throws {
        try await self.init(database: ClusterDatabase(url: url, schema: schema), maxAttempts: maxAttempts,
                            pollInterval: pollInterval, logger: logger)
    }

    /// Connects with a postgres-nio configuration (what `ClusterDatabase(configuration:)` takes
    /// from it), creates or migrates the schema, and starts listening for outcomes.
    /// - Throws: `ClusterError.invalidConfiguration` (TLS, an established channel), `.invalidSchema`;
    ///   `ClusterError.database` when the server cannot be reached.
    public convenience init(configuration: PostgresConnection.Configuration, schema: String = "multicore", maxAttempts: Int = 3,
                            pollInterval: Duration = .milliseconds(500), logger: Logger? = nil) async throws {
        try await self.init(database: ClusterDatabase(configuration: configuration, schema: schema), maxAttempts: maxAttempts,
                            pollInterval: pollInterval, logger: logger)
    }

    /// Connects to `database`, creates or migrates its schema, and starts listening for outcomes.
    /// - Throws: `ClusterError.invalidConfiguration`; `ClusterError.database` when the server
    ///   cannot be reached.
    public init(database: ClusterDatabase, maxAttempts: Int = 3, pollInterval: Duration = .milliseconds(500),
                logger: Logger? = nil) async throws {
        guard maxAttempts >= 1 else { throw ClusterError.invalidConfiguration("maxAttempts must be at least 1, not \(maxAttempts)") }
        guard pollInterval > .zero else { throw ClusterError.invalidConfiguration("pollInterval must be positive") }
        let logger = logger ?? Logger(label: "MulticoreCluster", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = PostgresClient(configuration: database.clientConfiguration(maximumConnections: 4), backgroundLogger: logger)
        let statements = ClusterStatements(database: database, logger: logger)
        let collector = ClusterCollector()
        let jobs = ClusterJobWatch()
        let withdrawals = ClusterWithdrawals()
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
                .run(listening: { listening.set() }) { _ in
                    collector.doorbell.ring()
                    jobs.doorbell.ring()
                }
        }
        let drainer = Task {
            await collector.run(client, statements, session: session, pollInterval: pollInterval, logger: logger)
        }
        let jobWatch = Task { await jobs.run(client, statements, pollInterval: pollInterval, logger: logger) }
        let withdrawing = Task { await withdrawals.run(client, statements, session: session, logger: logger) }
        self.database = database
        self.session = session
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
        self.client = client
        self.statements = statements
        self.collector = collector
        self.jobs = jobs
        self.withdrawals = withdrawals
        background = Locked([clientRun, listener, drainer, jobWatch, withdrawing])
        let deadline = ContinuousClock.now + .seconds(5)
        while !listening.isSet, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
    }

    deinit {
        collector.close()
        jobs.close()
        for task in background.withLock({ $0 }) { task.cancel() }
    }

    /// Sends `task` to the cluster and returns its future (await `value`).
    /// - Parameter timeout: how long the task may run once a node has started it: past it, its
    ///   worker is killed there and the task fails (`PoolError.timedOut`, as the node saw it).
    /// - Throws: `ClusterError.payloadTooLarge`, the task's encoding error, `.shutDown`, `.database`;
    ///   `CancellationError` when the calling task is cancelled (the task is withdrawn).
    public func submit<Task: ProcessTask>(_ task: Task, timeout: Duration? = nil) async throws -> Future<Task.Output> {
        try await submit(contentsOf: [task], timeout: timeout)[0]
    }

    /// Sends `tasks` in batches of `batchSize` rows per statement and returns their futures in order.
    /// Cancelling the calling task stops it after the batch being inserted, withdraws the tasks
    /// sent, and throws `CancellationError`.
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
            // A future cancelled (by `cancel()`, or by cancelling the task awaiting it) withdraws its task.
            for (future, seq) in zip(batchFutures, seqs) {
                future.addDoneCallback { [collector, withdrawals] done in
                    guard done.isCancelled else { return }
                    collector.drop(seq)
                    withdrawals.add(seq)
                }
            }
            var backoff = ClusterBackoff()
            for attempt in 1...Self.insertAttempts {
                do {
                    // In a task of its own, which the caller's cancellation does not reach: an insert
                    // given up on when the caller is cancelled may commit on the server all the same,
                    // and its rows then ran with no future to withdraw them (a map cancelled while its
                    // tasks went in: the nodes had claimed them, the submitter's reply had not come,
                    // and they ran until the handle's shutdown). Waited for, the insert's outcome is
                    // known, and a cancelled submit withdraws what it sent (below).
                    let (statements, client, session, maxAttempts) = (statements, client, session, Int32(maxAttempts))
                    let kinds = Array(repeating: kind, count: seqs.count)
                    let timeouts = Array(repeating: timeoutMilliseconds, count: seqs.count)
                    try await Swift.Task {
                        try await statements.insert(client, session: session, seqs: seqs, kinds: kinds, payloads: payloads,
                                                    timeoutsMilliseconds: timeouts, maxAttempts: maxAttempts)
                    }.value
                    // A future cancelled while its row was being inserted was withdrawn too early
                    // (a delete before the insert): withdrawn again now that the row exists.
                    for (future, seq) in zip(batchFutures, seqs) where future.isCancelled { withdrawals.add(seq) }
                    break
                } catch {
                    // Cancelled: tried no more, and withdrawn below (the rows may exist).
                    if Swift.Task.isCancelled { break }
                    // A lost connection, a restarting server: the insert is idempotent, so try again.
                    guard attempt < Self.insertAttempts else {
                        let failure = ClusterError.database(String(reflecting: error))
                        collector.fail(seqs, with: failure)
                        throw failure
                    }
                    try? await Swift.Task.sleep(for: backoff.next())
                }
            }
            futures += batchFutures
            // The caller was cancelled: nothing more is sent, and what was sent (or may have been)
            // is withdrawn, its futures cancelled.
            if Swift.Task.isCancelled {
                for future in futures { future.cancel() }
                throw CancellationError()
            }
        }
        return futures
    }

    /// Runs every task on the cluster and returns their outputs in order (inserted in batches of
    /// `batchSize`). Python's `Pool.map`: the first failed task's error, in input order, is thrown.
    /// Cancelling the calling task cancels the map: its queued tasks never run, its running ones
    /// are stopped on their nodes, and it throws `CancellationError`.
    /// - Parameter timeout: each task's timeout on its node, as in `submit`.
    public func map<S: Sequence>(_ tasks: S, timeout: Duration? = nil) async throws -> [S.Element.Output] where S.Element: ProcessTask {
        let futures = try await submit(contentsOf: Array(tasks), timeout: timeout)
        return try await withTaskCancellationHandler {
            var outputs: [S.Element.Output] = []
            outputs.reserveCapacity(futures.count)
            do {
                for future in futures { outputs.append(try await future.value) }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw error
            }
            return outputs
        } onCancel: {
            for future in futures { future.cancel() }
        }
    }

    /// The outputs of `tasks` in input order, as an `AsyncSequence` with back-pressure: at most
    /// `bufferSize` tasks are in the queue or running (sent in batches as the window empties),
    /// so an endless input works. Cancelling the iterating task or leaving the loop cancels the
    /// tasks in flight. See `ClusterOutputs`.
    /// - Parameter timeout: each task's timeout on its node, as in `submit`.
    public func results<S: Sequence>(of tasks: S, bufferSize: Int = 2 * Cluster.batchSize, timeout: Duration? = nil)
        -> ClusterOutputs<S> where S.Element: ProcessTask {
        ClusterOutputs(source: ClusterSource(cluster: self, tasks: tasks, bufferSize: bufferSize, timeout: timeout))
    }

    /// The outcomes of `tasks` as they complete, each with its input index, as an
    /// `AsyncSequence` (Python's `as_completed`), with back-pressure and cancellation as
    /// `results(of:)`. See `ClusterCompletions`.
    public func completions<S: Sequence>(of tasks: S, bufferSize: Int = 2 * Cluster.batchSize, timeout: Duration? = nil)
        -> ClusterCompletions<S> where S.Element: ProcessTask {
        ClusterCompletions(source: ClusterSource(cluster: self, tasks: tasks, bufferSize: bufferSize, timeout: timeout))
    }

    // MARK: Durable jobs

    /// Sends `task` as a durable job: its outcome stays in the queue after it ran (until
    /// `delete(_:)`, or the nodes' `jobRetention`), and any process connected to the same
    /// database and schema can await it (`value(of:)`) or fetch it (`status(of:)`) by its id.
    /// Jobs are not tied to this handle: `shutdown` leaves them queued.
    /// - Parameters:
    ///   - key: makes the submission idempotent: while a job with this key is queued or running,
    ///     enqueueing another with the same key returns that job's id and adds nothing. Once it
    ///     finished (or was cancelled), the key is free again.
    ///   - priority: smaller runs first (-32768...32767, default 0; as Oban, 0 is the usual).
    ///   - runAt: when it may start, by the database's clock: `.now`, `.after(duration)`, `.at(date)`.
    ///   - timeout: how long it may run once a node started it, as in `submit`.
    /// - Throws: `ClusterError.invalidConfiguration` (a priority out of range, an empty key),
    ///   `.payloadTooLarge`, the task's encoding error, `.shutDown`, `.database`.
    public func enqueue<Task: ProcessTask>(_ task: Task, key: String? = nil, priority: Int = 0, runAt: ClusterJobStart = .now,
                                           timeout: Duration? = nil) async throws -> ClusterJob<Task.Output> {
        guard let priority = Int16(exactly: priority) else {
            throw ClusterError.invalidConfiguration("priority must be within -32768...32767, not \(priority)")
        }
        if key?.isEmpty == true { throw ClusterError.invalidConfiguration("a job's key must not be empty") }
        let kind = try ClusterTaskKind.name(of: Task.self)
        let payload = try ClusterTaskKind.payload(task)
        var at: Date?
        var delay = 0.0
        switch runAt {
        case .now: break
        case .after(let duration): delay = ClusterStatements.seconds(duration)
        case .at(let date): at = date
        }
        let timeoutMilliseconds = timeout.map { Int64(ClusterStatements.seconds($0) * 1000) } ?? -1
        // One number for every try: a try after a lost reply finds the row an earlier one committed.
        let seq = try collector.reserveJob()
        var backoff = ClusterBackoff()
        for attempt in 1...Self.insertAttempts {
            do {
                if let id = try await statements.enqueue(client, session: session, seq: seq, kind: kind, payload: payload, key: key,
                                                         priority: priority, runAt: at, delaySeconds: delay,
                                                         timeoutMilliseconds: timeoutMilliseconds, maxAttempts: Int32(maxAttempts)) {
                    return ClusterJob(id: id)
                }
                // The job that held the key finished between the insert and the look-up: try again.
            } catch {
                guard attempt < Self.insertAttempts, !Swift.Task.isCancelled else { throw ClusterError.database(String(reflecting: error)) }
                try? await Swift.Task.sleep(for: backoff.next())
            }
        }
        throw ClusterError.database("the job could not be inserted nor found in \(Self.insertAttempts) tries")
    }

    /// The job's output, once it finished (awaited: a notification wakes the handle that
    /// enqueued it, polling every `pollInterval` any other). Cancelling the waiting task stops
    /// the wait, not the job.
    /// - Throws: the job's error (`ClusterError.taskFailed`, `.nodeLost`, `.undecodableResult`),
    ///   `ClusterError.cancelled` when it was cancelled, `.unknownJob` when there is no such job,
    ///   `.shutDown`, `CancellationError`.
    public func value<Output>(of job: ClusterJob<Output>) async throws -> Output {
        let row = try await jobs.finished(job.id)
        return try row.outcome(as: Output.self, task: String(reflecting: Output.self)).get()
    }

    /// Where the job is now: queued, running, or finished with its outcome.
    /// - Throws: `ClusterError.unknownJob` when there is no such job; `.database`.
    public func status<Output>(of job: ClusterJob<Output>) async throws -> ClusterJobStatus<Output> {
        let rows = try await asDatabaseError { try await statements.jobs(client, ids: [job.id]) }
        guard let row = rows.first else { throw ClusterError.unknownJob(job.id) }
        switch row.state {
        case 0: return .queued(attempt: Int(row.attempt))
        case 1: return .running(attempt: Int(row.attempt))
        default: return .finished(row.outcome(as: Output.self, task: String(reflecting: Output.self)))
        }
    }

    /// Cancels the job unless it finished: queued, it never runs; running, it is stopped on its
    /// node. Its outcome is then `ClusterError.cancelled`. Returns whether it was cancelled
    /// (false: it had finished).
    /// - Throws: `ClusterError.database`.
    @discardableResult
    public func cancel<Output>(_ job: ClusterJob<Output>) async throws -> Bool {
        try await asDatabaseError { try await statements.cancelJob(client, id: job.id) }
    }

    /// Deletes a finished job's row (its outcome can no longer be fetched). Returns false when
    /// there is no finished job of that id (it is queued or running, or already gone).
    /// - Throws: `ClusterError.database`.
    @discardableResult
    public func delete<Output>(_ job: ClusterJob<Output>) async throws -> Bool {
        try await asDatabaseError { try await statements.deleteJob(client, id: job.id) }
    }

    /// The queue now: unfinished tasks by type (ready, delayed, running), failures of the last
    /// minute, the nodes with their last heartbeat. What `multicore-cluster status` prints.
    /// - Throws: `ClusterError.database`.
    public func queueStatus() async throws -> ClusterStatus {
        try await asDatabaseError { try await statements.status(client) }
    }

    /// `body`, its errors as `ClusterError.database`.
    private func asDatabaseError<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw ClusterError.database(String(reflecting: error))
        }
    }

    /// Stops the handle: futures still pending fail with `ClusterError.shutDown`, the session's
    /// rows are deleted (queued tasks never run; running ones are stopped on their nodes), and
    /// the connections close. Durable jobs stay queued.
    public func shutdown() async {
        collector.close()
        jobs.close()
        let statements = statements, client = client, session = session
        await Task { try? await statements.forget(client, session: session) }.value
        for task in background.withLock({ $0 }) { task.cancel() }
    }
}
