import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// In a child process: starts a pool of two workers, publishes their pids in `pids`, then waits
/// to be killed.
struct RunsAPool: ProcessTask {
    var pids: SharedArray<Int32>
    func run() throws -> Int {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        _ = try (0..<4).map { try pool.submit(Twice(value: $0)) }.map { try $0.result(timeout: .seconds(20)) }
        let workers = pool.workerPIDs
        guard workers.count == 2 else { return 1 }
        for (index, pid) in workers.enumerated() { pids[index] = pid }
        while true { pause() }
    }
}

/// An output whose encoding fails (in the worker, after the task returned it).
struct Unencodable: Codable, Sendable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws { throw PoolTaskError() }
}

struct ReturnsUnencodable: ProcessTask {
    func run() -> Unencodable { Unencodable() }
}

/// Three pools, each with tasks, a crash, a timeout and workers replaced, shut down; returns
/// what went wrong, or nil.
func runPoolLifecycles() throws -> String? {
    // Warm up what stays open for the life of the process (the spawner thread).
    let warm = try ProcessPoolExecutor(maxWorkers: 1)
    _ = try warm.submit(Twice(value: 1)).result(timeout: .seconds(20))
    warm.shutdown()
    let before = openDescriptorCount()
    for round in 0..<3 {
        let pool = try ProcessPoolExecutor(maxWorkers: 2, maxTasksPerChild: 7, killGrace: .milliseconds(100))
        let outputs = try (0..<30).map { try pool.submit(Twice(value: $0)) }.map { try $0.result(timeout: .seconds(20)) }
        guard outputs == (0..<30).map({ $0 * 2 }) else { return "round \(round): wrong outputs" }
        let crash = try pool.submit(MaybeTrap(crash: true))
        let slow = try pool.submit(Nap(milliseconds: 600_000), timeout: .milliseconds(50))
        guard (try? crash.result(timeout: .seconds(20))) == nil, (try? slow.result(timeout: .seconds(20))) == nil else {
            return "round \(round): a crash or a timeout did not fail its task"
        }
        pool.shutdown(wait: true)
    }
    let after = openDescriptorCount()
    guard after == before else { return "descriptors: \(before) before, \(after) after" }
    guard zombieChildCount() == 0 else { return "zombies left" }
    return nil
}

/// Pools and executors let go without shutdown: their workers, manager threads and
/// descriptors must go too (issue 9: 5 of each left +20 processes, +11 threads, +80
/// descriptors until exit). A future kept after its executor was dropped still gets its outcome.
func dropPoolsWithoutShutdown() throws -> String? {
    let warm = try ProcessPoolExecutor(maxWorkers: 1)
    _ = try warm.submit(Twice(value: 1)).result(timeout: .seconds(20))
    warm.shutdown()
    let descriptors = openDescriptorCount(), threads = Threading.activeCount()
    var workers: [Int32] = []
    var kept: Future<Int32>?
    for round in 0..<5 {
        let executor = try ProcessPoolExecutor(maxWorkers: 2)
        guard try executor.submit(Twice(value: round)).result(timeout: .seconds(20)) == round * 2 else { return "wrong output" }
        if round == 0 { kept = try executor.submit(Nap(milliseconds: 200)) }
        workers += executor.workerPIDs
        let pool = try Pool(processes: 2)
        guard try pool.map([Twice(value: 1), Twice(value: 2)]) == [2, 4] else { return "wrong outputs" }
        workers += pool.executor.workerPIDs
    }
    guard let kept, ((try? kept.result(timeout: .seconds(20))) ?? 0) > 0 else { return "a kept future got no outcome" }
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
        let alive = workers.filter { kill($0, 0) == 0 }
        if alive.isEmpty, openDescriptorCount() == descriptors, Threading.activeCount() == threads, zombieChildCount() == 0 { return nil }
        usleep(10_000)
    }
    return "after 20 s: workers alive \(workers.filter { kill($0, 0) == 0 }.count) of \(workers.count), descriptors "
        + "\(descriptors) -> \(openDescriptorCount()), threads \(threads) -> \(Threading.activeCount()), zombies \(zombieChildCount())"
}

@Suite(.timeLimit(.minutes(5))) struct PoolLifecycleTests {
    @Test func aPoolLetGoWithoutShutdownEndsItsWorkersAndThreads() async {
        // Counted in a process of its own: other tests open descriptors and threads meanwhile.
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            exitReporting(try dropPoolsWithoutShutdown(), as: "dropped pools")
        }
        if let failure = exitTestFailure(outcome?.standardOutputContent) {
            Issue.record("\(failure)")
        }
    }

    @Test func theWorkersDieWithTheirParentEvenWhenItIsKilled() throws {
        let pids = try SharedArray<Int32>(repeating: 0, count: 2)
        let parent = ChildProcess(task: RunsAPool(pids: pids))
        try parent.start()
        #expect(eventually { pids[0] != 0 && pids[1] != 0 }, "the pool's workers started")
        let workers = [pids[0], pids[1]]
        try #require(workers.allSatisfy { $0 > 0 })
        #expect(workers.allSatisfy { kill($0, 0) == 0 }, "the workers run while their parent lives")
        try parent.kill()
        #expect(try parent.join(timeout: testDeadline))
        #expect(eventually { workers.allSatisfy { kill($0, 0) == -1 && errno == ESRCH } }, "no worker outlived its parent")
    }

    @Test func shutdownLeavesNoDescriptorAndNoZombieBehind() async {
        // Counted in a process of its own: other tests open descriptors meanwhile.
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            exitReporting(try runPoolLifecycles(), as: "pool lifecycle")
        }
        if let failure = exitTestFailure(outcome?.standardOutputContent) {
            Issue.record("\(failure)")
        }
    }

    @Test func anOutputThatCannotBeEncodedFailsOnlyItsTask() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        #expect(throws: ProcessError.taskFailed(type: String(reflecting: PoolTaskError.self), message: "the task gave up")) {
            try pool.submit(ReturnsUnencodable()).result(timeout: testDeadline)
        }
        #expect(try pool.submit(Twice(value: 6)).result(timeout: testDeadline) == 12, "the pool is still usable")
    }
}

/// In its own process (it lowers its descriptor limit): a pool that cannot start a worker for
/// lack of descriptors fails its queued tasks with PoolError.cannotStartWorker, without
/// spinning, and runs tasks again once descriptors are back. Reports what it saw.
struct StarvedPool: ProcessTask {
    func run() throws -> [String] {
        var limits = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits)
        let original = limits
        // Room for the pool's own wake pipe and nothing more: no worker's socket pair. Nothing
        // else in this process opens or closes descriptors meanwhile.
        limits.rlim_cur = rlim_t(openDescriptorCount() + 2)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits)
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        var seen: [String] = []
        for value in 0..<3 {
            do {
                seen.append("\(try pool.submit(Twice(value: value)).result(timeout: .seconds(20)))")
            } catch PoolError.cannotStartWorker(let reason) {
                seen.append("cannot start: \(reason)")
            }
        }
        var restored = original
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &restored)
        seen.append("\(try pool.submit(Twice(value: 21)).result(timeout: .seconds(20)))")
        return seen
    }
}

@Suite(.timeLimit(.minutes(5))) struct StarvedPoolTests {
    @Test func aPoolWithoutDescriptorsFailsItsTasksAndRecovers() throws {
        let child = ChildProcess(task: StarvedPool())
        try child.start()
        #expect(try child.join(timeout: .seconds(60)))
        let seen = try child.result()
        #expect(seen.last == "42", "\(seen)")
        // Each task failed with the cause: none waited for a worker that could not come.
        #expect(seen.count == 4 && seen.dropLast().allSatisfy { $0.hasPrefix("cannot start: ") }, "\(seen)")
    }
}
