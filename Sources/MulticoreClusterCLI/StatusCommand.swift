import MulticoreCluster

/// `multicore-cluster status --database URL [--schema NAME]`: what a cluster's queue holds now.
enum StatusCommand {
    static let usage = """
        USAGE: multicore-cluster status --database URL [--schema NAME]

        Prints a cluster's queue: unfinished tasks by task type (as Swift prints the type: ready,
        delayed, running), failures in the last minute, and the nodes with their last heartbeat and
        the task types they serve (ages by the database's clock).
          --database URL   postgres://user[:password]@host[:port]/database
          --schema NAME    the cluster's schema (default multicore)

        """

    static func run(_ arguments: [String]) async -> Int32 {
        let options = CommandOptions(arguments, command: "status", usage: usage, names: ["--database", "--schema"])
        let url = options.required("--database")
        do {
            let cluster = try await Cluster(url: url, schema: options.string("--schema") ?? "multicore")
            let status = try await cluster.queueStatus()
            await cluster.shutdown()
            let nameWidth = max(10, status.queues.map(\.typeName.count).max() ?? 0)
            print("tasks by type\n  \(column("type", nameWidth, right: false))  \(column("ready", 8))  \(column("delayed", 8))  "
                  + "\(column("running", 8))  \(column("failed 1m", 9))")
            for queue in status.queues {
                print("  \(column(queue.typeName, nameWidth, right: false))  \(column("\(queue.ready)", 8))  \(column("\(queue.delayed)", 8))  "
                      + "\(column("\(queue.running)", 8))  \(column("\(queue.failedLastMinute)", 9))")
            }
            if status.queues.isEmpty { print("  (none)") }
            print("running: \(status.queues.reduce(0) { $0 + $1.running }), failures in the last minute: \(status.failuresLastMinute)")
            print("nodes: \(status.nodes.count)")
            for node in status.nodes {
                let age = (node.secondsSinceHeartbeat * 10).rounded() / 10
                print("  \(node.host) pid \(node.pid): \(node.running) running, last heartbeat \(age) s ago, "
                      + "serves \(node.typeNames.sorted().joined(separator: ", ")) (\(node.id))")
            }
            return 0
        } catch {
            printError("multicore-cluster: \(error)\n")
            return 1
        }
    }

    /// Pads `text` to `width` columns (right-aligned numbers, left-aligned names).
    private static func column(_ text: String, _ width: Int, right: Bool = true) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
