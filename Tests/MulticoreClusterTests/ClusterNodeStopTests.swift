#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import Testing

/// A node process (ClusterNodeExample) stopped with SIGTERM, as a deployment stops it: it claims
/// nothing more, finishes its running tasks within its grace period (or hands them back, their
/// attempt not counted), removes itself and exits with 0.
extension ClusterTests {
    /// A node process of one worker with a grace period of `graceMilliseconds`, a handle, a
    /// queue inspector, and a folder for gates.
    private func startGatedNodeProcess(_ url: String, schema: String, graceMilliseconds: Int) async throws
        -> (Cluster, QueueInspector, ProgramRun, GateFolder) {
        let cluster = try await Cluster(url: url, schema: schema), inspector = try QueueInspector(url: url, schema: schema)
        let gates = try GateFolder()
        let node = try ProgramRun(beside: "ClusterNodeExample", [url, schema, "1", "200", "1000", "\(graceMilliseconds)"])
        return (cluster, inspector, node, gates)
    }

    /// Whether one task runs on `node` (its row owned by that node's process) within the deadline.
    func oneTaskRuns(on node: ProgramRun, schema: String, _ inspector: QueueInspector) async throws -> Bool {
        try await inspector.waitFor(
            "SELECT count(*) FROM $schema.tasks t JOIN $schema.nodes n ON n.id = t.owner WHERE t.state = 1 AND n.pid = \(node.pid)",
            toBe: 1)
    }

    /// Stops `node` and its workers at once, and reaps it.
    func killAndReap(_ node: ProgramRun) {
        node.signalGroup(SIGKILL)
        _ = node.wait(within: testDeadline)
    }

    @Test func aTerminatedNodeFinishesItsRunningTaskClaimsNothingMoreAndExits() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_sigterm"
        let (cluster, inspector, node, gates) = try await startGatedNodeProcess(url, schema: schema, graceMilliseconds: 20000)
        defer { killAndReap(node) }
        let running = try await cluster.submit(WaitForGate(directory: gates.path, value: 21))
        #expect(try await oneTaskRuns(on: node, schema: schema, inspector), "\(node.output)")

        node.signal(SIGTERM)
        #expect(await eventually { node.output.contains("claims nothing more") }, "\(node.output)")
        // Sent once the node stopped claiming: it stays queued.
        let later = try await cluster.submit(Twice(value: 4))
        #expect(gates.open(for: node.pid))
        #expect(try await within { try await running.value } == GateOutput(doubled: 42, node: node.pid))
        #expect(node.wait(within: testDeadline) == 0, "\(node.output)")
        #expect(node.output.contains("node stopped"), "\(node.output)")
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks WHERE state = 0 AND attempt = 0") == 1)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.nodes") == 0)
        #expect(!later.isDone)

        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1)
        #expect(try await within { try await later.value } == 8)
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    @Test func aTerminatedNodeHandsBackWhatOutlivesItsGracePeriod() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_handback"
        let (cluster, inspector, node, gates) = try await startGatedNodeProcess(url, schema: schema, graceMilliseconds: 300)
        defer { killAndReap(node) }
        let future = try await cluster.submit(WaitForGate(directory: gates.path, value: 5))
        #expect(try await oneTaskRuns(on: node, schema: schema, inspector), "\(node.output)")

        node.signal(SIGTERM)
        #expect(node.wait(within: testDeadline) == 0, "\(node.output)")
        #expect(node.output.contains("stops the tasks still running"), "\(node.output)")
        // Handed back: queued again, its attempt not counted.
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks WHERE state = 0 AND attempt = 0") == 1)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.nodes") == 0)
        #expect(!future.isDone)

        let (_, nodeRun) = try startNode(url, schema: schema, processes: 1)
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks WHERE state = 1 AND attempt = 1", toBe: 1))
        #expect(gates.open(for: getpid()))
        #expect(try await within { try await future.value } == GateOutput(doubled: 10, node: getpid()))
        await cluster.shutdown()
        try await stop(nodeRun)
    }
}
