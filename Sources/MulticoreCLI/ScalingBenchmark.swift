import Multicore
import MulticoreBenchReport

/// The picture's scaling panel (`multicore bench --svg`): throughput of a CPU-bound pool and of
/// `pool.map.chunk1`'s work against the number of workers, for Multicore's threads
/// (`ThreadPool`), Multicore's processes (`Pool`) and CPython's `multiprocessing.Pool`
/// (Benchmarks/python/scaling_bench.py). A few seconds in all.
enum ScalingBenchmark {
    static let workerCounts = [1, 2, 4]
    /// CPU-bound tasks per run, each about `taskSeconds` of arithmetic on one core.
    static let cpuTasks = 8
    static let taskSeconds = 0.025
    /// x*2 tasks per run, one per message.
    static let chunk1Tasks = 2_000

    /// `iterations` steps of a 64-bit linear congruential generator.
    struct Spin: ProcessTask, PlainData {
        var seed: UInt64
        var iterations: Int
        func run() -> UInt64 {
            var state = seed | 1
            for _ in 0..<iterations { state = state &* 6364136223846793005 &+ 1442695040888963407 }
            return state
        }
    }

    static func measure(skipPython: Bool) throws -> ScalingPanel {
        let iterations = calibrate()
        let spins = (1...cpuTasks).map { Spin(seed: UInt64($0), iterations: iterations) }
        let doubles = (0..<chunk1Tasks).map { ProcessBenchmarks.Twice(value: $0) }
        var cpuThreads: [Double?] = [], cpuProcesses: [Double?] = [], chunkThreads: [Double?] = [], chunkProcesses: [Double?] = []
        for workers in workerCounts {
            let threads = try ThreadPool(processes: workers)
            _ = try threads.map(doubles.prefix(2 * workers), chunksize: 1)
            cpuThreads.append(try throughput(spins.count) { _ = try threads.map(spins, chunksize: 1) })
            chunkThreads.append(try throughput(doubles.count) { _ = try threads.map(doubles, chunksize: 1) })
            threads.close()
            try threads.join()

            let processes = try Pool(processes: workers)
            defer { processes.terminate() }
            _ = try processes.map(doubles.prefix(2 * workers), chunksize: 1) // every worker up
            cpuProcesses.append(try throughput(spins.count) { _ = try processes.map(spins, chunksize: 1) })
            chunkProcesses.append(try throughput(doubles.count) { _ = try processes.map(doubles, chunksize: 1) })
        }
        let python = skipPython ? [:] : pythonThroughputs()
        let pythonSeries = { (kind: String) in workerCounts.map { python["\(kind) \($0)"] } }
        let seconds = cFormat("%.0f", taskSeconds * 1_000)
        return ScalingPanel(workers: workerCounts, charts: [
            ScalingChart(title: "CPU-bound: \(cpuTasks) tasks of about \(seconds) ms each", series: [
                .init(label: "Multicore threads", throughputs: cpuThreads),
                .init(label: "Multicore processes", throughputs: cpuProcesses),
                .init(label: "CPython processes", throughputs: pythonSeries("cpu")),
            ]),
            ScalingChart(title: "pool.map.chunk1: \(chunk1Tasks) tasks of x*2, one per message", series: [
                .init(label: "Multicore threads", throughputs: chunkThreads),
                .init(label: "Multicore processes", throughputs: chunkProcesses),
                .init(label: "CPython processes", throughputs: pythonSeries("chunk1")),
            ]),
        ])
    }

    /// Iterations of `Spin` that take about `taskSeconds` on one core here: the count that
    /// takes over 5 ms, timed three times (the fastest counts: a preempted run is slower).
    static func calibrate() -> Int {
        func seconds(_ iterations: Int) -> Double {
            let start = MonotonicClock.now
            let sink = Spin(seed: 7, iterations: iterations).run()
            if sink == 42 { Console.line("") } // keeps the loop from being optimized away
            return MonotonicClock.now - start
        }
        var iterations = 1_000_000
        while seconds(iterations) <= 0.005, iterations < 1 << 40 { iterations *= 4 }
        let fastest = (0..<3).map { _ in seconds(iterations) }.min() ?? 1
        return max(1, Int(Double(iterations) * taskSeconds / max(fastest, 1e-9)))
    }

    private static func throughput(_ tasks: Int, _ body: () throws -> Void) throws -> Double {
        let start = MonotonicClock.now
        try body()
        return Double(tasks) / (MonotonicClock.now - start)
    }

    /// "cpu 2" and "chunk1 2" to tasks per second, from CPython; empty (with a note) when it fails.
    private static func pythonThroughputs() -> [String: Double] {
        let script = PeerReference.packageRoot + "/Benchmarks/python/scaling_bench.py"
        let run = runProgram(["python3", script, String(cpuTasks), String(taskSeconds), String(chunk1Tasks)]
            + workerCounts.map(String.init), standardError: false)
        var figures: [String: Double] = [:]
        for line in run.output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 3, let value = Double(fields[2]) { figures["\(fields[0]) \(fields[1])"] = value }
        }
        if run.status != 0 || figures.isEmpty { Console.writeError("python3 \(script) failed (status \(run.status))\n") }
        return figures
    }
}
