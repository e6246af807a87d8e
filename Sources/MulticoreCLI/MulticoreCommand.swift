#if canImport(Glibc)
import Glibc
#endif
import Multicore
import MulticoreSoak

/// `multicore [command] [options]`. The arguments are parsed by hand: swift-argument-parser
/// loads FoundationEssentials, and every worker process (a fresh copy of this executable) would
/// pay for it in start time and memory.
@main
enum MulticoreCommand {
    static let usage = """
        USAGE: multicore [command] [options]

        Runs the "Concurrent execution" notebook's experiments with Multicore.

        COMMANDS:
          notebook   Run every cell of the notebook, in order (the default).
          cell1      Five threads sleep 3 s each, in parallel.
          cell2      Ten threads add 1,000,000 each to a total under one lock.
          cell3      Five processes double five numbers, then the same work serially.
          bench      Measure Multicore against CPython and the raw system calls, side by side.
                     Every figure is a cost (lower is better).
            --json           One JSON object per line: name, unit, multicore, python, raw
                             (and peers, with --peers).
            --quick          Fewer iterations and rounds: finishes in well under a minute.
            --filter TEXT    Run only the benchmarks whose name contains TEXT (is TEXT, with a final $).
            --skip-python    Leave CPython out (its column is then null).
            --rounds N       Rounds per benchmark; the median is reported (default 5, 2 with --quick).
            --peers          Also measure loky, pebble and joblib where they have the same work
                             (installed from PyPI into .build/peers-venv the first time): the
                             table gains the best peer's columns, the JSON a "peers" object.
            --svg FILE       Draw the run into FILE as an SVG picture, with a scaling panel
                             (throughput against 1, 2 and 4 workers; a few seconds more).
            --cluster        Add the cluster rows (cluster.*: a map on 2 nodes, submit latency,
                             node death rescue, task crash detection), measured by the
                             multicore-cluster executable beside this one on a throwaway
                             PostgreSQL server it starts and removes (a few minutes); with
                             --peers, pgqueuer and procrastinate too.
            --database URL   The cluster rows on this server instead (implies --cluster).
          cluster    Runs `multicore-cluster` (beside this executable) with the arguments that
                     follow: `multicore cluster status --database URL`, `multicore cluster help`.
          cluster-soak
                     The cluster's chaos soak: `multicore-cluster soak` with the arguments that
                     follow (`multicore cluster-soak --tasks 20000`).
          soak       The crash soak: tasks through a process pool whose workers are SIGKILLed at
                     random (about one kill per 1000 tasks); prints the counts of tasks, results,
                     worker-died errors and tasks without an outcome; exits 1 unless every task
                     had exactly one outcome, right, and a task failed for its worker's death
                     only after retries + 1 workers died running it.
            --tasks N        How many tasks (default 20000).
            --workers N      Worker processes (default 2).
            --retries N      Runs again for a task whose worker died (default 3; 0 to see the errors).
          pool       The notebook's doubler over a process Pool, with a progress bar.
            --numbers N      How many numbers to double (default 10).
            --workers N      Worker processes (default: the CPUs this process may use).
          crash      Ten tasks on a Pool of two workers: one traps, one segfaults; each fails
                     alone, named with its worker's signal, and the other eight complete.
          help       Show this text (also -h, --help).

        """

    static func main() {
        var arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
        do {
            let command = arguments.command() ?? "notebook"
            // Before any thread starts (see `Interruption`); not for the others: `bench` forks.
            if ["soak", "pool", "crash"].contains(command) { try Interruption.install() }
            switch command {
            case "notebook":
                try arguments.finish()
                try NotebookCells.cell1()
                Console.line("")
                try NotebookCells.cell2()
                Console.line("")
                try NotebookCells.cell3()
            case "cell1": try arguments.finish(); try NotebookCells.cell1()
            case "cell2": try arguments.finish(); try NotebookCells.cell2()
            case "cell3": try arguments.finish(); try NotebookCells.cell3()
            case "bench":
                let bench = Bench(json: arguments.flag("--json"), quick: arguments.flag("--quick"),
                                  filter: try arguments.option("--filter"), skipPython: arguments.flag("--skip-python"),
                                  rounds: try arguments.option("--rounds").map { text in
                                      guard let value = Int(text), value > 0 else { throw UsageError("--rounds takes a positive number, not '\(text)'") }
                                      return value
                                  },
                                  peers: arguments.flag("--peers"),
                                  svg: try arguments.option("--svg").map { path in
                                      guard !path.isEmpty, !path.hasPrefix("-") else { throw UsageError("--svg takes a file name, not '\(path)'") }
                                      return path
                                  },
                                  cluster: arguments.flag("--cluster"), database: try arguments.option("--database"))
                try arguments.finish()
                try bench.run()
            case "cluster":
                try ClusterSibling.forward(arguments.rest())
            case "cluster-soak":
                try ClusterSibling.forward(["soak"] + arguments.rest())
            case "soak":
                let tasks = try arguments.number("--tasks", 20_000, minimum: 1)
                let workers = try arguments.number("--workers", 2, minimum: 1)
                let retries = try arguments.number("--retries", 3, minimum: 0)
                try arguments.finish()
                let report = try PoolSoak.run(tasks: tasks, workers: workers, retries: retries) { pool in
                    Interruption.onInterrupt { pool.shutdown(gracePeriod: .zero) }
                }
                Interruption.proceed()
                Console.line(report.description)
                if !report.isSound { Interruption.exit(1) }
            case "pool":
                let numbers = try arguments.number("--numbers", 10, minimum: 1)
                let workers = try arguments.number("--workers", cpuCount(), minimum: 1)
                try arguments.finish()
                try PoolDemos.doublers(count: numbers, workers: workers)
            case "crash":
                try arguments.finish()
                try PoolDemos.crash()
            case "help", "-h", "--help":
                Console.write(usage)
            default:
                throw UsageError("unknown command '\(command)'")
            }
        } catch let error as UsageError {
            Console.writeError("Error: \(error.description)\n\n" + usage)
            exit(64)
        } catch {
            Interruption.proceed() // an interrupted pool's error is not worth a line
            Console.writeError("Error: \(error)\n")
            Interruption.exit(1)
        }
        Interruption.exit(0)
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Command-line arguments, consumed as they are recognised; what is left over is an error.
struct Arguments {
    private var remaining: [String]

    init(_ arguments: [String]) { remaining = arguments }

    /// The first argument, if it is not an option.
    mutating func command() -> String? {
        guard let first = remaining.first, !first.hasPrefix("-") || ["-h", "--help"].contains(first) else { return nil }
        remaining.removeFirst()
        return first
    }

    mutating func flag(_ name: String) -> Bool {
        guard let index = remaining.firstIndex(of: name) else { return false }
        remaining.remove(at: index)
        return true
    }

    /// `--name value` or `--name=value`.
    mutating func option(_ name: String) throws(UsageError) -> String? {
        if let index = remaining.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            let value = String(remaining.remove(at: index).dropFirst(name.count + 1))
            return value
        }
        guard let index = remaining.firstIndex(of: name) else { return nil }
        guard index + 1 < remaining.count else { throw UsageError("\(name) needs a value") }
        let value = remaining[index + 1]
        remaining.removeSubrange(index...index + 1)
        return value
    }

    /// `--name N`, at least `minimum`; `fallback` when absent.
    mutating func number(_ name: String, _ fallback: Int, minimum: Int) throws(UsageError) -> Int {
        guard let text = try option(name) else { return fallback }
        guard let value = Int(text), value >= minimum else { throw UsageError("\(name) takes a number >= \(minimum), not '\(text)'") }
        return value
    }

    /// Everything not consumed yet, consumed (what `multicore cluster` passes on as it is).
    mutating func rest() -> [String] {
        defer { remaining = [] }
        return remaining
    }

    func finish() throws(UsageError) {
        if let extra = remaining.first { throw UsageError("unexpected argument '\(extra)'") }
    }
}
