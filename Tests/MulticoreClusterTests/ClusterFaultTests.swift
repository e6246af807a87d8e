#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreProcessing
import MulticoreTestSupport
import PostgresNIO
import Testing

/// Faults of the connections and of the server mid-map: each ends with every task's one outcome,
/// bounded in time (part of the serialized `ClusterTests`).
extension ClusterTests {
    /// Every client connection of the database (the submitter's pool and LISTEN, the node's pool
    /// and LISTEN) is terminated by the server (`pg_terminate_backend`), three times mid-map:
    /// statements on the dead connections fail at once (never wait for a reply that cannot come),
    /// everything connects again, every task has its one output, and both sides listen again.
    @Test func terminatedConnectionsMidMapReconnectAndEveryTaskHasOneOutcome() async throws {
        try await mapThroughFaults(url: try ThrowawayPostgres.url, schema: "t_killall",
                                   what: "every connection terminated 3 times", rounds: 3) { round, inspector in
            let terminated = try await inspector.int("""
                SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()) cut
                """)
            // At least the node's pool and LISTEN, the submitter's pool and LISTEN.
            #expect((terminated ?? 0) >= 4, "round \(round): \(terminated ?? 0) connections terminated")
        }
    }

    /// The server is restarted mid-map (`pg_ctl restart -m fast`: every connection goes, and the
    /// server is away for a moment): the submitter and the node connect again with back-off, the
    /// map ends with every task's one output, and the node is registered and listening again.
    @Test func aServerRestartMidMapIsWaitedOutAndEveryTaskHasOneOutcome() async throws {
        let server = try ThrowawayPostgres.server.get()
        try await mapThroughFaults(url: server.url, schema: "t_restart", what: "a server restart", rounds: 1) { _, _ in
            try await server.restart()
        }
    }

    /// A map of 3,000 tasks on a node in this process, with `fault` done `rounds` times, each
    /// after another 600 outcomes came: every task has its one output within 60 s, no row is
    /// left, the node is registered, and both sides listen.
    private func mapThroughFaults(url: String, schema: String, what: String, rounds: Int,
                                  _ fault: (_ round: Int, _ inspector: QueueInspector) async throws -> Void) async throws {
        let (_, nodeRun) = try startNode(url, schema: schema)
        do {
            try await mapOnTheNode(url: url, schema: schema, what: what, rounds: rounds, fault)
        } catch {
            try await stop(nodeRun)
            throw error
        }
        try await stop(nodeRun)
    }

    private func mapOnTheNode(url: String, schema: String, what: String, rounds: Int,
                              _ fault: (_ round: Int, _ inspector: QueueInspector) async throws -> Void) async throws {
        let cluster = try await Cluster(url: url, schema: schema, pollInterval: .milliseconds(200))
        let inspector = try QueueInspector(url: url, schema: schema)
        #expect(try await inspector.waitFor(listeners, toBe: 2))

        let inputs = (0..<3000).map { Twice(value: $0) }
        let started = ContinuousClock.now
        let futures = try await within { try await cluster.submit(contentsOf: inputs) }
        for round in 1...rounds {
            #expect(await eventually { futures.count(where: \.isDone) >= round * 600 }, "round \(round)")
            try await fault(round, inspector)
        }
        let outputs = try await within(.seconds(60), "the map") {
            var outputs: [Int] = []
            for future in futures { outputs.append(try await future.value) }
            return outputs
        }
        #expect(outputs == inputs.map { $0.value * 2 })
        print("cluster: 3,000 tasks with \(what): \(ContinuousClock.now - started)")
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.nodes", toBe: 1))
        #expect(try await inspector.waitFor(listeners, toBe: 2))
        await cluster.shutdown()
    }

    /// The queue stays small: delivered rows are deleted, and the nodes' janitors VACUUM the
    /// tables every `vacuumInterval`, one node at a time: while another session holds the
    /// janitor's lock no node vacuums; released, one does, and the dead rows are gone.
    @Test func theJanitorVacuumsTheQueueOneNodeAtATime() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_janitor"
        #expect(throws: ClusterError.self) {
            try ClusterNode(url: url, schema: schema, tasks: [Twice.self], vacuumInterval: .zero)
        }
        let cluster = try await Cluster(url: url, schema: schema, pollInterval: .milliseconds(200))
        let inspector = try QueueInspector(url: url, schema: schema)
        let vacuums = "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = '$schema.tasks'::regclass"
        let nodes = try (0..<2).map { _ in
            try ClusterNode(url: url, schema: schema, processes: 1, tasks: clusterTestTaskTypes, heartbeat: .milliseconds(200),
                            deadAfter: .seconds(1), pollInterval: .milliseconds(200), vacuumInterval: .milliseconds(300))
        }
        let runs = nodes.map { node in Task { try await node.run() } }
        let lock = "\(schema).janitor"
        let inputs = (0..<2000).map { Twice(value: $0) }
        try await withBoundedConnection(inspector.client, within: .seconds(60)) { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(hashtext(\(lock)))", logger: connection.logger).collect()
            #expect(try await cluster.map(inputs) == inputs.map { $0.value * 2 })
            #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
            // Three of the janitors' rounds later, no node has vacuumed: the lock is held.
            try await Task.sleep(for: .milliseconds(900))
            #expect(try await inspector.int(vacuums) == 0)
            _ = try await connection.query("SELECT pg_advisory_unlock(hashtext(\(lock)))", logger: connection.logger).collect()
        }
        #expect(try await inspector.waitFor("SELECT least(vacuum_count, 1) FROM pg_stat_user_tables WHERE relid = '$schema.tasks'::regclass",
                                            toBe: 1))
        #expect(try await inspector.waitFor("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = '$schema.tasks'::regclass",
                                            toBe: 0))
        await cluster.shutdown()
        for run in runs { try await stop(run) }
    }
}

/// The LISTEN connections of the tests' schema, counted.
private let listeners = """
    SELECT count(*) FROM pg_stat_activity
     WHERE datname = current_database() AND backend_type = 'client backend' AND query LIKE 'LISTEN "$schema_%'
    """
