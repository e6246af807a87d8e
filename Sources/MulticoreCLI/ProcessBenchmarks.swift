import Multicore

/// The process side's benchmarks, so far: starting and joining a spawned worker.
enum ProcessBenchmarks {
    static let all: [Benchmark] = [
        Benchmark(name: "process.start_join.spawn", unit: "s/process", iterations: 100, quickIterations: 20,
                  pythonDivisor: 5, slices: 1, maxRawRatio: nil, minPythonSpeedup: 10,
                  multicore: spawnStartJoin, raw: nil),
    ]

    /// A task that does nothing and returns 0.
    struct Nothing: ProcessTask {
        func run() -> Int { 0 }
    }

    static func spawnStartJoin(_ n: Int) throws -> Double {
        let start = MonotonicClock.now
        for _ in 0..<n {
            let process = ChildProcess(task: Nothing())
            try process.start()
            try process.join()
            _ = try process.result()
        }
        return (MonotonicClock.now - start) / Double(n)
    }
}
