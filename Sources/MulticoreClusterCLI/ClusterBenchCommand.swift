#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreBenchReport
import MulticoreCluster
import MulticoreThreading

/// `multicore-cluster bench [--database URL] [--rounds N] [--filter TEXT] [--json]`: the cluster
/// rows of the benchmark (`ClusterBenchmarks`, their goals in `ClusterBenchCatalog`), with their
/// raw references (`ClusterRawReference`) and Python peers (`ClusterPeerQueues`), on a throwaway
/// server of its own (`ThrowawayServer`) unless given one. `multicore bench --cluster` runs this
/// and merges its JSON rows into its own run.
enum ClusterBenchCommand {
    static let usage = """
          bench [--database URL] [--rounds N] [--filter TEXT] [--json] [--tasks N] [--skip-peers]
            The cluster rows of the benchmark (every figure a cost: lower is better), each beside
            a bare PostgreSQL client doing the same work (raw) and, for the map, pgqueuer and
            procrastinate (installed from PyPI into .build/cluster-peers-venv the first time).
              --database URL   use this server (each row in a schema of its own, dropped after);
                               by default a throwaway server is started and removed at the end
              --rounds N       rounds per row (the map's at most 2); the median is reported
                               (default 3)
              --filter TEXT    only the rows whose name contains TEXT
              --json           one JSON object per line: name, unit, multicore, python, raw, peers
              --tasks N        tasks of cluster.map.auto's map (default 200000)
              --skip-peers     leave pgqueuer and procrastinate out

        """

    struct Options {
        var database: String?
        var rounds = 3
        var filter: String?
        var json = false
        var tasks = 200_000
        var peers = true
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var remaining = arguments
        func value(_ option: String) throws -> String {
            guard !remaining.isEmpty else { throw BenchError("\(option) takes a value") }
            return remaining.removeFirst()
        }
        func count(_ option: String) throws -> Int {
            let text = try value(option)
            guard let number = Int(text), number > 0 else { throw BenchError("\(option) takes a positive number, not '\(text)'") }
            return number
        }
        while !remaining.isEmpty {
            let option = remaining.removeFirst()
            switch option {
            case "--database": options.database = try value(option)
            case "--rounds": options.rounds = try count(option)
            case "--filter": options.filter = try value(option)
            case "--json": options.json = true
            case "--tasks": options.tasks = try count(option)
            case "--skip-peers": options.peers = false
            default: throw BenchError("unknown option '\(option)'")
            }
        }
        return options
    }

    /// The exit status: 0; 1 when a row could not be measured or no server could be had; 2 for
    /// a usage error.
    static func run(_ arguments: [String]) async -> Int32 {
        let options: Options
        do { options = try parse(arguments) } catch {
            printError("multicore-cluster bench: \(error)\n\nUSAGE: multicore-cluster\(usage)")
            return 2
        }
        let selected = ClusterBenchmarks.all.filter { entry in options.filter.map { entry.name.contains($0) } ?? true }
        guard !selected.isEmpty else {
            printError("multicore-cluster bench: no cluster row matches '\(options.filter ?? "")'\n")
            return 2
        }
        var server: ThrowawayServer?
        let url: String
        if let database = options.database {
            url = database
        } else {
            do {
                let started = try ThrowawayServer.start()
                server = started
                url = started.url
                printError("bench: a throwaway PostgreSQL server at \(url) (stopped and removed at the end)\n")
            } catch {
                printError("multicore-cluster bench: no PostgreSQL server: \(error)\n")
                return 1
            }
        }
        defer { server?.stop() }
        let scratch = NSTemporaryDirectory() + "multicore-cluster-bench-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let context = ClusterBenchContext(url: url, rounds: options.rounds, mapTasks: options.tasks, peers: options.peers, directory: scratch)
        printError("bench: load average \(loadAverage()) at the start; \(cpuCount()) CPUs\n")
        if !options.json {
            print("Multicore cluster benchmark, \(options.rounds) round(s): medians; every figure is a cost, lower is better.")
            print(BenchRow.header(peers: true))
        }
        var failed = false
        for (name, measure) in selected {
            guard let entry = ClusterBenchCatalog.entry(name) else { continue }
            var figures = ClusterFigures()
            do {
                figures = try await withAbandoningDeadline(.seconds(600), orThrow: { BenchError("\(name) took over 10 minutes") }) {
                    try await measure(context)
                }
            } catch {
                printError("bench: \(name) failed: \(error)\n")
                failed = true
            }
            let row = BenchRow(name: name, unit: entry.unit, goal: entry.goal, multicore: figures.multicore, python: nil, raw: figures.raw,
                               peers: figures.peers.map { $0.map { PeerFigure(peer: $0.peer, value: $0.value) } } ?? [])
            print(options.json ? row.json : row.text)
            fflush(nil)
        }
        printError("bench: load average \(loadAverage()) at the end\n")
        return failed ? 1 : 0
    }

    /// /proc/loadavg's three averages.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
