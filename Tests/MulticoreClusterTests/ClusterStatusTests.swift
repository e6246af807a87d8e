import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import Testing

/// `Cluster.queueStatus()` and `multicore-cluster status`: unfinished tasks by type, failures in
/// the last minute, nodes with their last heartbeat.
extension ClusterTests {
    @Test func theStatusCountsTasksByTypeFailuresAndNodes() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_status"
        let gates = try GateFolder()
        // One process holding one task: of three gated tasks one runs and two wait; no node runs `Twice`.
        let (node, nodeRun) = try startNode(url, schema: schema, processes: 1, tasks: [WaitForGate.self, TrapWhenTold.self],
                                            tasksPerProcess: 1)
        let cluster = try await Cluster(url: url, schema: schema)
        let trapped = try await cluster.submit(TrapWhenTold(value: 1, trap: true))
        #expect(await errorOf { try await trapped.value } != nil)
        let gated = try await cluster.submit(contentsOf: (0..<3).map { WaitForGate(directory: gates.path, value: $0) })
        _ = try await cluster.submit(contentsOf: [Twice(value: 1), Twice(value: 2)])
        _ = try await cluster.enqueue(Twice(value: 3), runAt: .after(.seconds(3600)))
        #expect(await eventually { node.runningTasks == 1 })
        // A failure of a kind that is no mangled name (a row written by hand): shown as it is.
        let inspector = try QueueInspector(url: url, schema: schema)
        #expect(try await inspector.int(
            "WITH added AS (INSERT INTO $schema.failures (kind) VALUES ('not a type') RETURNING 1) SELECT count(*) FROM added") == 1)

        let status = try await cluster.queueStatus()
        let gate = try #require(_mangledTypeName(WaitForGate.self)), twice = try #require(_mangledTypeName(Twice.self))
        let trap = try #require(_mangledTypeName(TrapWhenTold.self))
        /// Ready, delayed, running, failed in the last minute.
        func counts(_ kind: String) -> [Int]? {
            status.queues.first { $0.kind == kind }.map { [$0.ready, $0.delayed, $0.running, $0.failedLastMinute] }
        }
        #expect(counts(gate) == [2, 0, 1, 0])
        #expect(counts(twice) == [2, 1, 0, 0])
        #expect(counts(trap) == [0, 0, 0, 1])
        #expect(counts("not a type") == [0, 0, 0, 1])
        #expect(status.failuresLastMinute == 2)
        // Each type also as Swift prints it, read from the mangled name by the runtime's demangler.
        let readable = [gate: String(reflecting: WaitForGate.self), twice: String(reflecting: Twice.self),
                        trap: String(reflecting: TrapWhenTold.self), "not a type": "not a type"]
        #expect(readable[gate] == "ClusterTestTasks.WaitForGate")
        for queue in status.queues { #expect(queue.typeName == readable[queue.kind], "\(queue.kind)") }
        #expect(status.queues.count == 4)
        #expect(status.nodes.first?.typeNames.sorted() == [String(reflecting: TrapWhenTold.self), String(reflecting: WaitForGate.self)])
        #expect(status.nodes.count == 1)
        #expect(status.nodes.first?.pid == getpid() && status.nodes.first?.running == 1 && status.nodes.first?.kinds.count == 2)
        #expect((status.nodes.first?.secondsSinceHeartbeat ?? 99) < 5, "a node that beats every 200 ms")

        // The command prints the same.
        let command = try ProgramRun(beside: "multicore-cluster", ["status", "--database", url, "--schema", schema])
        #expect(command.wait(within: testDeadline) == 0, "\(command.output)")
        let output = command.output
        // Task types as a person reads them, never mangled.
        for name in readable.values { #expect(output.contains(name), "\(name) in \(output)") }
        #expect(!output.contains(gate) && !output.contains(twice) && !output.contains(trap), "\(output)")
        #expect(output.contains("serves \(String(reflecting: TrapWhenTold.self)), \(String(reflecting: WaitForGate.self))"),
                "\(output)")
        #expect(output.contains("running: 1, failures in the last minute: 2"), "\(output)")
        #expect(output.contains("nodes: 1") && output.contains("pid \(getpid()): 1 running"), "\(output)")
        let misused = try ProgramRun(beside: "multicore-cluster", ["status"])
        #expect(misused.wait(within: testDeadline) == 2)

        #expect(gates.open(for: getpid()))
        for future in gated { _ = try await within { try await future.value } }
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}
