#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import MulticoreThreading
import Testing

/// A node runs the tasks of one kind it claims at once as one batch on one worker; each task
/// still gets its own outcome: one that throws fails alone, one that traps fails alone (the
/// batch's tasks run again one by one), one with a timeout runs alone and times out alone.
extension ClusterTests {
    /// Checks `futures` (of `BatchProbe`s told `actions`) against what each action gives.
    private func expectOwnOutcomes(_ futures: [Future<Int>], _ actions: [ProbeAction]) async {
        for (index, (future, action)) in zip(futures, actions).enumerated() {
            let outcome = await outcomeOf(future)
            switch action {
            case .double:
                #expect((try? outcome.get()) == index * 2, "task \(index): \(outcome)")
            case .refuse:
                guard case .failure(ClusterError.taskFailed(let type, let message, _, _, let attempt)) = outcome else {
                    Issue.record("the refusing task \(index) ended with \(outcome)")
                    continue
                }
                #expect(type.hasSuffix("ProbeRefused") && message == "BatchProbe(\(index)) refused" && attempt == 1, "\(type): \(message)")
            case .trap:
                guard case .failure(ClusterError.taskFailed(let type, let message, _, let pid, _)) = outcome else {
                    Issue.record("the trapping task \(index) ended with \(outcome)")
                    continue
                }
                #expect(type.hasSuffix("PoolError"), "\(type)")
                #expect(message.contains("trapped") && message.contains("deliberate trap in BatchProbe(\(index))"), "\(message)")
                #expect(pid == getpid())
            case .sleep:
                Issue.record("no sleeping task in a batch")
            }
        }
    }

    /// A node of one worker whose notices land in the records returned, that ran 300 tiny tasks:
    /// it learned they are quick (its first batch also paid for its worker's start), and holds
    /// more than eight at a time after.
    private func startWarmNode(_ url: String, schema: String, _ cluster: Cluster) async throws
        -> (ClusterNode, Task<Void, any Error>, Locked<[RecordingLogHandler.Record]>) {
        let records = Locked<[RecordingLogHandler.Record]>([])
        let node = try ClusterNode(url: url, schema: schema, processes: 1, tasks: clusterTestTaskTypes, heartbeat: .milliseconds(200),
                                   deadAfter: .seconds(1), pollInterval: .milliseconds(200),
                                   logger: RecordingLogHandler.logger(records, level: .notice))
        let nodeRun = Task { try await node.run() }
        let warmUp = (0..<300).map { Twice(value: $0) }
        #expect(try await within { try await cluster.map(warmUp) } == warmUp.map { $0.value * 2 })
        return (node, nodeRun, records)
    }

    @Test func aBatchsTasksEachGetTheirOwnOutcome() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_batch"
        let cluster = try await Cluster(url: url, schema: schema)
        let (_, nodeRun, records) = try await startWarmNode(url, schema: schema, cluster)
        let lostBatches = { records.withLock { $0.filter { $0.message.contains("worker died during a batch") } } }

        // Eight tasks inserted in one statement: claimed at once, one batch on the node's one worker.
        let refusing: [ProbeAction] = [.double, .double, .refuse, .double, .double, .double, .refuse, .double]
        let first = try await cluster.submit(contentsOf: refusing.enumerated().map { BatchProbe(value: $0.offset, action: $0.element) })
        await expectOwnOutcomes(first, refusing)
        // Thrown errors come back in the batch's reply: its worker lived, nothing ran again.
        #expect(lostBatches().isEmpty)

        // A trap in a batch (inserted in one statement: claimed at once) kills its worker: the
        // batch's tasks run again one by one, and only the trapping one fails. A task with a
        // timeout runs alone, killed at its timeout.
        let trapping: [ProbeAction] = [.double, .refuse, .double, .double, .trap, .double, .double, .double]
        let second = try await cluster.submit(contentsOf: trapping.enumerated().map { BatchProbe(value: $0.offset, action: $0.element) })
        let sleeper = try await cluster.submit(BatchProbe(value: 99, action: .sleep), timeout: .milliseconds(300))
        await expectOwnOutcomes(second, trapping)
        let lost = lostBatches()
        #expect(lost.count == 1 && lost.first?.metadata["tasks"] == "8", "\(lost)")
        let timedOut = await outcomeOf(sleeper)
        guard case .failure(ClusterError.taskFailed(let type, let message, _, _, _)) = timedOut else {
            Issue.record("the task past its timeout ended with \(timedOut)")
            return
        }
        #expect(type.hasSuffix("PoolError") && message.contains("ran longer than its timeout"), "\(type): \(message)")

        await cluster.shutdown()
        try await stop(nodeRun)
    }

    @Test func aTaskWithdrawnFromABatchStopsAloneAndTheOthersRunAgain() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_batch_withdraw"
        let cluster = try await Cluster(url: url, schema: schema), inspector = try QueueInspector(url: url, schema: schema)
        let (node, nodeRun, records) = try await startWarmNode(url, schema: schema, cluster)
        let logged = { (text: String) in records.withLock { $0.filter { $0.message.contains(text) } } }

        // Four tasks claimed at once, one batch, the first waiting at a closed gate.
        let gates = try GateFolder()
        let futures = try await cluster.submit(contentsOf: (0..<4).map { WaitForGate(directory: gates.path, value: $0) })
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks WHERE state = 1", toBe: 4))
        futures[2].cancel()
        let deadline = ContinuousClock.now + testDeadline
        while logged("the others run again alone").isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let again = logged("the others run again alone")
        #expect(again.count == 1 && again.first?.metadata["tasks"] == "3", "\(again)")
        #expect(gates.open(for: getpid()))
        for index in [0, 1, 3] {
            #expect((try? await outcomeOf(futures[index]).get()) == GateOutput(doubled: index * 2, node: getpid()), "task \(index)")
        }
        #expect(futures[2].isCancelled)
        // The withdrawn task was stopped, not finished and refused.
        #expect(node.refusedOutcomes == 0)
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    @Test func aNodeHoldsFewSlowTasks() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_batch_hold"
        let cluster = try await Cluster(url: url, schema: schema), inspector = try QueueInspector(url: url, schema: schema)
        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1, tasksPerProcess: 16)

        // Two tasks that take at least a second each (their gate opens after it): the node learns
        // its tasks are slow, and holds 2 (its least per process) where it held 16.
        let slow = try GateFolder()
        let first = try await cluster.submit(contentsOf: (0..<2).map { WaitForGate(directory: slow.path, value: $0) })
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks WHERE state = 1", toBe: 2))
        try await Task.sleep(for: .seconds(1))
        #expect(slow.open(for: getpid()))
        for (index, future) in first.enumerated() {
            #expect((try? await outcomeOf(future).get()) == GateOutput(doubled: index * 2, node: getpid()))
        }

        let gates = try GateFolder()
        let futures = try await cluster.submit(contentsOf: (0..<10).map { WaitForGate(directory: gates.path, value: $0) })
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks WHERE state = 1", toBe: 2))
        // The two it holds wait at the closed gate: it claims no more meanwhile.
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks WHERE state = 0") == 8)
        #expect(gates.open(for: getpid()))
        for (index, future) in futures.enumerated() {
            #expect((try? await outcomeOf(future).get()) == GateOutput(doubled: index * 2, node: getpid()))
        }
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}
