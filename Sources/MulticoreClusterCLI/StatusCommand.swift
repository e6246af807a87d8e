import MulticoreCluster

/// `multicore-cluster status --database URL [--schema NAME]`: what a cluster's queue holds now.
enum StatusCommand {
    static let usage = """
          status --database URL [--schema NAME]
            Prints a cluster's queue: unfinished tasks by task type (ready, delayed, running),
            failures in the last minute, and the nodes with their last heartbeat (ages by the
            database's clock).
              --database URL   postgres://user[:password]@host[:port]/database
              --schema NAME    the cluster's schema (default multicore)

        """

    /// The exit status: 0, 1 when the queue cannot be read, 2 for a usage error.
    static func run(_ arguments: [String]) async -> Int32 {
        var arguments = arguments
        var url: String?
        var schema = "multicore"
        func fail(_ message: String) -> Int32 {
            printError("multicore-cluster status: \(message)\n\nUSAGE: multicore-cluster\(usage)")
            return 2
        }
        while !arguments.isEmpty {
            let option = arguments.removeFirst()
            guard ["--database", "--schema"].contains(option) else { return fail("unknown option '\(option)'") }
            guard !arguments.isEmpty else { return fail("\(option) takes a value") }
            if option == "--database" { url = arguments.removeFirst() } else { schema = arguments.removeFirst() }
        }
        guard let url else { return fail("--database URL is needed") }
        do {
            let cluster = try await Cluster(url: url, schema: schema)
            let status = try await cluster.queueStatus()
            await cluster.shutdown()
            print(Self.text(status), terminator: "")
            return 0
        } catch {
            printError("multicore-cluster: \(error)\n")
            return 1
        }
    }

    /// The status as the command prints it.
    static func text(_ status: ClusterStatus) -> String {
        let nameWidth = max(10, status.queues.map(\.kind.count).max() ?? 0)
        var text = "tasks by type\n  \(column("type", nameWidth, right: false))  \(column("ready", 8))  \(column("delayed", 8))  "
            + "\(column("running", 8))  \(column("failed 1m", 9))\n"
        for queue in status.queues {
            text += "  \(column(queue.kind, nameWidth, right: false))  \(column("\(queue.ready)", 8))  \(column("\(queue.delayed)", 8))  "
                + "\(column("\(queue.running)", 8))  \(column("\(queue.failedLastMinute)", 9))\n"
        }
        if status.queues.isEmpty { text += "  (none)\n" }
        text += "running: \(status.queues.reduce(0) { $0 + $1.running }), failures in the last minute: \(status.failuresLastMinute)\n"
        text += "nodes: \(status.nodes.count)\n"
        for node in status.nodes {
            let age = (node.secondsSinceHeartbeat * 10).rounded() / 10
            text += "  \(node.host) pid \(node.pid): \(node.running) running, last heartbeat \(age) s ago, "
                + "\(node.kinds.count) task types (\(node.id))\n"
        }
        return text
    }

    /// Pads `text` to `width` columns (right-aligned numbers, left-aligned names).
    private static func column(_ text: String, _ width: Int, right: Bool = true) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
