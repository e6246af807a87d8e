import struct Foundation.UUID
import class Foundation.ProcessInfo
import Logging
import MulticorePool
import MulticoreProcessing
import MulticoreThreading
import PostgresNIO

/// A machine's share of a cluster: claims the tasks it knows from the queue, runs them in a
/// local `ProcessPoolExecutor` (a trap or a killed worker fails that task only), records their
/// outcomes, heartbeats, and rescues the tasks of nodes that stopped heartbeating.
///
///     let node = try ClusterNode(url: "postgres://queue@db/queue", processes: 8, tasks: [Twice.self])
///     try await node.run()        // until the task running it is cancelled
///
/// Any executable that contains the task types can be a node (its workers are copies of it). A
/// node claims only the task types it is given, so a build that lacks a type never claims it.
///
/// Small tasks reach the workers in batches (one message each way per batch, see
/// `claimAndRun`). A worker that dies during a batch fails no task by itself: the batch's tasks
/// run again one by one, each alone on a worker. So a task that traps (or otherwise kills its
/// own worker) fails alone, with its own worker's signal, and the others succeed; a worker
/// SIGKILLed from outside mid-batch fails none of them, it costs the batch a second run (at
/// least once: a task that had finished in the lost batch runs again). A task that runs alone
/// (a batch of one, one with a timeout, one run again) fails when its worker is killed.
///
/// Exactly one outcome per task: a node's identity in the queue is an *incarnation*, new at each
/// `run` and whenever the node finds it was declared dead; an outcome counts only if the task is
/// still running under the incarnation and attempt that claimed it. Execution is at least once:
/// the task of a node that stopped heartbeating runs again elsewhere (up to the task's
/// `maxAttempts`), and what the old node finishes later is refused.
public final class ClusterNode: Sendable {
    public let database: ClusterDatabase
    /// Worker processes of the local pool.
    public let processes: Int
    /// How often the node marks itself alive and looks for dead nodes' tasks (default 2 s).
    public let heartbeat: Duration
    /// A node whose last heartbeat is older than this (by the database's clock) is dead, and its
    /// running tasks are requeued (default 10 s).
    public let deadAfter: Duration
    /// The longest a node goes without looking for tasks when no notification comes (default 1 s).
    public let pollInterval: Duration
    /// The most tasks the node holds per worker process, running or waiting in its local pool
    /// (default 512). Within it, the node holds about what its workers run in a quarter of a
    /// second (measured as they run; 16 per process before the first ran, at least 2):
    /// tiny tasks come in large claims and reach the workers in large batches, so they do not
    /// pay a round trip each, and slow ones are held a few at a time, so a node holds no more
    /// than it will soon run (a dead node's are rescued all the same).
    public let tasksPerProcess: Int
    /// How long a stopping node lets its running tasks finish (default 30 s): past it, it stops
    /// them and hands them back to the queue, their attempt not counted.
    public let gracePeriod: Duration
    /// How long finished durable jobs are kept for `Cluster.status(of:)` and `value(of:)` before
    /// the nodes delete them (default 24 hours, as River).
    public let jobRetention: Duration
    /// How often the queue's tables are vacuumed, by one node at a time (`ClusterJanitor`;
    /// default 1 s: at 5,000 tasks a second the table's size crept up with 5 s, and stayed
    /// flat with 1 s; a VACUUM of a small table takes milliseconds).
    public let vacuumInterval: Duration
    /// After this many tasks a worker of the local pool exits and a fresh one replaces it (nil,
    /// the default: never), as `ProcessPoolExecutor.maxTasksPerChild`. The pool counts tasks,
    /// not messages: a batch of claimed tasks (one chunk on one worker) counts as its tasks, and
    /// the node cuts its batches to at most this many. A worker is given no task once it holds
    /// its last, but a batch given to a worker with room for fewer runs whole: a worker runs at
    /// most `maxTasksPerChild` plus one batch less one (with 1, each task runs on a fresh worker).
    public let maxTasksPerChild: Int?
    private let kinds: [String: ClusterTaskKind]
    private let logger: Logger
    private let incarnation = Locked<UUID?>(nil)
    /// What the current `run` holds.
    private let work = Locked<ClusterNodeWork?>(nil)
    private let refused = Locked(0)

    /// A node of the queue at `url` (`ClusterDatabase`), in `schema`; the other parameters are
    /// those of `init(database:...)`.
    /// - Throws: `ClusterError.invalidURL`, `.invalidSchema`, and what `init(database:...)` throws.
    public convenience init(url: String, schema: String = "multicore", processes: Int? = nil, tasks: [any ProcessTask.Type],
                            maxTasksPerChild: Int? = nil, heartbeat: Duration = .seconds(2),
                            deadAfter: Duration = .seconds(10), pollInterval: Duration = .seconds(1), tasksPerProcess: Int = 512,
                            gracePeriod: Duration = .seconds(30), jobRetention: Duration = .seconds(86_400), vacuumInterval: Duration = .seconds(1),
                            logger: Logger? = nil) throws {
        try self.init(database: ClusterDatabase(url: url, schema: schema), processes: processes, tasks: tasks,
                      maxTasksPerChild: maxTasksPerChild, heartbeat: heartbeat, deadAfter: deadAfter, pollInterval: pollInterval,
                      tasksPerProcess: tasksPerProcess, gracePeriod: gracePeriod, jobRetention: jobRetention,
                      vacuumInterval: vacuumInterval, logger: logger)
    }

    /// - Parameters:
    ///   - database: the queue's database and schema; with a postgres-nio configuration,
    ///     `ClusterDatabase(configuration:schema:)`.
    ///   - processes: worker processes of the local pool (default: the CPUs this process may use).
    ///   - tasks: the task types this node runs; it claims no other.
    ///   - maxTasksPerChild: as the property (nil: workers are never replaced for their count).
    ///   - heartbeat, deadAfter, pollInterval, tasksPerProcess, gracePeriod, jobRetention,
    ///     vacuumInterval: as the properties of the same names.
    ///   - logger: the node's own events (registration, rescues, refused outcomes) at notice.
    /// - Throws: `ClusterError.invalidConfiguration` (a non-positive interval, `deadAfter` not
    ///   above `heartbeat`, no task type, `processes`, `tasksPerProcess` or `maxTasksPerChild` below 1).
    public init(database: ClusterDatabase, processes: Int? = nil, tasks: [any ProcessTask.Type], maxTasksPerChild: Int? = nil,
                heartbeat: Duration = .seconds(2), deadAfter: Duration = .seconds(10), pollInterval: Duration = .seconds(1),
                tasksPerProcess: Int = 512, gracePeriod: Duration = .seconds(30), jobRetention: Duration = .seconds(86_400),
                vacuumInterval: Duration = .seconds(1), logger: Logger? = nil) throws {
        self.database = database
        self.processes = processes ?? cpuCount()
        guard self.processes >= 1 else { throw ClusterError.invalidConfiguration("processes must be at least 1, not \(self.processes)") }
        guard tasksPerProcess >= 1 else {
            throw ClusterError.invalidConfiguration("tasksPerProcess must be at least 1, not \(tasksPerProcess)")
        }
        self.tasksPerProcess = tasksPerProcess
        if let maxTasksPerChild, maxTasksPerChild < 1 {
            throw ClusterError.invalidConfiguration("maxTasksPerChild must be at least 1, not \(maxTasksPerChild)")
        }
        self.maxTasksPerChild = maxTasksPerChild
        guard !tasks.isEmpty else { throw ClusterError.invalidConfiguration("a node needs at least one task type") }
        guard heartbeat > .zero, pollInterval > .zero, vacuumInterval > .zero else {
            throw ClusterError.invalidConfiguration("heartbeat, pollInterval and vacuumInterval must be positive")
        }
        guard deadAfter > heartbeat else {
            throw ClusterError.invalidConfiguration("deadAfter (\(deadAfter)) must be longer than heartbeat (\(heartbeat))")
        }
        guard gracePeriod >= .zero, jobRetention > .zero else {
            throw ClusterError.invalidConfiguration("gracePeriod must not be negative, jobRetention must be positive")
        }
        self.gracePeriod = gracePeriod
        self.jobRetention = jobRetention
        self.heartbeat = heartbeat
        self.deadAfter = deadAfter
        self.pollInterval = pollInterval
        self.vacuumInterval = vacuumInterval
        var kinds: [String: ClusterTaskKind] = [:]
        for type in tasks {
            let kind = try Self.kind(of: type)
            kinds[kind.name] = kind
        }
        self.kinds = kinds
        self.logger = logger ?? Logger(label: "MulticoreCluster", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    private static func kind<Task: ProcessTask>(of type: Task.Type) throws -> ClusterTaskKind { try ClusterTaskKind.of(type) }

    /// The node's current incarnation in the queue (nil before `run` registered it).
    public var id: UUID? { incarnation.withLock { $0 } }

    /// How many outcomes the queue refused because the task was no longer this incarnation's at
    /// that attempt (it was declared dead meanwhile).
    public var refusedOutcomes: Int { refused.withLock { $0 } }

    /// Tasks the node is running now (claimed, not yet finished or stopped).
    public var runningTasks: Int { work.withLock { $0?.running ?? 0 } }

    /// Runs the node until the calling task is cancelled: then it claims nothing more, lets its
    /// running tasks finish for up to `gracePeriod` and records their outcomes, stops those still
    /// running (their workers are killed) and hands them back to the queue with their attempt not
    /// counted, and removes itself. A task whose submitter cancelled it is stopped meanwhile.
    /// - Throws: `ClusterError.database` when the queue cannot be reached at start (after that,
    ///   lost connections are retried with back-off); pool configuration errors.
    public func run() async throws {
        let current = ClusterNodeWork(processes: processes, tasksPerProcess: tasksPerProcess)
        work.withLock { $0 = current }
        defer { work.withLock { $0 = nil } }
        // The node serves in a task of its own: cancelling the caller stops it the slow way (claims
        // stop, running tasks finish), where cancelling the task would stop everything at once.
        let serving = Task { try await self.serve(current) }
        try await withTaskCancellationHandler {
            try await serving.value
        } onCancel: {
            // Before it serves (connecting, migrating), there is nothing to finish.
            if !current.stop() { serving.cancel() }
        }
    }

    private func serve(_ work: ClusterNodeWork) async throws {
        let client = PostgresClient(configuration: database.clientConfiguration(maximumConnections: 4), backgroundLogger: logger)
        let clientRun = Task { await client.run() }
        defer { clientRun.cancel() }
        let statements = ClusterStatements(database: database, logger: logger)
        let host = ProcessInfo.processInfo.hostName
        let pid = currentProcess().pid
        do {
            try await ClusterSchema.migrate(client, schema: database.schema, logger: logger)
            try await register(client, statements, host: host, pid: pid)
        } catch let error as CancellationError {
            throw error
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError.database(String(reflecting: error))
        }
        let executor = try ProcessPoolExecutor(maxWorkers: processes, maxTasksPerChild: maxTasksPerChild, logger: logger,
                                           label: "ClusterNode")
        guard work.startServing() else {
            Self.release(executor)
            await leave(client, statements)
            throw CancellationError()
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.beat(client, statements, host: host, pid: pid, work: work) }
            group.addTask { await self.listen(work: work) }
            group.addTask { await self.record(client, statements, host: host, pid: pid, work: work) }
            group.addTask { await self.stopWithdrawn(client, statements, work: work) }
            group.addTask { await ClusterJanitor(database: self.database, interval: self.vacuumInterval, logger: self.logger).run(client) }
            await self.claimAndRun(client, statements, executor: executor, work: work)
            logger.notice("cluster node stopping: it claims nothing more", metadata: ["running": "\(work.running)"])
            // Lets what runs finish, up to the grace period, and records the outcomes.
            await work.waitUntilIdle(upTo: gracePeriod)
            let stopped = work.stopRunners()
            if stopped > 0 { logger.notice("cluster node stops the tasks still running, to hand them back", metadata: ["tasks": "\(stopped)"]) }
            await work.waitUntilIdle(upTo: .seconds(10))
            await work.waitUntilRecorded(upTo: .seconds(10))
            group.cancelAll()
        }
        Self.release(executor)
        await leave(client, statements)
    }

    /// Hands back what was running, and removes the node's row.
    private func leave(_ client: PostgresClient, _ statements: ClusterStatements) async {
        guard let node = id else { return }
        do {
            try await statements.leave(client, node: node)
        } catch {
            logger.notice("cluster node could not hand back its tasks (they are rescued once it is found dead): \(error)")
        }
        incarnation.withLock { $0 = nil }
        logger.notice("cluster node left", metadata: ["node": "\(node)"])
    }

    /// Lets the pool go without waiting: its running tasks were stopped with the claim loop.
    private static func release(_ executor: ProcessPoolExecutor) { executor.shutdown(wait: false, cancelFutures: true) }

    private func register(_ client: PostgresClient, _ statements: ClusterStatements, host: String, pid: Int32) async throws {
        let node = UUID()
        try await statements.register(client, node: node, host: host, pid: pid, kinds: kinds.keys.sorted())
        incarnation.withLock { $0 = node }
        logger.notice("cluster node joined", metadata: ["node": "\(node)", "kinds": "\(kinds.count)"])
    }

    /// Claims as many tasks as there are free slots (`ClusterNodeWork.capacity`, at most
    /// `claimLimit` a claim), runs them in the pool, and queues their outcomes for `record`; until
    /// the node stops. Tasks without a timeout go to the workers in batches
    /// (`ClusterNodeWork.batchSize`), each batch one message each way; a task with a timeout runs
    /// alone, its timeout its own.
    private func claimAndRun(_ client: PostgresClient, _ statements: ClusterStatements, executor: ProcessPoolExecutor,
                             work: ClusterNodeWork) async {
        let kindNames = kinds.keys.sorted()
        var backoff = ClusterBackoff()
        while !work.isStopping {
            let free = work.freeSlots
            guard free > 0, let node = id else {
                await work.slotFreed.wait(upTo: pollInterval)
                continue
            }
            let claimed: [ClaimedTask]
            // A task withdrawn between its claim and its runner's start is not among the running
            // ones a `cancel` makes the node check: it would run until the next heartbeat's check.
            let withdrawalsBefore = work.withdrawals
            let limit = min(free, Self.claimLimit)
            do {
                claimed = try await statements.claim(client, node: node, kinds: kindNames, limit: limit)
                backoff.reset()
            } catch {
                logger.notice("cluster node cannot claim: \(error)")
                try? await Task.sleep(for: backoff.next())
                continue
            }
            if claimed.isEmpty {
                await work.ready.wait(upTo: pollInterval)
                continue
            }
            work.started(claimed.map(\.id))
            var batches: [String: [ClaimedTask]] = [:]
            for task in claimed {
                guard let kind = kinds[task.kind] else {
                    // The claim asks for known kinds only; should a row say otherwise, it fails alone.
                    work.finished([.failure(task, type: "UnknownTaskType", message: "this node does not run \(task.kind)")], owner: task.owner)
                    continue
                }
                if task.timeout == nil {
                    batches[task.kind, default: []].append(task)
                } else {
                    work.launch([task.id]) { await self.runAlone(task, kind, executor, work) }
                }
            }
            for (name, tasks) in batches {
                guard let kind = kinds[name] else { continue }
                // Cut to maxTasksPerChild: the pool counts a batch as its tasks.
                let size = min(work.batchSize(claimed: tasks.count), maxTasksPerChild ?? Int.max)
                for first in stride(from: 0, to: tasks.count, by: size) {
                    let batch = Array(tasks[first..<min(first + size, tasks.count)])
                    if batch.count == 1 {
                        work.launch([batch[0].id]) { await self.runAlone(batch[0], kind, executor, work) }
                    } else {
                        work.launch(batch.map(\.id)) { await self.runBatch(batch, kind, executor, work) }
                    }
                }
            }
            // A `cancel` came during the claim: the check it made may have missed these.
            if work.withdrawals != withdrawalsBefore { work.withdrawn.ring() }
            // A claim that took fewer than it asked for found no more ready tasks: the next waits
            // for a notification (kept if one came meanwhile) or the poll interval. Claiming again
            // at once found nothing, and held the database while the tasks just claimed finished
            // (a single task's round trip took a claim longer).
            if claimed.count < limit { await work.ready.wait(upTo: pollInterval) }
        }
    }

    /// The most tasks one claim takes.
    static let claimLimit = 1000

    /// Runs one task in the pool and queues its outcome. A task stopped (withdrawn, or the node
    /// stopping) is handed back or dropped, not failed; one whose outcome came first is recorded
    /// (the queue's fence decides whether it counts).
    private func runAlone(_ task: ClaimedTask, _ kind: ClusterTaskKind, _ executor: ProcessPoolExecutor, _ work: ClusterNodeWork) async {
        let start = ContinuousClock.now
        if let outcome = await kind.run(task, executor) {
            work.measured(tasks: 1, seconds: ClusterStatements.seconds(ContinuousClock.now - start))
            work.finished([outcome], owner: task.owner)
        } else {
            work.stoppedOrRelaunched(task.id) { await self.runAlone(task, kind, executor, work) }
        }
    }

    /// Runs a batch as one chunk on one worker and queues each task's outcome. A worker that died
    /// during the chunk: each task runs again alone (which of them did it is not known; each then
    /// gets its own outcome, the culprit its own failure). Stopped: the tasks stopped for
    /// themselves are handed back or dropped, the others of the batch run again alone.
    private func runBatch(_ batch: [ClaimedTask], _ kind: ClusterTaskKind, _ executor: ProcessPoolExecutor,
                          _ work: ClusterNodeWork) async {
        let start = ContinuousClock.now
        switch await kind.runBatch(batch, executor) {
        case .outcomes(let outcomes):
            work.measured(tasks: batch.count, seconds: ClusterStatements.seconds(ContinuousClock.now - start))
            work.finished(outcomes, owner: batch[0].owner)
        case .stopped:
            let again = batch.filter { task in !work.stoppedOrRelaunched(task.id) { await self.runAlone(task, kind, executor, work) } }
            if !again.isEmpty {
                logger.notice("cluster node: a batch was stopped for some of its tasks; the others run again alone",
                              metadata: ["tasks": "\(again.count)"])
            }
        case .lost:
            logger.notice("cluster node: a worker died during a batch; its tasks run again one by one",
                          metadata: ["tasks": "\(batch.count)"])
            await withTaskGroup(of: Void.self) { group in
                for task in batch { group.addTask { await self.runAlone(task, kind, executor, work) } }
            }
        }
    }

    /// Stops the tasks whose submitter cancelled them, or that the queue no longer gives this
    /// incarnation: at a `cancel` notification, and at each heartbeat (polling is the truth).
    private func stopWithdrawn(_ client: PostgresClient, _ statements: ClusterStatements, work: ClusterNodeWork) async {
        while !Task.isCancelled {
            await work.withdrawn.wait(upTo: heartbeat)
            let running = work.runningIDs
            guard !running.isEmpty, let node = id else { continue }
            do {
                let stale = try await statements.stale(client, node: node, held: running)
                if !stale.isEmpty {
                    logger.notice("cluster node stops tasks that are no longer its own (cancelled or requeued)",
                                  metadata: ["tasks": "\(stale.count)"])
                    work.stopRunners(stale)
                }
            } catch {
                if Task.isCancelled { return }
                logger.notice("cluster node cannot check its tasks: \(error)")
            }
        }
    }

    /// Writes queued outcomes in batches, fenced by incarnation and attempt.
    private func record(_ client: PostgresClient, _ statements: ClusterStatements, host: String, pid: Int32,
                        work: ClusterNodeWork) async {
        var backoff = ClusterBackoff()
        while !Task.isCancelled {
            let batch = work.takeOutcomes()
            if batch.isEmpty {
                await work.outcomesReady.wait(upTo: pollInterval)
                continue
            }
            for (owner, outcomes) in Dictionary(grouping: batch, by: \.owner) {
                do {
                    let recorded = try await statements.complete(client, node: owner, host: host, pid: pid, outcomes: outcomes.map(\.outcome))
                    backoff.reset()
                    work.released(outcomes.map(\.outcome.id))
                    let lost = outcomes.filter { !recorded.contains($0.outcome.id) }
                    if !lost.isEmpty {
                        refused.withLock { $0 += lost.count }
                        for item in lost {
                            logger.notice("cluster node: outcome refused, the task is no longer this node's",
                                          metadata: ["task": "\(item.outcome.id)", "attempt": "\(item.outcome.attempt)", "node": "\(owner)"])
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.notice("cluster node cannot record outcomes: \(error)")
                    work.requeue(outcomes)
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
    }

    /// Heartbeats, joins again under a new incarnation when declared dead, gives back claims it
    /// never received, and rescues the tasks of dead nodes.
    private func beat(_ client: PostgresClient, _ statements: ClusterStatements, host: String, pid: Int32, work: ClusterNodeWork) async {
        while !Task.isCancelled {
            do {
                if let node = id, try await !statements.heartbeat(client, node: node) {
                    logger.notice("cluster node was declared dead; joining again", metadata: ["node": "\(node)"])
                    try await register(client, statements, host: host, pid: pid)
                }
                if let node = id {
                    let released = try await statements.releaseUnheld(client, node: node, held: work.held, grace: deadAfter)
                    if released > 0 {
                        logger.notice("cluster node gave back tasks claimed without its knowing (a lost reply)",
                                      metadata: ["tasks": "\(released)"])
                        work.ready.ring()
                    }
                }
                try await statements.prune(client, jobRetention: jobRetention)
                let rescued = try await statements.rescue(client, deadAfter: deadAfter)
                if rescued.requeued + rescued.failed > 0 {
                    logger.notice("cluster node rescued the tasks of dead nodes",
                                  metadata: ["requeued": "\(rescued.requeued)", "failed": "\(rescued.failed)"])
                    work.ready.ring()
                }
            } catch {
                if Task.isCancelled { return }
                logger.notice("cluster node heartbeat failed: \(error)")
            }
            try? await Task.sleep(for: heartbeat)
        }
    }

    /// Listens for new tasks on a connection of its own (a hint: polling is the truth), and
    /// connects again with back-off when it drops.
    ///
    /// A `cancel` sent while the LISTEN is not in place is lost: before it is first in place (the
    /// node's claims use the pool's connections, already open, and may come before the listener
    /// has connected: under load, a map cancelled just after a node's first claim ran on it until
    /// the heartbeat's check, 4.98 s later), and while it reconnects. So each time it is in place
    /// counts as a `cancel`: the running tasks are checked, and a claim in flight looks again once
    /// its runners are registered (`ClusterNodeWork.withdrawals`).
    private func listen(work: ClusterNodeWork) async {
        await ClusterListener(database: database, channel: database.readyChannel, logger: logger)
            .run(listening: { work.noteWithdrawal() }) { payload in
                if payload == "cancel" { work.noteWithdrawal() } else { work.ready.ring() }
            }
    }
}
