import MulticoreProcessing
import MulticoreSystem
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool

/// Allocates `megabytes` and writes every page (so that they are resident); `keep` leaks them
/// (the worker stays that big), else they are freed. Returns its pid.
struct Hog: ProcessTask {
    var megabytes: Int
    var keep: Bool
    func run() -> Int32 {
        let size = megabytes << 20
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        memset(memory, 1, size)
        if !keep { memory.deallocate() }
        return getpid()
    }
}

/// These need a memory cgroup this process may write to (root, or a delegated cgroup), as
/// `memoryLimit` does; where there is none, `memoryLimitUnavailable` is checked instead.
@Suite(.serialized) struct PoolMemoryTests {
    static let cgroupsAvailable: Bool = {
        guard let probe = try? MemoryCgroup.make("multicore-probe-\(getpid())") else { return false }
        probe.remove()
        return true
    }()

    @Test func aTaskOverTheMemoryLimitFailsAloneAndItsWorkerIsReplaced() throws {
        guard Self.cgroupsAvailable else {
            #expect(throws: PoolConfigurationError.self) { try ProcessPoolExecutor(maxWorkers: 1, memoryLimit: 256 << 20) }
            return
        }
        let pool = try ProcessPoolExecutor(maxWorkers: 1, memoryLimit: 256 << 20)
        let small = try pool.submit(Hog(megabytes: 16, keep: false)).result(timeout: testDeadline)
        do {
            _ = try pool.submit(Hog(megabytes: 768, keep: false)).result(timeout: testDeadline)
            Issue.record("the hog ran to its end under a 256 MiB limit")
        } catch PoolError.memoryLimitExceeded(let limit, let report, let task) {
            #expect(limit == 256 << 20)
            #expect(report.reason == .memoryLimit(limit: 256 << 20) && report.exitCode == -SIGKILL, "\(report)")
            #expect(report.worker.pid == small && task == "Hog(megabytes: 768, keep: false)")
        }
        // A fresh worker takes the next task; the pool's cgroups go with it.
        let next = try pool.submit(Hog(megabytes: 16, keep: false)).result(timeout: testDeadline)
        #expect(next != small)
        let group = try #require(pool.supervisor.memory.group)
        pool.shutdown()
        #expect(eventually { MemoryCgroup.readText(group.path + "/cgroup.procs") == nil }, "\(group.path) is left")
    }

    /// The kernel's OOM killer, not the pool, killed the worker: the error says so.
    @Test func aWorkerTheOOMKillerKilledIsToldApart() throws {
        guard Self.cgroupsAvailable else { return }
        // The machine's memory, as an administrator would cap it: a cgroup the pool knows nothing of.
        let cap = try MemoryCgroup.make("multicore-test-cap-\(getpid())")
        defer { cap.remove() }
        try cap.limit(to: 256 << 20)
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.shutdown() }
        // The worker that answers is put under the cap.
        let pid = try pool.submit(Hog(megabytes: 1, keep: false)).result(timeout: testDeadline)
        try cap.add(pid)
        do {
            _ = try pool.submit(Hog(megabytes: 768, keep: false)).result(timeout: testDeadline)
            Issue.record("the hog ran to its end under a 256 MiB cap")
        } catch PoolError.workerDied(let report, _, _) {
            #expect(report.worker.pid == pid && report.reason == .outOfMemory, "\(report)")
        }
        #expect(cap.oomKills == 1)
        #expect(try pool.submit(Hog(megabytes: 1, keep: false)).result(timeout: testDeadline) != pid)
    }

    /// A cgroup's control files take each write(2) as one command: a limit or a pid split over
    /// two writes would set another limit, or move other processes. With every write cut short
    /// (the fault injector), the limit and the move are still exact.
    @Test func controlFileWritesAreNeverSplit() throws {
        guard Self.cgroupsAvailable else { return }
        let group = try MemoryCgroup.make("multicore-test-split-\(getpid())")
        defer { group.remove() }
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        let pid = try pool.submit(Hog(megabytes: 1, keep: false)).result(timeout: testDeadline)
        try FaultInjection.with([(.write, 1, .short), (.files, 2, .interrupted)]) {
            try group.limit(to: 256 << 20)
            try group.add(pid)
        }
        let limitFile = group.path + (MemoryCgroup.readText(group.path + "/memory.max") != nil ? "/memory.max" : "/memory.limit_in_bytes")
        #expect(MemoryCgroup.readText(limitFile) == "268435456\n")
        #expect(MemoryCgroup.readText(group.path + "/cgroup.procs")?.split(separator: "\n").contains("\(pid)") == true)
        pool.shutdown()
        #expect(eventually { MemoryCgroup.readText(group.path + "/cgroup.procs")?.isEmpty == true }, "the worker is gone from it")
    }

    /// A worker grown past `maxMemoryPerChild` is replaced after its task, which does not fail.
    @Test func aWorkerGrownPastMaxMemoryPerChildIsReplaced() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, maxMemoryPerChild: 256 << 20)
        defer { pool.shutdown() }
        let first = try pool.submit(Hog(megabytes: 8, keep: true)).result(timeout: testDeadline)
        #expect(try pool.submit(Hog(megabytes: 8, keep: false)).result(timeout: testDeadline) == first)
        let grown = try pool.submit(Hog(megabytes: 384, keep: true)).result(timeout: testDeadline)
        #expect(grown == first)
        #expect(try pool.submit(Hog(megabytes: 1, keep: false)).result(timeout: testDeadline) != first)
    }

    /// The OOM killer's count is read from /proc/vmstat's text by its line's key alone: not a
    /// key it starts another one's name, nor a line without a number.
    @Test func theOOMKillCountIsReadFromItsOwnLine() {
        let text = "nr_free_pages 2251241\noom_kill_other 7\noom_kill 12\npgfault 99\n"
        #expect(OOMKills.value(of: "oom_kill", in: text) == 12)
        #expect(OOMKills.value(of: "nr_free_pages", in: text) == 2_251_241)
        #expect(OOMKills.value(of: "pgfault", in: "pgfault 99") == 99)
        #expect(OOMKills.value(of: "oom_kill", in: "nr_free_pages 1\n") == nil)
        #expect(OOMKills.value(of: "oom_kill", in: "oom_kill \n") == nil)
        #expect(OOMKills.value(of: "oom_kill", in: "oom_kill 99999999999999999999999\n") == nil)
        #expect(OOMKills.count() != nil, "this kernel has oom_kill in /proc/vmstat")
    }

    @Test func limitsBelowAMebibyteAreRefused() {
        #expect(throws: PoolConfigurationError.invalidMemoryLimit(1000)) { try ProcessPoolExecutor(maxWorkers: 1, memoryLimit: 1000) }
        #expect(throws: PoolConfigurationError.invalidMemoryLimit(0)) { try Pool(processes: 1, maxMemoryPerChild: 0) }
    }
}

