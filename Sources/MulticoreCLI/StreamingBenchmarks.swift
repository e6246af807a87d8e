import Multicore

/// Streaming and lazy input (issue 14): x*2 over Ints on 2 workers, the input read lazily and
/// the outputs taken one at a time, as a program consumes them. Each has CPython's equivalent.
enum StreamingBenchmarks {
    typealias Twice = ProcessBenchmarks.Twice

    static let all: [Benchmark] = [
        // Consumed with for-in, element by element; CPython: `for x in pool.imap(f, range(n), chunksize=1000)`.
        Benchmark(name: "pool.imap", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 5,
                  multicore: { try poolIMap($0, ordered: true) }, raw: nil),
        Benchmark(name: "pool.imap_unordered", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 5,
                  multicore: { try poolIMap($0, ordered: false) }, raw: nil),
        // `for try await` over `results(of:chunksize: 1000)`. CPython has no async pool
        // iteration: its streaming equivalent is the same imap (chunksize=1000).
        Benchmark(name: "pool.results.async", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 5,
                  multicore: poolResultsAsync, raw: nil),
        // Pool.map over a sequence that is not a Collection (its count is not known up front);
        // raw: pool.map.auto's work (an Array made beforehand) in the same run, goal 1.5x.
        // CPython: `pool.map(f, (i for i in range(n)))`.
        Benchmark(name: "pool.map.lazy", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: 1.5, minPythonSpeedup: 5,
                  multicore: poolMapLazy, raw: { n in (try? ProcessBenchmarks.poolMap(n, chunksize: nil)) ?? .nan }),
        // The same over a non-Collection whose reading the compiler inlines (`stride`): what
        // the streaming map costs beyond reading its input; raw: pool.map.auto's work. A figure.
        Benchmark(name: "pool.map.lazy.stride", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: poolMapStride, raw: { n in (try? ProcessBenchmarks.poolMap(n, chunksize: nil)) ?? .nan },
                  hasPython: false),
        // ProcessPoolExecutor.map with chunksize 1000; CPython: the same call.
        Benchmark(name: "executor.map", unit: "s/task", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 5,
                  multicore: executorMap, raw: nil),
    ]

    /// The tasks 0..<n, made as they are read, in a sequence that is not a Collection.
    static func lazyTasks(_ n: Int) -> some Sequence<Twice> {
        sequence(first: 0) { $0 + 1 < n ? $0 + 1 : nil }.lazy.map { Twice(value: $0) }
    }

    /// A 2-worker pool, both workers up and warm.
    static func warmPool() throws -> Pool {
        let pool = try Pool(processes: 2)
        _ = try pool.map((0..<4).map { Twice(value: $0) }, chunksize: 1)
        return pool
    }

    /// imap (or imap_unordered) with chunksize 1000 over a lazy input, consumed with for-in.
    static func poolIMap(_ n: Int, ordered: Bool) throws -> Double {
        let pool = try warmPool()
        defer { pool.terminate() }
        let tasks = (0..<n).lazy.map { Twice(value: $0) }
        let start = MonotonicClock.now
        let results = try ordered ? pool.imap(tasks, chunksize: 1000) : pool.imapUnordered(tasks, chunksize: 1000)
        var count = 0, sum = 0, inOrder = true
        for result in results {
            let output = try result.get()
            if output != count &* 2 { inOrder = false }
            sum &+= output
            count += 1
        }
        let elapsed = MonotonicClock.now - start
        guard count == n, sum == n &* (n - 1), inOrder || !ordered else { throw BenchmarkError("wrong outputs") }
        return elapsed / Double(n)
    }

    /// `for try await` over `results(of:)` of a lazy input.
    static func poolResultsAsync(_ n: Int) throws -> Double {
        let pool = try warmPool()
        defer { pool.terminate() }
        return try blocking {
            let start = MonotonicClock.now
            var count = 0
            for try await output in try pool.results(of: (0..<n).lazy.map { Twice(value: $0) }, chunksize: 1000) {
                guard output == count &* 2 else { throw BenchmarkError("wrong outputs") }
                count += 1
            }
            let elapsed = MonotonicClock.now - start
            guard count == n else { throw BenchmarkError("wrong outputs") }
            return elapsed / Double(n)
        }
    }

    /// Pool.map, automatic chunks, over `lazyTasks(n)`.
    static func poolMapLazy(_ n: Int) throws -> Double {
        let pool = try warmPool()
        defer { pool.terminate() }
        let start = MonotonicClock.now
        let outputs = try pool.map(lazyTasks(n))
        let elapsed = MonotonicClock.now - start
        guard outputs.count == n, outputs.last == (n - 1) &* 2 else { throw BenchmarkError("wrong outputs") }
        return elapsed / Double(n)
    }

    /// Pool.map over `stride(from: 0, to: n, by: 1).lazy.map { Twice(value: $0) }`: not a
    /// Collection either, but read in the caller's loop at about a nanosecond per task.
    static func poolMapStride(_ n: Int) throws -> Double {
        let pool = try warmPool()
        defer { pool.terminate() }
        let start = MonotonicClock.now
        let outputs = try pool.map(stride(from: 0, to: n, by: 1).lazy.map { Twice(value: $0) })
        let elapsed = MonotonicClock.now - start
        guard outputs.count == n, outputs.last == (n - 1) &* 2 else { throw BenchmarkError("wrong outputs") }
        return elapsed / Double(n)
    }

    /// ProcessPoolExecutor.map over a lazy input, consumed with for-in.
    static func executorMap(_ n: Int) throws -> Double {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.shutdown() }
        _ = try pool.submit(Twice(value: 0)).result()
        _ = try pool.submit(Twice(value: 1)).result()
        let start = MonotonicClock.now
        var count = 0
        for result in try pool.map((0..<n).lazy.map { Twice(value: $0) }, chunksize: 1000) {
            guard try result.get() == count &* 2 else { throw BenchmarkError("wrong outputs") }
            count += 1
        }
        let elapsed = MonotonicClock.now - start
        guard count == n else { throw BenchmarkError("wrong outputs") }
        return elapsed / Double(n)
    }

    /// Runs `body` in a task and waits here for its figure.
    static func blocking(_ body: @escaping @Sendable () async throws -> Double) throws -> Double {
        let figure = Future<Double>()
        Task {
            do { try figure.setResult(try await body()) } catch { try? figure.setError(error) }
        }
        return try figure.result()
    }
}
