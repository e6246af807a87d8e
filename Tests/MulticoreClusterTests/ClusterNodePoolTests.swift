#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import MulticoreCluster
import MulticoreTestSupport
import Testing

/// What a node passes to its local process pool: `maxTasksPerChild`.
extension ClusterTests {
    /// With `maxTasksPerChild` 1 each task runs on a fresh worker: the pids of the workers that
    /// ran 24 tasks all differ, also once the node measured its tasks and batches them (its
    /// batches are cut to one task). Without it, the node's two workers run them all.
    @Test func maxTasksPerChildReplacesANodesWorkers() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_maxtasks"
        let cluster = try await Cluster(url: url, schema: schema)
        let (_, limited) = try startNode(url, schema: schema, maxTasksPerChild: 1)
        #expect(throws: ClusterError.self) { try ClusterNode(url: url, schema: schema, tasks: [WorkerPid.self], maxTasksPerChild: 0) }

        // Measured as quick: claimed tasks of a kind would now go to the workers in batches.
        let warmUp = (0..<40).map { Twice(value: $0) }
        #expect(try await within { try await cluster.map(warmUp) } == warmUp.map { $0.value * 2 })
        let tasks = (0..<24).map { WorkerPid(value: $0) }
        let pids = try await within { try await cluster.map(tasks) }
        #expect(Set(pids).count == tasks.count, "\(pids)")
        #expect(!pids.contains(getpid()))
        try await stop(limited)

        let (_, unlimited) = try startNode(url, schema: schema)
        let reused = try await within { try await cluster.map(tasks) }
        #expect(Set(reused).count <= 2, "\(reused)")
        await cluster.shutdown()
        try await stop(unlimited)
    }
}
