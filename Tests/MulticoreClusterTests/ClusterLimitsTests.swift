#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreProcessing
import MulticoreTestSupport
import Testing

/// What fails one task and nothing else: a task or a result over `ClusterLimits.maximumPayload`,
/// a row its node cannot decode, a task whose node died `maxAttempts` times.
extension ClusterTests {
    @Test func anOversizedOrUndecodableTaskFailsAlone() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_limits"
        let cluster = try await Cluster(url: url, schema: schema)
        let inspector = try QueueInspector(url: url, schema: schema)
        let limit = ClusterLimits.maximumPayload
        #expect(limit == 16 << 20)

        // A task over the limit is refused at submit: nothing is queued.
        let refused = await errorOf { try await cluster.submit(RepeatText(text: String(repeating: "x", count: limit), times: 1)) }
        guard case ClusterError.payloadTooLarge(let bytes, limit)? = refused else {
            Issue.record("an oversized task's submit ended with \(String(describing: refused))")
            return
        }
        #expect(bytes > limit)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks") == 0)

        // Queued before any node runs: the first row's payload is then made unreadable, the third
        // task's result is over the limit; the second and the fourth are sound.
        let twice = try await cluster.submit(contentsOf: [Twice(value: 1), Twice(value: 2)])
        let large = try await cluster.submit(RepeatText(text: "ab", times: limit / 2 + 1))
        let small = try await cluster.submit(RepeatText(text: "ab", times: 3))
        #expect(try await inspector.int("""
            WITH broken AS (UPDATE $schema.tasks SET payload = ''::bytea
                             WHERE seq = (SELECT min(seq) FROM $schema.tasks) RETURNING 1)
            SELECT count(*) FROM broken
            """) == 1)
        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1)

        let undecodable = await outcomeOf(twice[0])
        guard case .failure(ClusterError.taskFailed(let type, let message, _, let pid, _)) = undecodable else {
            Issue.record("the undecodable row ended with \(undecodable)")
            return
        }
        #expect(type == "UndecodableTask" && pid == getpid(), "\(type)")
        #expect(message.contains("cannot decode the task as \(String(reflecting: Twice.self))"), "\(message)")
        #expect(try await within { try await twice[1].value } == 4)

        let tooLarge = await outcomeOf(large)
        guard case .failure(ClusterError.taskFailed(let type, let message, _, _, _)) = tooLarge else {
            Issue.record("the oversized result ended with \(String(describing: try? tooLarge.get().count))")
            return
        }
        #expect(type == "ResultTooLarge" && message.contains("over the cluster's limit of \(limit)"), "\(type): \(message)")
        #expect(try await within { try await small.value } == "ababab")
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// With `maxAttempts: 1`, a task whose node process is SIGKILLed while it runs it is not run
    /// again: the node that finds the dead one fails it with `ClusterError.nodeLost`.
    @Test func aTaskWhoseNodeDiedMaxAttemptsTimesFailsWithNodeLost() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_lost"
        let gates = try GateFolder()
        let cluster = try await Cluster(url: url, schema: schema, maxAttempts: 1)
        let inspector = try QueueInspector(url: url, schema: schema)

        let killed = try ProgramRun(beside: "ClusterNodeExample", [url, schema, "1", "200", "1000"])
        let future = try await cluster.submit(WaitForGate(directory: gates.path, value: 5))
        #expect(try await oneTaskRuns(on: killed, schema: schema, inspector), "\(killed.output)")
        killAndReap(killed)
        // This process's gate is open: had its node run the task again, the task would have returned.
        #expect(gates.open(for: getpid()))
        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1)
        guard case .failure(ClusterError.nodeLost(let attempts, _)) = await outcomeOf(future) else {
            Issue.record("the task of the killed node did not fail with nodeLost")
            try await stop(nodeRun)
            return
        }
        #expect(attempts == 1)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.failures WHERE error_type = 'NodeLost'") == 1)
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}
