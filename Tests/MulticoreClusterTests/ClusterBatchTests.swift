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

    @Test func aBatchsTasksEachGetTheirOwnOutcome() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_batch"
        let cluster = try await Cluster(url: url, schema: schema)
        let records = Locked<[RecordingLogHandler.Record]>([])
        let lostBatches = { records.withLock { $0.filter { $0.message.contains("worker died during a batch") } } }

        let node = try ClusterNode(url: url, schema: schema, processes: 1, tasks: clusterTestTaskTypes, heartbeat: .milliseconds(200),
                                   deadAfter: .seconds(1), pollInterval: .milliseconds(200),
                                   logger: RecordingLogHandler.logger(records, level: .notice))
        let nodeRun = Task { try await node.run() }
        // Tiny tasks first: the node learns they are quick (its first batch also paid for its
        // worker's start), and holds more than eight at a time after.
        let warmUp = (0..<300).map { Twice(value: $0) }
        #expect(try await within { try await cluster.map(warmUp) } == warmUp.map { $0.value * 2 })

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
}
