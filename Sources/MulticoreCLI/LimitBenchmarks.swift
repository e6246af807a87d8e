import CMulticoreBench
import Multicore
import MulticoreSystem

/// Process rows measured against the machine's limits (issue 14): a shared value's lock taken
/// by two processes against a robust process-shared pthread mutex, and an idle worker's fair
/// share of memory.
extension ProcessBenchmarks {
    static let limits: [Benchmark] = [
        // Two spawned processes, each adding 1 under the value's lock half the iterations (the
        // notebook's cell 2 across processes: 500,000 each a round); raw: two forked C processes
        // doing the same under a robust process-shared pthread mutex in shared memory. In 4
        // slices, alternating with raw: two processes contending on 2 shared vCPUs are at the
        // mercy of the host: with one slice a round, one full run gave 1.1x and the next 1.6x.
        Benchmark(name: "shared.value.locked_increment", unit: "s/increment", iterations: 1_000_000, quickIterations: 200_000,
                  pythonDivisor: 1, slices: 4, maxRawRatio: 1.5, minPythonSpeedup: 5,
                  multicore: lockedIncrements, raw: rawLockedIncrements),
        // 4 idle spawned workers at once (their shared pages split between them and the parent).
        Benchmark(name: "process.worker_pss", unit: "kB", iterations: 4, quickIterations: 4,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: 1 / 0.3,
                  multicore: workerPSS, raw: nil),
    ]

    /// Adds 1 to `value` under its lock `count` times, once all have met at `start`.
    struct LockedAdder: ProcessTask {
        var value: SharedValue<Int>
        var start: SharedBarrier
        var done: SharedEvent
        var count: Int
        func run() throws -> Int {
            _ = try start.wait(timeout: .seconds(60))
            for _ in 0..<count { try value.withLock { $0 &+= 1 } }
            done.set()
            return count
        }
    }

    /// Seconds per increment, from the moment both children may start until both are done.
    static func lockedIncrements(_ n: Int) throws -> Double {
        let perProcess = n / 2
        let value = try SharedValue(0)
        let start = try SharedBarrier(parties: 3)
        let done = [try SharedEvent(), try SharedEvent()]
        let children = done.map { ChildProcess(task: LockedAdder(value: value, start: start, done: $0, count: perProcess)) }
        for child in children { try child.start() }
        _ = try start.wait(timeout: .seconds(60))
        let begin = MonotonicClock.now
        for event in done {
            guard try event.wait(timeout: .seconds(300)) else { throw BenchmarkError("an adder did not finish") }
        }
        let elapsed = MonotonicClock.now - begin
        for child in children { try child.join() }
        guard value.value == 2 * perProcess else { throw BenchmarkError("increments were lost: \(value.value) of \(2 * perProcess)") }
        return elapsed / Double(2 * perProcess)
    }

    static func rawLockedIncrements(_ n: Int) -> Double {
        var total = 0
        let seconds = mcb_shared_locked_increment(n / 2, &total)
        return seconds > 0 && total == 2 * (n / 2) ? seconds : .nan
    }

    /// The proportional set size (kB) of `workers` idle spawned workers alive at once, averaged.
    static func workerPSS(_ workers: Int) throws -> Double {
        let release = try SharedEvent()
        var started: [(child: ChildProcess<Idle>, ready: SharedEvent)] = []
        defer {
            release.set()
            for (child, _) in started { _ = try? child.join() }
        }
        for _ in 0..<workers {
            let ready = try SharedEvent()
            let child = ChildProcess(task: Idle(ready: ready, release: release))
            try child.start()
            started.append((child, ready))
        }
        for (_, ready) in started {
            guard try ready.wait(timeout: .seconds(30)) else { throw BenchmarkError("an idle worker did not start") }
        }
        var total = 0
        for (child, _) in started { // all up: each one's share of what they map together
            guard let pid = child.pid, let bytes = proportionalSetSize(of: pid) else { throw BenchmarkError("no Pss for a worker") }
            total += bytes
        }
        return Double(total) / 1_024 / Double(workers)
    }
}
