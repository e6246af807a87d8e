#if canImport(Glibc)
import Glibc
#endif
import MulticoreCluster

/// `multicore-cluster bench-node URL SCHEMA HEARTBEAT_MS DEAD_AFTER_MS` (hidden): a node of one
/// worker process serving the benchmark's task types (`benchTaskTypes`), in a process of its own
/// that the benchmark SIGKILLs (`cluster.node_death_rescue`). It ends when the benchmark that
/// started it is gone, however that ended.
enum BenchNodeCommand {
    static func run(_ arguments: [String]) async -> Int32 {
        guard arguments.count == 4, let heartbeat = Int(arguments[2]), let deadAfter = Int(arguments[3]) else {
            printError("usage: multicore-cluster bench-node URL SCHEMA HEARTBEAT_MS DEAD_AFTER_MS\n")
            return 2
        }
        let parent = getppid()
        do {
            let node = try ClusterNode(url: arguments[0], schema: arguments[1], processes: 1, tasks: benchTaskTypes,
                                       heartbeat: .milliseconds(heartbeat), deadAfter: .milliseconds(deadAfter))
            let running = Task { try await node.run() }
            // The benchmark gone (its node processes are in groups of their own, so Ctrl-C does
            // not reach them): this node goes too.
            while getppid() == parent {
                try await Task.sleep(for: .milliseconds(200))
            }
            running.cancel()
            return 0
        } catch {
            printError("bench-node: \(error)\n")
            return 1
        }
    }
}
