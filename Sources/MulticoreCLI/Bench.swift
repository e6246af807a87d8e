import CMulticoreBench
#if canImport(Glibc)
import Glibc
#endif
import Multicore

/// `multicore bench`: each benchmark measured three ways in the same run (Multicore, CPython
/// doing the same work, and the raw pthread calls), so that ratios hold on a noisy machine.
struct Bench {
    /// One JSON object per line instead of the table.
    var json = false
    /// Fewer iterations and rounds.
    var quick = false
    /// Only the benchmarks whose name contains this text.
    var filter: String?
    /// Leave CPython out.
    var skipPython = false
    /// Rounds per benchmark (default 5, or 2 with `quick`).
    var rounds: Int?

    func run() throws {
        let rounds = max(1, self.rounds ?? (quick ? 2 : 5))
        let python = PythonReference()
        if !json {
            print("Multicore benchmark, \(rounds) round(s): medians; every figure is a cost, lower is better.")
            print(Row.header)
        }
        for benchmark in ThreadBenchmarks.all + ProcessBenchmarks.all + CodingBenchmarks.all + StreamingBenchmarks.all where filter.map({ benchmark.name.contains($0) }) ?? true {
            let iterations = quick ? benchmark.quickIterations : benchmark.iterations
            var ours: [Double] = [], raws: [Double] = [], pythons: [Double] = []
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
            }
            let row = Row(benchmark: benchmark, multicore: median(ours), python: median(pythons), raw: median(raws))
            print(json ? row.json : row.text)
            fflush(nil)
        }
    }

    private func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
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

    func pythonIterations(_ quick: Bool) -> Int {
        max(1, (quick ? quickIterations : iterations) / pythonDivisor)
    }
}

struct Row {
    let benchmark: Benchmark
    let multicore: Double?
    let python: Double?
    let raw: Double?

    static let header = "name                           unit         multicore       python          raw             vs raw   vs python  goal"

    var rawRatio: Double? { multicore.flatMap { m in raw.map { m / $0 } } }
    var pythonSpeedup: Double? { multicore.flatMap { m in python.map { $0 / m } } }

    var goal: String {
        var parts: [String] = []
        var met = true
        var unchecked = false
        if let limit = benchmark.maxRawRatio {
            parts.append("<=\(limit)x raw")
            if let ratio = rawRatio { if ratio > limit { met = false } } else { unchecked = true }
        }
        if let speedup = benchmark.minPythonSpeedup {
            parts.append(speedup >= 1 && speedup == speedup.rounded() ? ">=\(Int(speedup))x faster than Python"
                                                                       : "<=" + cFormat("%.2g", 1 / speedup) + "x Python")
            if let actual = pythonSpeedup { if actual < speedup { met = false } } else { unchecked = true }
        }
        if let limit = benchmark.maxCost {
            parts.append("<=" + cFormat("%g", limit) + " " + benchmark.unit)
            if let multicore { if multicore > limit { met = false } } else { unchecked = true }
        }
        if parts.isEmpty { return "" }
        let verdict = !met ? "MISSED: " : unchecked ? "not checked (a figure is missing): " : "met: "
        return verdict + parts.joined(separator: ", ")
    }

    var text: String {
        func cell(_ value: Double?) -> String { value.map { cFormat("%-15.4e", $0) } ?? "-              " }
        func ratio(_ value: Double?, _ suffix: String) -> String {
            value.map { cFormat("%6.2fx", $0) + suffix } ?? "      -  "
        }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
        return pad(benchmark.name, 31) + pad(benchmark.unit, 13)
            + cell(multicore) + " " + cell(python) + " " + cell(raw) + " "
            + ratio(rawRatio, "  ") + " " + ratio(pythonSpeedup, "   ") + " " + goal
    }

    var json: String {
        func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "null" }
        return "{\"name\": \"\(benchmark.name)\", \"unit\": \"\(benchmark.unit)\", "
            + "\"multicore\": \(number(multicore)), \"python\": \(number(python)), \"raw\": \(number(raw))}"
    }
}

/// Runs the project's CPython scripts (Benchmarks/python) with `python3`.
struct PythonReference {
    /// Benchmarks/python/threading_bench.py, found from this source file's place in the package.
    let script: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3) // Sources/MulticoreCLI/Bench.swift
        return parts.joined(separator: "/") + "/Benchmarks/python/threading_bench.py"
    }()

    /// Seconds per operation, or nil (with a note on stderr) when python3 or the script fails.
    func measure(_ name: String, iterations: Int) -> Double? {
        let arguments = ["python3", script, name, String(iterations)]
        var output = [CChar](repeating: 0, count: 4096)
        let status = withCStringArray(arguments) { argv in mcb_run_capture(argv, &output, Int32(output.count)) }
        let text = String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard status == 0, let value = Double(text.filter { !$0.isWhitespace }) else {
            let message = Array("python3 \(script) \(name) failed (status \(status))\n".utf8)
            _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            return nil
        }
        return value
    }
}

/// Calls `body` with `strings` as a NULL-terminated C `argv`.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// `String(format:)` without Foundation (which would make every worker copy of this
/// executable load it): C's `vsnprintf`.
func cFormat(_ format: String, _ arguments: any CVarArg...) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    _ = withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
