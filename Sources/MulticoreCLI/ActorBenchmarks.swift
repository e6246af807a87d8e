import Distributed
#if canImport(Glibc)
import Glibc
#endif
import Multicore
import MulticoreActors

/// Distributed actors hosted in child processes (`MulticoreActors`): a call's round trip
/// against a `Connection`'s (the same socket pair underneath) and against a Python Manager
/// proxy's, and how soon the callers of a killed host hold its error.
enum ActorBenchmarks {
    static let all: [Benchmark] = [
        // Raw: `connection.roundtrip`'s own work (an Int to a spawned child and back), measured
        // in the same slices. Python: a `BaseManager` proxy call on a registered class.
        Benchmark(name: "actor.call", unit: "s/call", iterations: 20_000, quickIterations: 4_000,
                  pythonDivisor: 4, slices: 4, maxRawRatio: 1.5, minPythonSpeedup: 2,
                  multicore: { n in try actorCalls(n) }, raw: { n in (try? ProcessBenchmarks.connectionRoundTrip(n)) ?? .nan },
                  leavesThreads: true),
        // The same calls inside `withDirectCalls`: each answer resumes its caller on the
        // thread that read it (one wake-up in this process instead of two).
        Benchmark(name: "actor.call.direct", unit: "s/call", iterations: 20_000, quickIterations: 4_000,
                  pythonDivisor: 4, slices: 4, maxRawRatio: 1.5, minPythonSpeedup: 2,
                  multicore: { n in try actorCalls(n, direct: true) },
                  raw: { n in (try? ProcessBenchmarks.connectionRoundTrip(n)) ?? .nan },
                  leavesThreads: true),
        // 8 callers at once on one actor, then on 2 actors in 2 hosts: seconds per call, the
        // inverse of the calls per second. Python: 8 threads calling one managed object (2
        // managers' objects, 4 threads each), the same way.
        Benchmark(name: "actor.call.throughput", unit: "s/call", iterations: 40_000, quickIterations: 8_000,
                  pythonDivisor: 4, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { n in try throughput(n, hosts: 1) }, raw: nil, leavesThreads: true),
        Benchmark(name: "actor.call.throughput.2hosts", unit: "s/call", iterations: 40_000, quickIterations: 8_000,
                  pythonDivisor: 4, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: { n in try throughput(n, hosts: 2) }, raw: nil, leavesThreads: true),
        // From a host's SIGKILL until each of 4 callers waiting on its actors holds the error.
        Benchmark(name: "actor.host_death_detect", unit: "s/death", iterations: 10, quickIterations: 4,
                  pythonDivisor: 1, slices: 1, maxRawRatio: nil, minPythonSpeedup: nil,
                  multicore: hostDeaths, raw: nil, hasPython: false, maxCost: 0.05, leavesThreads: true),
    ]

    /// The benchmark's hosted actor.
    distributed actor Counter: HostedActor {
        var value = 0

        distributed func add(_ amount: Int) -> Int {
            value += amount
            return value
        }

        /// Waits (up to a minute) to be interrupted: a call in flight when the host dies.
        distributed func hold() async {
            try? await Task.sleep(for: .seconds(60))
        }
    }

    /// Seconds per call of `add(1)` on an actor in a host (started beforehand), over `n` calls.
    /// `direct`: the calls are made inside `withDirectCalls`.
    static func actorCalls(_ n: Int, direct: Bool = false) throws -> Double {
        try blocking {
            let host = try await ActorHost()
            let counter = try await host.spawn(Counter.self)
            _ = try await counter.add(0)
            let start = MonotonicClock.now
            if direct {
                try await host.withDirectCalls {
                    for _ in 0..<n { _ = try await counter.add(1) }
                }
            } else {
                for _ in 0..<n { _ = try await counter.add(1) }
            }
            let elapsed = MonotonicClock.now - start
            guard try await counter.add(0) == n else { throw BenchmarkError("calls were lost") }
            await host.shutdown()
            return elapsed / Double(n)
        }
    }

    /// Seconds per call of `add(1)` made by 8 callers at once (about `n` in all), spread over
    /// one actor in each of `hosts` hosts (started beforehand): the inverse of the calls per second.
    static func throughput(_ n: Int, hosts: Int) throws -> Double {
        try blocking {
            var started: [ActorHost] = [], counters: [Counter] = []
            for _ in 0..<hosts {
                let host = try await ActorHost()
                started.append(host)
                counters.append(try await host.spawn(Counter.self))
            }
            for counter in counters { _ = try await counter.add(0) }
            let callers = 8, each = max(1, n / 8)
            let start = MonotonicClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<callers {
                    let counter = counters[caller % hosts]
                    group.addTask { for _ in 0..<each { _ = try await counter.add(1) } }
                }
                try await group.waitForAll()
            }
            let elapsed = MonotonicClock.now - start
            var total = 0
            for counter in counters { total += try await counter.add(0) }
            guard total == callers * each else { throw BenchmarkError("calls were lost") }
            for host in started { await host.shutdown() }
            return elapsed / Double(callers * each)
        }
    }

    /// Seconds from a host's SIGKILL until all 4 calls waiting on it have thrown its death, mean of `n` hosts.
    static func hostDeaths(_ n: Int) throws -> Double {
        try blocking {
            var total = 0.0
            for _ in 0..<n {
                let host = try await ActorHost()
                let counters = [try await host.spawn(Counter.self), try await host.spawn(Counter.self)]
                let ready = Locked(0)
                let waiting = (0..<4).map { index in
                    Task { () -> Double in
                        ready.withLock { $0 += 1 }
                        do {
                            try await counters[index % 2].hold()
                        } catch ActorHostError.hostDied {
                            return MonotonicClock.now
                        }
                        throw BenchmarkError("a call outlived its host")
                    }
                }
                // The calls are on their way once their tasks ran; let them reach the host.
                while ready.withLock({ $0 }) < 4 { try await Task.sleep(for: .milliseconds(1)) }
                try await Task.sleep(for: .milliseconds(20))
                let killed = MonotonicClock.now
                kill(host.pid, SIGKILL)
                var last = killed
                for task in waiting { last = max(last, try await task.value) }
                total += last - killed
            }
            return total / Double(n)
        }
    }

    /// Runs `body` on the cooperative pool and waits for it here (a benchmark is synchronous).
    private static func blocking(_ body: @escaping @Sendable () async throws -> Double) throws -> Double {
        let outcome = Locked<Result<Double, any Error>?>(nil)
        let done = Event()
        Task {
            do {
                let value = try await body()
                outcome.withLock { $0 = .success(value) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.set()
        }
        guard try done.wait(timeout: .seconds(600)) else { throw BenchmarkError("an actor benchmark did not finish") }
        return try outcome.withLock { $0 }!.get()
    }
}
