import CMulticoreBench
#if canImport(Glibc)
import Glibc
#endif
import Multicore
import MulticoreBenchReport
import MulticoreSystem

/// `multicore bench`: each benchmark measured three ways in the same run (Multicore, CPython
/// doing the same work, and the raw pthread calls), so that ratios hold on a noisy machine;
/// with `--peers`, loky, pebble and joblib too, and with `--svg`, the run drawn as a picture.
struct Bench {
    /// Whether `filter` selects the benchmark `name`: a part of it, or all of it (`name$`).
    static func selects(_ filter: String, _ name: String) -> Bool {
        filter.hasSuffix("$") ? name == filter.dropLast() : name.contains(filter)
    }

    /// One JSON object per line instead of the table.
    var json = false
    /// Fewer iterations and rounds.
    var quick = false
    /// Only the benchmarks whose name contains this text (whose name is this text, when it
    /// ends with `$`).
    var filter: String?
    /// Leave CPython out.
    var skipPython = false
    /// Rounds per benchmark (default 5, or 2 with `quick`).
    var rounds: Int?
    /// Measure the Python peers (loky, pebble, joblib) too, installing them the first time.
    var peers = false
    /// Draw the run, and the scaling panel, as an SVG picture into this file.
    var svg: String?
    /// Add the cluster rows (`multicore-cluster bench`, on a throwaway server it starts).
    var cluster = false
    /// Add the cluster rows, measured on this server.
    var database: String?

    /// Every benchmark in its order; those that leave threads behind come last, since a process
    /// with threads may not fork (`process.start_join.fork`).
    static let benchmarks: [Benchmark] = {
        let all = ThreadBenchmarks.all + ProcessBenchmarks.all + ProcessBenchmarks.limits + CodingBenchmarks.all
            + StreamingBenchmarks.all + ActorBenchmarks.all
        return all.filter { !$0.leavesThreads } + all.filter(\.leavesThreads)
    }()

    func run() throws {
        let rounds = max(1, self.rounds ?? (quick ? 2 : 5))
        // Opened first: a picture that cannot be written is said before minutes of benchmarking.
        let picture = try svg.map { path throws(BenchOutputError) in
            do { return try OutputFile(path: path) } catch { throw BenchOutputError(path: path, reason: "\(error)") }
        }
        let python = PythonReference()
        let peerReference = peers ? PeerReference.prepare() : nil
        if !json {
            print("Multicore benchmark, \(rounds) round(s): medians; every figure is a cost, lower is better.")
            print(BenchRow.header(peers: peers))
        }
        var rows: [BenchRow] = []
        for benchmark in Self.benchmarks where filter.map({ Self.selects($0, benchmark.name) }) ?? true {
            let iterations = quick ? benchmark.quickIterations : benchmark.iterations
            var ours: [Double] = [], raws: [Double] = [], pythons: [Double] = []
            var peerFigures: [[PeerFigure]] = []
            // Ours and raw alternate in short slices, so that a burst of noise from the shared
            // host hits both alike; the median of all slices is reported.
            let slice = max(1, iterations / benchmark.slices)
            for round in 0..<rounds {
                for index in 0..<benchmark.slices {
                    let rawFirst = (round * benchmark.slices + index) % 2 == 1
                    if rawFirst, let raw = benchmark.raw { raws.append(raw(slice)) }
                    ours.append(try benchmark.multicore(slice))
                    if !rawFirst, let raw = benchmark.raw { raws.append(raw(slice)) }
                }
                if !skipPython, benchmark.hasPython, let figure = python.measure(benchmark.name, iterations: benchmark.pythonIterations(quick)) {
                    pythons.append(figure)
                }
                if let figures = peerReference?.measure(benchmark.name, iterations: benchmark.pythonIterations(quick)) {
                    peerFigures.append(figures)
                }
            }
            let row = BenchRow(name: benchmark.name, unit: benchmark.unit, goal: benchmark.goal,
                               multicore: median(ours), python: median(pythons), raw: median(raws),
                               peers: peerReference.map { _ in medians(peerFigures) })
            rows.append(row)
            print(json ? row.json : row.text)
            fflush(nil)
        }
        if cluster || database != nil, ClusterSibling.hasRows(matching: filter) {
            // The cluster rows come from the sibling executable (this one links no PostgreSQL
            // client), after the others; their table has the peers' columns (pgqueuer, procrastinate).
            let clusterRows = try ClusterSibling.benchRows(filter: filter, rounds: self.rounds, database: database, peers: peers)
            if !json, !clusterRows.isEmpty { print("\n" + BenchRow.header(peers: true)) }
            for row in clusterRows { print(json ? row.json : row.text) }
            rows += clusterRows
        }
        if let picture {
            let scaling = try ScalingBenchmark.measure(skipPython: skipPython)
            let text = BenchPicture(rows: rows, scaling: scaling, caption: caption(rounds, peers: peerReference)).svg()
            do { try picture.replaceContents(with: text) } catch { throw BenchOutputError(path: picture.path, reason: "\(error)") }
            Console.writeError("bench: the picture is in \(picture.path)\n")
        }
    }

    /// The median of the finite values (a failed raw slice gives NaN); nil when there is none.
    private func median(_ values: [Double]) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        return sorted[sorted.count / 2]
    }

    /// Each peer's median over the rounds (nil when none of its runs gave a figure).
    private func medians(_ rounds: [[PeerFigure]]) -> [PeerFigure] {
        guard let first = rounds.first else { return [] }
        return first.map { figure in
            PeerFigure(peer: figure.peer, value: median(rounds.flatMap { $0.filter { $0.peer == figure.peer }.compactMap(\.value) }))
        }
    }

    /// What the picture says under its title: when, how, where.
    private func caption(_ rounds: Int, peers: PeerReference?) -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var date = [CChar](repeating: 0, count: 32)
        _ = strftime(&date, date.count, "%Y-%m-%d %H:%M UTC", &parts)
        let when = String(decoding: date.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var text = "multicore bench\(quick ? " --quick" : ""), \(rounds) round(s), medians; \(when); \(cpuCount()) CPUs"
        if let versions = peers?.versions { text += "; peers: " + versions }
        return text
    }
}

/// `--svg` to a file that cannot be written.
struct BenchOutputError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot write the picture to '\(path)': \(reason)" }
}

/// One benchmark: its work in Multicore, its raw reference, and its goals as ratios.
struct Benchmark: Sendable {
    let name: String
    let unit: String
    let iterations: Int
    let quickIterations: Int
    /// Python is slower: fewer iterations keep it within the time budget (its figure is per op).
    let pythonDivisor: Int
    /// How many slices a round's iterations are cut into, alternating Multicore and raw.
    var slices: Int = 10
    /// Most Multicore may cost relative to raw, if there is a goal.
    let maxRawRatio: Double?
    /// How many times faster than CPython Multicore must be, if there is a goal.
    let minPythonSpeedup: Double?
    let multicore: @Sendable (Int) throws -> Double
    let raw: (@Sendable (Int) -> Double)?
    /// Whether CPython has the same work (a pool whose worker dies has no Python counterpart:
    /// Python's pools hang or break there).
    var hasPython = true
    /// Most Multicore's figure may be, in its unit, if the goal is absolute.
    var maxCost: Double? = nil
    /// Whether it leaves threads running after it (Swift's global concurrent executor keeps its
    /// threads): such benchmarks run after every other.
    var leavesThreads = false

    var goal: BenchGoal { BenchGoal(maxRawRatio: maxRawRatio, minPythonSpeedup: minPythonSpeedup, maxCost: maxCost) }

    func pythonIterations(_ quick: Bool) -> Int {
        max(1, (quick ? quickIterations : iterations) / pythonDivisor)
    }
}

/// Runs the project's CPython scripts (Benchmarks/python) with `python3`.
struct PythonReference {
    /// Benchmarks/python/threading_bench.py.
    let script = PeerReference.packageRoot + "/Benchmarks/python/threading_bench.py"

    /// Seconds per operation, or nil (with a note on stderr) when python3 or the script fails.
    func measure(_ name: String, iterations: Int) -> Double? {
        let run = runProgram(["python3", script, name, String(iterations)], standardError: false)
        guard run.status == 0, let value = Double(run.output.filter { !$0.isWhitespace }) else {
            Console.writeError("python3 \(script) \(name) failed (status \(run.status))\n")
            return nil
        }
        return value
    }
}
