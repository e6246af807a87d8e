#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `multicore-cluster soak --tasks N | --duration S [--nodes 3] [--database URL] ...`: the
/// cluster's chaos soak (`ClusterSoak`); exits with 1 when any task lacks exactly one outcome.
enum SoakCommand {
    static let usage = """
        USAGE: multicore-cluster soak (--tasks N | --duration S) [--nodes N] [--processes N] [--database URL]
                                      [--schema NAME] [--seed N] [--kill-every S] [--max-attempts N]
                                      [--deadline S] [--window S] [--heartbeat S] [--dead-after S]
                                      [--vacuum-interval S]

        Sends doublers through node processes (copies of this program running `node`) while it
        SIGKILLs at random a node (one kill in three; it is started again at once) or one of a
        node's workers, and checks that every task sent has exactly one outcome: its output, or a
        failure (its worker was killed: that task fails alone; its node died `--max-attempts`
        times: ClusterError.nodeLost), and that no row is left in the queue. Exits with 1 when not.
        With --duration it sends tasks for that long, as fast as the nodes take them, and prints
        the throughput and the queue table's live and dead tuples every window.
          --tasks N            how many tasks
          --duration S         or: send tasks for S seconds
          --nodes N            node processes (default 3)
          --processes N        worker processes per node (default 2)
          --database URL       the server (default: a throwaway one, Scripts/postgres-server.sh)
          --schema NAME        the cluster's schema (default soak)
          --seed N             the kills' random seed (default: random, printed)
          --kill-every S       mean seconds between kills, 0 for none (default 0.5)
          --max-attempts N     runs of a task whose node dies (default 3)
          --deadline S         the longest wait for the outcomes (default 600)
          --window S           seconds per throughput window (default 10)
          --heartbeat S        the nodes' heartbeat (default 0.2)
          --dead-after S       a node silent this long is dead (default 1)
          --vacuum-interval S  how often the queue is vacuumed (default 1)

        """

    static func run(_ arguments: [String]) async -> Int32 {
        let options = CommandOptions(arguments, command: "soak", usage: usage, names: [
            "--tasks", "--duration", "--nodes", "--processes", "--database", "--schema", "--seed", "--kill-every",
            "--max-attempts", "--deadline", "--window", "--heartbeat", "--dead-after", "--vacuum-interval",
        ])
        var settings = ClusterSoak.Settings()
        settings.tasks = options.int("--tasks")
        settings.duration = options.seconds("--duration")
        guard (settings.tasks == nil) != (settings.duration == nil) else { options.fail("one of --tasks N and --duration S is needed") }
        settings.url = options.string("--database")
        settings.maxAttempts = options.int("--max-attempts", default: 3)!
        settings.deadline = options.seconds("--deadline", default: 600)!
        settings.window = options.seconds("--window", default: 10)!
        settings.nodes.count = options.int("--nodes", default: 3)!
        settings.nodes.processes = options.int("--processes", default: 2)!
        settings.nodes.schema = options.string("--schema") ?? "soak"
        settings.nodes.seed = options.string("--seed").map { text in
            guard let seed = UInt64(text) else { options.fail("--seed takes a whole number, not '\(text)'") }
            return seed
        } ?? UInt64.random(in: 0...UInt64(UInt32.max))
        let killEvery = options.seconds("--kill-every", default: 0.5, allowZero: true)!
        settings.nodes.killEvery = killEvery > 0 ? killEvery : nil
        settings.nodes.heartbeat = options.seconds("--heartbeat", default: 0.2)!
        settings.nodes.deadAfter = options.seconds("--dead-after", default: 1)!
        settings.nodes.vacuumInterval = options.seconds("--vacuum-interval", default: 1)!
        let log = NSTemporaryDirectory() + "multicore-cluster-soak-nodes-\(getpid()).log"
        guard FileManager.default.createFile(atPath: log, contents: nil) else {
            printError("multicore-cluster soak: cannot write \(log)\n")
            return 1
        }
        settings.nodes.log = log

        let amount = settings.tasks.map { "\($0) tasks" } ?? "tasks for \(settings.duration!) s"
        say("soak: \(amount) over \(settings.nodes.count) nodes of \(settings.nodes.processes) processes, "
            + (killEvery > 0 ? "a kill every \(killEvery) s on average" : "no kills") + ", seed \(settings.nodes.seed), "
            + "max attempts \(settings.maxAttempts), heartbeat \(settings.nodes.heartbeat) s, dead after \(settings.nodes.deadAfter) s")
        let report: ClusterSoak.Report
        do {
            report = try await ClusterSoak.run(settings, say: say)
        } catch {
            printError("multicore-cluster soak: \(error)\n")
            return 1
        }
        say(describe(report, settings))
        // The nodes of an instrumented build report data races on their output.
        let sanitizerReports = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "WARNING: ThreadSanitizer").count - 1
        if sanitizerReports > 0 { say("soak: \(sanitizerReports) ThreadSanitizer reports in the nodes' output") }
        if report.isSound, sanitizerReports == 0 {
            try? FileManager.default.removeItem(atPath: log)
            return 0
        }
        say("soak: NOT SOUND (the nodes' output: \(log))")
        return 1
    }

    /// A line on standard output at once (a pipe's reader sees the windows as they come).
    private static func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    static func describe(_ report: ClusterSoak.Report, _ settings: ClusterSoak.Settings) -> String {
        var lines = [
            "soak: \(report.tasks) tasks in \(rounded(report.seconds)) s (\(Int(Double(report.tasks) / max(report.seconds, 0.001))) tasks/s): "
                + "\(report.succeeded) right outputs, \(report.workerKilled) failed with their worker killed, "
                + "\(report.nodeLost) failed with ClusterError.nodeLost (their node died \(settings.maxAttempts) times: max attempts), \(report.otherFailures) other failures, "
                + "\(report.wrongOutput) wrong outputs",
            "outcomes: \(report.withoutOutcome) tasks without one, \(report.duplicates) duplicates"
                + (report.withoutOutcome == 0 && report.duplicates == 0 && !report.timedOut ? " (every task had exactly one outcome)" : ""),
            "kills: \(report.kills.nodes) nodes (started again), \(report.kills.workers) workers",
            "rows left: \(report.rowsLeft.map { "\($0)" } ?? "unknown")",
            "tasks table at most: \(report.mostLiveTuples) live, \(report.mostDeadTuples) dead tuples (sampled every \(settings.window) s)",
        ]
        lines += report.otherExamples.map { "  \($0)" }
        lines += report.kills.startFailures.map { "  a node did not start: \($0)" }
        if let duration = settings.duration {
            let full = report.windows.filter { $0.end <= duration + 0.001 }
            if let first = full.first, let last = full.last, first.tasksPerSecond > 0 {
                let change = (last.tasksPerSecond / first.tasksPerSecond - 1) * 100
                lines.append("throughput: first window \(Int(first.tasksPerSecond)) tasks/s, last \(Int(last.tasksPerSecond)) tasks/s "
                             + "(\(change >= 0 ? "+" : "")\(Int(change.rounded())) %), lowest \(Int(full.map(\.tasksPerSecond).min() ?? 0)) tasks/s")
            }
        }
        return lines.joined(separator: "\n")
    }
}
