import CMulticoreBench
import Multicore

/// The thread side's benchmarks. Each Multicore closure does the same work as its C reference
/// in CMulticoreBench and its CPython twin in Benchmarks/python/threading_bench.py.
enum ThreadBenchmarks {
    static let all: [Benchmark] = [
        Benchmark(name: "thread.start_join", unit: "s/thread", iterations: 3_000, quickIterations: 500,
                  pythonDivisor: 1, maxRawRatio: 1.2, minPythonSpeedup: 2,
                  multicore: startJoin, raw: { mcb_thread_start_join($0) }),
        Benchmark(name: "lock.uncontended", unit: "s/pair", iterations: 20_000_000, quickIterations: 2_000_000,
                  pythonDivisor: 10, maxRawRatio: 1.2, minPythonSpeedup: 3,
                  multicore: uncontendedLock, raw: { mcb_mutex_uncontended($0) }),
        // A run takes under a millisecond in Swift and C: average many; CPython runs it once.
        Benchmark(name: "notebook.cell2", unit: "s/run", iterations: 100, quickIterations: 30,
                  pythonDivisor: 100, maxRawRatio: 1.2, minPythonSpeedup: 10,
                  multicore: { runs in
                      try (0..<runs).reduce(0) { sum, _ in sum + (try NotebookCells.updateTotals(printing: false).seconds) } / Double(runs)
                  },
                  raw: { runs in
                      var total = 0
                      return (0..<runs).reduce(0) { sum, _ in sum + mcb_notebook_cell2(&total) } / Double(runs)
                  }),
        // A run is 1M increments; measured in slices of 100k (scaled to 1M) so that Multicore and
        // raw alternate often, as contention on 2 shared vCPUs is at the mercy of the scheduler.
        Benchmark(name: "lock.contended", unit: "s/run", iterations: 1_000_000, quickIterations: 1_000_000,
                  pythonDivisor: 1, slices: 10, maxRawRatio: 1.2, minPythonSpeedup: nil,
                  multicore: { try contendedLock($0) * (1_000_000 / Double($0)) },
                  raw: { mcb_mutex_contended(4, $0) * (1_000_000 / Double($0)) }),
        Benchmark(name: "condition.handoff", unit: "s/round-trip", iterations: 50_000, quickIterations: 10_000,
                  pythonDivisor: 2, maxRawRatio: 1.3, minPythonSpeedup: nil,
                  multicore: conditionHandoff, raw: { mcb_cond_handoff($0) }),
        Benchmark(name: "queue.spsc", unit: "s/item", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, maxRawRatio: nil, minPythonSpeedup: 10,
                  multicore: queueSPSC, raw: { mcb_queue_spsc($0, 1024) }),
        Benchmark(name: "executor.threads.submit", unit: "s/task", iterations: 200_000, quickIterations: 50_000,
                  pythonDivisor: 5, maxRawRatio: nil, minPythonSpeedup: 5,
                  multicore: executorSubmit, raw: nil),
        // A child task that prefers a ThreadPoolExecutor (SE-0417), created and awaited, against
        // the same on Swift's default executor (raw): what a hop onto the pool costs.
        Benchmark(name: "executor.threads.task_hop", unit: "s/task", iterations: 100_000, quickIterations: 20_000,
                  pythonDivisor: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { n in try taskHops(n, onPool: true) }, raw: { n in (try? taskHops(n, onPool: false)) ?? .nan },
                  hasPython: false, leavesThreads: true),
    ]

    /// n tasks created and awaited one after the other, each preferring a 2-thread pool (or
    /// not), from a task that itself runs on the default executor.
    static func taskHops(_ n: Int, onPool: Bool) throws -> Double {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        defer { pool.shutdown() }
        let elapsed = Future<Double>()
        Task {
            let start = MonotonicClock.now
            var sum = 0
            for index in 0..<n {
                sum &+= onPool ? await Task(executorPreference: pool) { index }.value : await Task { index }.value
            }
            try? elapsed.setResult(sum >= 0 ? MonotonicClock.now - start : 0)
        }
        return try elapsed.result() / Double(n)
    }

    static func startJoin(_ n: Int) throws -> Double {
        let start = MonotonicClock.now
        for _ in 0..<n {
            let thread = JoinableThread {}
            try thread.start()
            try thread.join()
        }
        return (MonotonicClock.now - start) / Double(n)
    }

    static func uncontendedLock(_ n: Int) throws -> Double {
        let lock = Lock()
        let start = MonotonicClock.now
        for _ in 0..<n {
            lock.acquire()
            try lock.release()
        }
        return (MonotonicClock.now - start) / Double(n)
    }

    static func contendedLock(_ increments: Int) throws -> Double {
        let threads = 4
        let lock = Lock()
        let counter = SharedTotal()
        let gate = try Barrier(parties: threads + 1)
        let workers = (0..<threads).map { _ in
            JoinableThread {
                try gate.wait()
                for _ in 0..<(increments / threads) {
                    lock.acquire()
                    counter.value += 1
                    try lock.release()
                }
            }
        }
        for worker in workers { try worker.start() }
        try gate.wait()
        let start = MonotonicClock.now
        for worker in workers { try worker.join() }
        let elapsed = MonotonicClock.now - start
        precondition(lock.withLock { counter.value } == increments / threads * threads)
        return elapsed
    }

    static func conditionHandoff(_ n: Int) throws -> Double {
        let condition = Condition(lock: Lock())
        let turn = SharedTotal()
        @Sendable func play(_ me: Int) throws {
            for _ in 0..<n {
                try condition.withLock { () throws in
                    while turn.value != me { _ = try condition.wait() }
                    turn.value = 1 - me
                    try condition.notify()
                }
            }
        }
        let start = MonotonicClock.now
        let other = JoinableThread { try play(1) }
        try other.start()
        try play(0)
        try other.join()
        return (MonotonicClock.now - start) / Double(n)
    }

    static func queueSPSC(_ n: Int) throws -> Double {
        let queue = Queue<Int>(maxsize: 1024)
        let start = MonotonicClock.now
        let consumer = JoinableThread {
            for _ in 0..<n { _ = try queue.get() }
        }
        try consumer.start()
        for i in 0..<n { try queue.put(i) }
        try consumer.join()
        return (MonotonicClock.now - start) / Double(n)
    }

    static func executorSubmit(_ n: Int) throws -> Double {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        defer { pool.shutdown() }
        _ = try pool.submit { 0 }.result() // start the workers outside the clock
        let start = MonotonicClock.now
        let futures = try (0..<n).map { i in try pool.submit { i } }
        for future in futures { _ = try future.result() }
        return (MonotonicClock.now - start) / Double(n)
    }
}
