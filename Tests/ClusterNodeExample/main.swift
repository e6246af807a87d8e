// A cluster node in a process of its own, for the tests that stop or kill a node:
//   ClusterNodeExample URL SCHEMA PROCESSES HEARTBEAT_MS DEAD_AFTER_MS
// It serves the task types of ClusterTestTasks and logs its events (notice) on standard output.
#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Logging
import MulticoreCluster

let arguments = CommandLine.arguments
guard arguments.count == 6, let processes = Int(arguments[3]), let heartbeat = Int(arguments[4]),
      let deadAfter = Int(arguments[5]) else {
    print("usage: ClusterNodeExample URL SCHEMA PROCESSES HEARTBEAT_MS DEAD_AFTER_MS")
    exit(2)
}
var logger = Logger(label: "node") { StreamLogHandler.standardOutput(label: $0) }
logger.logLevel = .notice
let node = try ClusterNode(url: arguments[1], schema: arguments[2], processes: processes, tasks: clusterTestTaskTypes,
                           heartbeat: .milliseconds(heartbeat), deadAfter: .milliseconds(deadAfter),
                           pollInterval: .milliseconds(200), logger: logger)
try await node.run()
