// `multicore-cluster status --database URL [--schema NAME]`: what a cluster's queue holds now.
// An executable of its own: `multicore` (whose workers are copies of it) does not link
// postgres-nio.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreCluster

func printError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

let usage = """
    USAGE: multicore-cluster status --database URL [--schema NAME]

    Prints a cluster's queue: unfinished tasks by task type (ready, delayed, running), failures in
    the last minute, and the nodes with their last heartbeat (ages by the database's clock).
      --database URL   postgres://user[:password]@host[:port]/database
      --schema NAME    the cluster's schema (default multicore)

    """

func fail(_ message: String) -> Never {
    printError("multicore-cluster: \(message)\n\n\(usage)")
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "status" else {
    if ["help", "-h", "--help"].contains(arguments.first ?? "") {
        print(usage, terminator: "")
        exit(0)
    }
    fail(arguments.isEmpty ? "a command is needed" : "unknown command '\(arguments[0])'")
}
arguments.removeFirst()
var url: String?
var schema = "multicore"
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    guard ["--database", "--schema"].contains(option) else { fail("unknown option '\(option)'") }
    guard !arguments.isEmpty else { fail("\(option) takes a value") }
    if option == "--database" { url = arguments.removeFirst() } else { schema = arguments.removeFirst() }
}
guard let url else { fail("--database URL is needed") }

/// Pads `text` to `width` columns (right-aligned numbers, left-aligned names).
func column(_ text: String, _ width: Int, right: Bool = true) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

do {
    let cluster = try await Cluster(url: url, schema: schema)
    let status = try await cluster.queueStatus()
    await cluster.shutdown()
    let nameWidth = max(10, status.queues.map(\.kind.count).max() ?? 0)
    print("tasks by type\n  \(column("type", nameWidth, right: false))  \(column("ready", 8))  \(column("delayed", 8))  "
          + "\(column("running", 8))  \(column("failed 1m", 9))")
    for queue in status.queues {
        print("  \(column(queue.kind, nameWidth, right: false))  \(column("\(queue.ready)", 8))  \(column("\(queue.delayed)", 8))  "
              + "\(column("\(queue.running)", 8))  \(column("\(queue.failedLastMinute)", 9))")
    }
    if status.queues.isEmpty { print("  (none)") }
    print("running: \(status.queues.reduce(0) { $0 + $1.running }), failures in the last minute: \(status.failuresLastMinute)")
    print("nodes: \(status.nodes.count)")
    for node in status.nodes {
        let age = (node.secondsSinceHeartbeat * 10).rounded() / 10
        print("  \(node.host) pid \(node.pid): \(node.running) running, last heartbeat \(age) s ago, \(node.kinds.count) task types (\(node.id))")
    }
} catch {
    printError("multicore-cluster: \(error)\n")
    exit(1)
}
