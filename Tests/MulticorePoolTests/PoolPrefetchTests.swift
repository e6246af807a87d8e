import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading
import MulticoreTestSupport

/// Sets `started`, waits for `release`, then traps: a task that is surely running (with the
/// tasks given after it queued behind it on its worker) when its worker dies.
struct TrapWhenReleased: ProcessTask {
    var started: SharedEvent
    var release: SharedEvent
    func run() throws -> Int {
        started.set()
        guard try release.wait(timeout: testDeadline) else { return 0 }
        fatalError("released")
    }
}

/// Counts its runs in shared memory and returns `value`.
struct CountedRun: ProcessTask {
    var runs: SharedValue<Int>
    var value: Int
    func run() throws -> Int {
        try runs.withLock { $0 += 1 }
        return value
    }
}

/// What becomes of the tasks a worker was given ahead (queued in its channel behind the one it
/// runs) when that worker dies, is stopped for a timeout, or reaches `maxTasksPerChild`.
@Suite(.timeLimit(.minutes(5))) struct PoolPrefetchTests {
    /// A worker dies running a task with another queued behind it: the running task alone is
    /// charged (retried, then failed with two attempts); the one behind runs elsewhere, its own
    /// retry intact: it crashes once by itself, runs again and succeeds, two runs in all.
    @Test func aDeathChargesOnlyTheRunningTaskAndTheOneBehindKeepsItsRetries() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, maxRetries: 1)
        defer { pool.terminate() }
        let (started, release) = (try SharedEvent(), try SharedEvent())
        let doomed = try pool.submit(TrapWhenReleased(started: started, release: release))
        #expect(try started.wait(timeout: testDeadline))
        let behindRuns = try SharedValue(0)
        let behind = try pool.submit(CrashesOnce(runs: behindRuns, value: 7))
        // Given to the worker that runs `doomed` (a worker always holds one task ahead).
        #expect(eventually { pool.stats.queued == 0 })
        #expect(behindRuns.value == 0)
        release.set()
        do {
            _ = try doomed.result(timeout: testDeadline)
            Issue.record("a trapping task returned")
        } catch PoolError.workerDied(let report, _, let attempts) {
            #expect(report.exitCode == -SIGILL && attempts == 2)
        }
        #expect(try behind.result(timeout: testDeadline) == 7)
        #expect(behindRuns.value == 2)
        #expect(pool.stats.totals.retried == 2 && pool.stats.totals.workerDied == 1 && pool.stats.totals.succeeded == 1)
    }

    /// A task times out with another queued behind it on its worker: the worker is stopped, the
    /// one behind runs once on its replacement, charged nothing.
    @Test func aTimeoutSendsTheTaskBehindElsewhereOnce() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, maxRetries: 1, killGrace: .milliseconds(100))
        defer { pool.terminate() }
        let (started, never) = (try SharedEvent(), try SharedEvent())
        let slow = try pool.submit(HeldTask(started: started, release: never, value: 0), timeout: .seconds(1))
        let runs = try SharedValue(0)
        let behind = try pool.submit(CountedRun(runs: runs, value: 9))
        #expect(try started.wait(timeout: testDeadline))
        #expect(throws: PoolError.self) { try slow.result(timeout: testDeadline) }
        #expect(try behind.result(timeout: testDeadline) == 9)
        #expect(runs.value == 1)
        let totals = pool.stats.totals
        #expect(totals.timedOut == 1 && totals.retried == 0 && totals.succeeded == 1)
    }

    /// Many short tasks at once, so that workers are given several ahead: none runs more than
    /// `maxTasksPerChild` tasks, and every task runs once.
    @Test func maxTasksPerChildHoldsWithTasksGivenAhead() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2, maxTasksPerChild: 3)
        defer { pool.terminate() }
        let runs = try SharedValue(0)
        let counted = try (0..<30).map { try pool.submit(CountedRun(runs: runs, value: $0)) }
        let pids = try (0..<30).map { _ in try pool.submit(WhoRuns()) }
        for (value, future) in counted.enumerated() { #expect(try future.result(timeout: testDeadline) == value) }
        let byWorker = Dictionary(grouping: try pids.map { try $0.result(timeout: testDeadline) }, by: { $0 })
        #expect(runs.value == 30)
        #expect(byWorker.values.allSatisfy { $0.count <= 3 }, "\(byWorker.mapValues(\.count))")
        #expect(byWorker.count >= 10)

        let mapped = try Pool(processes: 2, maxTasksPerChild: 2)
        defer { mapped.terminate() }
        let workers = Dictionary(grouping: try mapped.map((0..<20).map { _ in WhoRuns() }, chunksize: 1), by: { $0 })
        #expect(workers.values.allSatisfy { $0.count <= 2 } && workers.count >= 10, "\(workers.mapValues(\.count))")
    }
}
