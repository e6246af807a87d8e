#if canImport(Glibc)
import Glibc
#endif
import Logging
import MulticoreCluster
import MulticoreSystem
import MulticoreThreading

/// `multicore-cluster node --database URL [--processes N] [--schema NAME]`: a `ClusterNode`
/// serving the doubler until SIGTERM or SIGINT, then stopping as a deployment stops it (claims
/// nothing more, lets running tasks finish for up to the grace period, hands back the rest).
enum NodeCommand {
    static let usage = """
        USAGE: multicore-cluster node --database URL [--processes N] [--schema NAME]
                                      [--heartbeat S] [--dead-after S] [--grace S] [--vacuum-interval S]

        Runs a cluster node serving the notebook's doubler (what `multicore-cluster map` sends) in
        a local pool of N worker processes, until SIGTERM or SIGINT (Ctrl-C): then it claims nothing
        more, lets its running tasks finish for up to the grace period, hands back the rest, and
        exits with 0. Its events (joined, rescues, refused outcomes) go to standard output.
          --database URL        postgres://user[:password]@host[:port]/database
          --processes N         worker processes (default: the CPUs this process may use)
          --schema NAME         the cluster's schema (default multicore)
          --heartbeat S         seconds between heartbeats (default 2)
          --dead-after S        a node silent this long is dead, its tasks requeued (default 10)
          --grace S             how long running tasks may finish when stopping (default 30)
          --vacuum-interval S   how often one node vacuums the queue (default 1)

        """

    /// SIGTERM and SIGINT are blocked before any other thread starts (threads inherit the mask)
    /// and taken by a thread of its own in `sigwait`; the node's workers are spawned with their
    /// own mask.
    /// Their default disposition is restored first: a shell starts a background job with
    /// SIGINT ignored, and an ignored signal is dropped, blocked or not.
    static func blockStopSignals() {
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        var signals = stopSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    private static var stopSignals: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        return signals
    }

    static func run(_ arguments: [String]) async -> Int32 {
        let options = CommandOptions(arguments, command: "node", usage: usage, names: [
            "--database", "--processes", "--schema", "--heartbeat", "--dead-after", "--grace", "--vacuum-interval",
            // The soak's nodes: SIGTERM when the soak (their parent, this pid) ends, however it ends.
            "--parent",
        ])
        if let parent = options.int("--parent") {
            guard ParentDeath.signal(SIGTERM, whenParentDies: Int32(parent)) else {
                printError("multicore-cluster node: the parent \(parent) is already gone\n")
                return 1
            }
        }
        let logger: Logger = {
            var logger = Logger(label: "node") { StreamLogHandler.standardOutput(label: $0) }
            logger.logLevel = .notice
            return logger
        }()
        let node: ClusterNode
        do {
            node = try ClusterNode(
                url: options.required("--database"), schema: options.string("--schema") ?? "multicore",
                processes: options.int("--processes"), tasks: [Doubler.self],
                heartbeat: .seconds(decimal: options.seconds("--heartbeat", default: 2)!),
                deadAfter: .seconds(decimal: options.seconds("--dead-after", default: 10)!),
                gracePeriod: .seconds(decimal: options.seconds("--grace", default: 30, allowZero: true)!),
                vacuumInterval: .seconds(decimal: options.seconds("--vacuum-interval", default: 1)!), logger: logger)
        } catch {
            options.fail("\(error)")
        }
        let running = Task.detached { try await node.run() }
        let watcher = JoinableThread(name: "stop-signals", daemon: true) {
            var waited = stopSignals
            var signal: Int32 = 0
            while sigwait(&waited, &signal) != 0 {}
            logger.notice("\(signal == SIGINT ? "SIGINT" : "SIGTERM"): stopping the node")
            running.cancel()
        }
        do {
            try watcher.start()
            try await running.value
        } catch {
            printError("multicore-cluster node: \(error)\n")
            return 1
        }
        print("node stopped")
        return 0
    }
}
