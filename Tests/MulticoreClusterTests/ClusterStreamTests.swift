#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import MulticoreThreading
import Testing

/// A sequence of `Twice` tasks that counts how many were read from it.
struct CountedTasks: Sequence, Sendable {
    let count: Int
    let read = Locked(0)

    func makeIterator() -> AnyIterator<Twice> {
        var next = 0
        return AnyIterator { [read, count] in
            guard next < count else { return nil }
            defer { next += 1 }
            read.withLock { $0 += 1 }
            return Twice(value: next)
        }
    }
}

/// `results(of:)` and `completions(of:)`, and cancelling a map: its queued tasks never run and
/// its running ones are stopped on their nodes.
extension ClusterTests {
    /// The outputs come in order, and the input is read as they are taken: never more than
    /// `bufferSize` tasks ahead, nor more rows in the queue.
    @Test func resultsComeInOrderWithBackPressure() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_results"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let tasks = CountedTasks(count: 3000)
        var outputs: [Int] = []
        var mostAhead = 0
        var mostRows: Int64 = 0
        for try await output in cluster.results(of: tasks, bufferSize: 400) {
            outputs.append(output)
            mostAhead = max(mostAhead, tasks.read.withLock { $0 } - outputs.count)
            if outputs.count % 500 == 0 { mostRows = max(mostRows, try await inspector.int("SELECT count(*) FROM $schema.tasks") ?? 0) }
        }
        #expect(outputs == (0..<3000).map { $0 * 2 })
        #expect(mostAhead <= 400, "read \(mostAhead) tasks ahead of the outputs taken")
        #expect(mostRows <= 400 + 1000, "\(mostRows) rows in the queue (at most the window, and the delivered rows not yet deleted)")
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// Each task's outcome comes once, with its index; a task that traps is an outcome like any other.
    @Test func completionsGiveEachOutcomeOnceWithItsIndex() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_completions"
        let (_, nodeRun) = try startNode(url, schema: schema)
        let cluster = try await Cluster(url: url, schema: schema)
        var seen = Set<Int>()
        for try await completion in cluster.completions(of: (0..<300).map { TrapWhenTold(value: $0, trap: $0 == 17) }, bufferSize: 64) {
            #expect(seen.insert(completion.index).inserted)
            if completion.index == 17 {
                guard case .failure(ClusterError.taskFailed(_, let message, _, _, _)) = completion.result else {
                    Issue.record("the trapping task ended with \(completion.result)")
                    continue
                }
                #expect(message.contains("deliberate trap"))
            } else {
                #expect(try completion.result.get() == completion.index * 2)
                #expect(completion.worker?.name.hasPrefix("ClusterNode@") == true)
            }
        }
        #expect(seen == Set(0..<300))

        // With back-pressure: the input is read as the completions are taken, never more than
        // `bufferSize` ahead.
        let tasks = CountedTasks(count: 1000)
        var taken = 0, mostAhead = 0
        for try await completion in cluster.completions(of: tasks, bufferSize: 100) {
            #expect(try completion.result.get() == completion.index * 2)
            taken += 1
            mostAhead = max(mostAhead, tasks.read.withLock { $0 } - taken)
        }
        #expect(taken == 1000)
        #expect(mostAhead <= 100, "read \(mostAhead) tasks ahead of the completions taken")
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// A map of tasks that would each run 30 s, on two nodes: cancelled once both run some, it
    /// throws `CancellationError`, and within a second no node runs any of its tasks and none is
    /// left in the queue. The nodes go on serving. Their heartbeat (when they also look for
    /// withdrawn tasks) is 5 s: what stops the tasks within the second is the `cancel` notification.
    @Test func aCancelledMapStopsOnEveryNodeWithinASecond() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_cancelmap"
        let gates = try GateFolder()
        let (first, firstRun) = try startNode(url, schema: schema, heartbeat: .seconds(5), deadAfter: .seconds(20))
        let (second, secondRun) = try startNode(url, schema: schema, heartbeat: .seconds(5), deadAfter: .seconds(20))
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let tasks = (0..<200).map { WaitForGate(directory: gates.path, value: $0) }
        let map = Task { try await cluster.map(tasks) }
        #expect(await eventually { first.runningTasks > 0 && second.runningTasks > 0 })

        let cancelled = ContinuousClock.now
        map.cancel()
        let stopped = await eventually { first.runningTasks == 0 && second.runningTasks == 0 }
        let elapsed = ContinuousClock.now - cancelled
        #expect(stopped)
        #expect(elapsed < .seconds(1), "the nodes ran the cancelled map's tasks for \(elapsed)")
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0, within: .seconds(1)))
        await #expect(throws: CancellationError.self) { try await within { try await map.value } }

        // Both nodes still serve.
        #expect(try await within { try await cluster.map((0..<100).map { Twice(value: $0) }) } == (0..<100).map { $0 * 2 })
        await cluster.shutdown()
        try await stop(firstRun)
        try await stop(secondRun)
    }

    /// A map cancelled while its tasks are being inserted (20 batches; cancelled once the first
    /// is in the queue) throws `CancellationError`, and what it sent is withdrawn: no row is left.
    /// (An insert given up on at the cancel could commit all the same: the rows of that batch and
    /// of those before it stayed in the queue, to run with no future to withdraw them, and the map
    /// threw `ClusterError.database` wrapping the `CancellationError`; seen under load as the
    /// cancelled-map test's nodes running their tasks on until the handle's shutdown.)
    @Test func aMapCancelledWhileItsTasksGoInLeavesNoRow() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_cancelinsert"
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let map = Task { try await cluster.map((0..<20 * Cluster.batchSize).map { Twice(value: $0) }) }
        #expect(try await inspector.waitFor("SELECT least(count(*), 1) FROM $schema.tasks", toBe: 1))
        map.cancel()
        await #expect(throws: CancellationError.self) { try await within { try await map.value } }
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0, within: .seconds(5)))
        await cluster.shutdown()
    }

    /// A `cancel` sent while a node's LISTEN connection is away (terminated here; also before the
    /// LISTEN is first in place, when the node's first claims come before its listener connected)
    /// is lost: the node checks its running tasks once it listens again, and stops the withdrawn
    /// one then, not at its heartbeat (30 s here).
    @Test func aCancelSentWhileTheNodeDoesNotListenStopsTheTaskOnceItListensAgain() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_cancelunheard"
        let gates = try GateFolder()
        let (node, nodeRun) = try startNode(url, schema: schema, processes: 1, heartbeat: .seconds(30), deadAfter: .seconds(60))
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let nodeListens = """
            SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN "$schema_ready"%'
            """
        #expect(try await inspector.waitFor(nodeListens, toBe: 1))
        let future = try await cluster.submit(WaitForGate(directory: gates.path, value: 1))
        #expect(await eventually { node.runningTasks == 1 })

        // The LISTEN connection is gone (pg_terminate_backend waits for it) before the row is
        // deleted and the `cancel` sent, in one statement: the listener reconnects after a back-off
        // of 25 ms at least.
        let cut = ContinuousClock.now
        #expect(try await inspector.int("""
            WITH cut AS MATERIALIZED (
                SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN "$schema_ready"%'),
            gone AS (DELETE FROM $schema.tasks WHERE (SELECT count(*) FROM cut) = 1 RETURNING 1)
            SELECT (SELECT count(*) FROM gone) FROM (SELECT pg_notify('$schema_ready', 'cancel')) woken
            """) == 1)
        #expect(await eventually(within: .seconds(5)) { node.runningTasks == 0 })
        let elapsed = ContinuousClock.now - cut
        #expect(elapsed < .seconds(5), "the withdrawn task ran for \(elapsed) after its unheard cancel")
        #expect(try await inspector.waitFor(nodeListens, toBe: 1))
        _ = future.cancel()
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// Leaving a `results(of:)` loop early withdraws the tasks still in flight.
    @Test func leavingAResultsLoopWithdrawsTheTasksInFlight() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_leaveloop"
        let closed = try GateFolder(), open = try GateFolder()
        // One task held at a time, so the first claimed is the first submitted: a node that holds
        // several starts their runners in no set order, and with one process a gated task could
        // take the worker before the quick one (seen once in five runs).
        let (node, nodeRun) = try startNode(url, schema: schema, processes: 1, tasksPerProcess: 1)
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        // The first task returns at once; the others would wait 30 s for their gate.
        #expect(open.open(for: getpid()))
        let tasks = [WaitForGate(directory: open.path, value: 0)] + (1..<50).map { WaitForGate(directory: closed.path, value: $0) }
        // The first output comes at once: its node has not measured a task yet, so it runs each
        // alone (a batch's outcomes come when its last task ends).
        let taken = try await within(testDeadline, "the first output") {
            var taken = 0
            for try await _ in cluster.results(of: tasks, bufferSize: 20) {
                taken += 1
                break
            }
            return taken
        }
        #expect(taken == 1)
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        #expect(await eventually { node.runningTasks == 0 })
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}
