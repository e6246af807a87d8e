import CoreMetrics
import MetricsTestKit
import MulticoreProcessing
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool

@Suite struct PoolMetricsTests {
    /// Without a metrics backend, a pool makes no instrument and records nothing.
    @Test func withoutABackendNothingIsMade() throws {
        #expect(PoolMetrics(label: "x") == nil)
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.shutdown() }
        #expect(pool.supervisor.metrics == nil)
    }

    /// Every outcome is counted, by status, under the pool's label; a worker's end by its
    /// reason; durations and gauges are recorded. `stats` agrees.
    @Test func outcomesAreCountedByStatus() throws {
        let backend = TestMetrics()
        let pool = try withMetricsFactory(backend) { try ProcessPoolExecutor(maxWorkers: 1, killGrace: .milliseconds(100), label: "counted") }
        defer { pool.shutdown() }
        for value in 0..<5 { #expect(try pool.submit(Twice(value: value)).result(timeout: testDeadline) == value * 2) }
        #expect(throws: (any Error).self) { try pool.submit(Failing()).result(timeout: testDeadline) }
        #expect(throws: PoolError.self) { try pool.submit(MaybeTrap(crash: true)).result(timeout: testDeadline) }
        #expect(throws: PoolError.self) { try pool.submit(Nap(milliseconds: 600_000), timeout: .milliseconds(50)).result(timeout: testDeadline) }
        #expect(try pool.submit(Twice(value: 1)).result(timeout: testDeadline) == 2)
        let tasks = { (status: String) in backend.counterTotal(label: "multicore.tasks", dimensions: [("pool", "counted"), ("status", status)]) }
        #expect(tasks("succeeded") == 6 && tasks("failed") == 1 && tasks("worker_died") == 1 && tasks("timed_out") == 1)
        let exits = { (reason: String) in backend.counterTotal(label: "multicore.worker.exits", dimensions: [("pool", "counted"), ("reason", reason)]) }
        #expect(eventually { exits("trapped") == 1 && exits("stopped_by_owner") == 1 })
        // A duration for each task that answered (not the trap, not the timeout).
        #expect(try backend.expectTimer("multicore.task.duration", [("pool", "counted")]).values.count == 7)
        #expect(try backend.expectGauge("multicore.workers", [("pool", "counted")]).lastValue == 1)
        let totals = pool.stats.totals
        #expect(totals.succeeded == 6 && totals.failed == 1 && totals.workerDied == 1 && totals.timedOut == 1 && totals.cancelled == 0)
    }

    /// A snapshot shows each worker's state, task, count and memory.
    @Test func statsShowTheWorkers() throws {
        let pool = try Pool(processes: 1, label: "seen")
        defer { pool.terminate() }
        #expect(try pool.apply(Twice(value: 2)) == 4)
        let long = try pool.applyAsync(Nap(milliseconds: 600_000))
        _ = long
        #expect(eventually { pool.stats.workers.first?.state == .busy })
        let stats = pool.stats
        let worker = try #require(stats.workers.first)
        #expect(stats.label == "seen" && stats.queued == 0 && stats.totals.succeeded == 1)
        #expect(worker.currentTask == "Nap(milliseconds: 600000)" && worker.tasksDone == 1, "\(stats)")
        #expect((worker.residentMemory ?? 0) > 1 << 20)
        #expect("\(stats)".contains("seen: 1 workers, 0 queued; succeeded 1") && "\(stats)".contains("busy, 1 done"), "\(stats)")
    }
}
