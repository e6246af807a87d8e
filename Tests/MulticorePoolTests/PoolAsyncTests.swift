import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// How long a wait may be when it needs another Swift task to run: on 2 cores under
/// ThreadSanitizer, tests that block can hold the cooperative pool's two threads for a minute
/// before the task under test gets one (still a bound: a hang fails the test).
let scheduledDeadline = Duration.seconds(150)

/// The outcome of `task` once `done` says it has finished; nil if it did not in time (a hang
/// fails the test instead of stalling the run).
func finishedTask<T: Sendable>(_ task: Task<T, any Error>, done: Locked<Bool>) async -> Result<T, any Error>? {
    guard await eventually(within: scheduledDeadline, { done.withLock { $0 } }) else { return nil }
    return await task.result
}

/// The pid of the worker of `pool`, once `future` runs on it.
func runningWorker(_ pool: ProcessPoolExecutor, _ future: Future<Int32>) async -> Int32? {
    guard await eventually({ future.isRunning && !pool.workerPIDs.isEmpty }) else { return nil }
    return pool.workerPIDs.first
}

/// Iterates `results(of:chunksize:bufferSize:)` over naps of ten minutes on 2 workers, cancels
/// the iterating task once tasks run, and checks that the iteration ends with
/// `CancellationError`, the workers running tasks are stopped, exactly `expectedRead` tasks were
/// read (what was in flight), and the pool still runs tasks.
func checkCancellingAnIterationStopsEverythingInFlight(chunksize: Int, bufferSize: Int, expectedRead: Int) async throws {
    let pool = try ProcessPoolExecutor(maxWorkers: 2, killGrace: .milliseconds(200))
    defer { pool.terminate() }
    let started = Locked(0)
    let running = try SharedValue(0)
    let pids = try SharedArray<Int32>(repeating: 0, count: 8)
    let done = Locked(false)
    let tasks = (0..<16).lazy.map { _ -> CountedNap in
        started.withLock { $0 += 1 }
        return CountedNap(running: running, pids: pids, milliseconds: 600_000)
    }
    let iteration = Task {
        defer { done.withLock { $0 = true } }
        var count = 0
        for try await _ in pool.results(of: tasks, chunksize: chunksize, bufferSize: bufferSize) { count += 1 }
        return count
    }
    #expect(await eventually(within: scheduledDeadline) { pids[0] != 0 }, "a task runs")
    // Usually both workers run one; a slow start may leave the second idle for a while.
    _ = await eventually(within: .seconds(2)) { pids[1] != 0 }
    let workers = (0..<2).map { pids[$0] }.filter { $0 > 0 }
    iteration.cancel()
    let outcome = try #require(await finishedTask(iteration, done: done), "the iteration never ended")
    #expect(throws: CancellationError.self) { try outcome.get() }
    #expect(!workers.isEmpty)
    #expect(await eventually { workers.allSatisfy { kill($0, 0) == -1 } }, "the workers running tasks were stopped: \(workers)")
    #expect(started.withLock { $0 } == expectedRead, "no more input was read")
    #expect(try await pool.submit(Twice(value: 2)).value == 4)
}

/// Counts itself in `running` once it runs and puts its worker's pid in `pids` at that count,
/// then sleeps.
struct CountedNap: ProcessTask {
    var running: SharedValue<Int>
    var pids: SharedArray<Int32>
    var milliseconds: Int
    func run() throws -> Int32 {
        let slot = try running.withLock { count -> Int in
            count += 1
            return count - 1
        }
        if slot < pids.count { pids[slot] = getpid() }
        usleep(UInt32(milliseconds) * 1_000)
        return getpid()
    }
}

/// Returns its worker's pid, after `release` is set if it has one (at most 20 s).
struct HeldNap: ProcessTask {
    var release: SharedEvent?
    func run() throws -> Int32 {
        if let release { _ = try release.wait(timeout: .seconds(20)) }
        return getpid()
    }
}

@Suite(.timeLimit(.minutes(5))) struct PoolAsyncTests {
    @Test func resultsComeInOrderAndTheInputIsReadAsTheyAreTaken() async throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let produced = Locked(0)
        let endless = (0...).lazy.map { value -> Twice in
            produced.withLock { $0 += 1 }
            return Twice(value: value)
        }
        var outputs: [Int] = []
        for try await output in pool.results(of: endless, bufferSize: 5) {
            outputs.append(output)
            if outputs.count == 40 { break }
        }
        #expect(outputs == (0..<40).map { $0 * 2 })
        #expect(produced.withLock { $0 } <= 45, "at most the buffer is read ahead: \(produced.withLock { $0 })")
    }

    @Test func resultsThrowTheFirstFailure() async throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        var seen: [Int] = []
        await #expect(throws: PoolError.self) {
            for try await output in pool.results(of: (0..<10).map { MaybeTrap(crash: $0 == 3) }) { seen.append(output) }
        }
        #expect(seen == [1, 1, 1])
    }

    @Test func completionsGiveEachOutcomeOnceWithItsIndex() async throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        var outcomes: [Int: Result<Int, any Error>] = [:]
        // The first task ends only once another has completed: it is not waited for.
        let release = try SharedEvent()
        let tasks = [HeldNap(release: release)] + (1..<20).map { _ in HeldNap(release: nil) }
        var order: [Int] = []
        for try await completion in pool.completions(of: tasks, bufferSize: 8) {
            if completion.index != 0 { release.set() }
            #expect(outcomes[completion.index] == nil, "index \(completion.index) twice")
            outcomes[completion.index] = completion.result.map { Int($0) }
            order.append(completion.index)
            // Each names the worker that ran it: the pid the task returned.
            #expect(completion.worker?.pid == (try? completion.result.get()))
        }
        #expect(outcomes.count == 20 && outcomes.values.allSatisfy { (try? $0.get()) != nil })
        #expect(order.first != 0, "the held first task is not waited for: \(order)")

        var failures = 0
        for try await completion in pool.completions(of: (0..<6).map { MaybeTrap(crash: $0 % 3 == 0) }) {
            if case .failure(let error) = completion.result {
                #expect(completion.index % 3 == 0 && error is PoolError)
                if case .workerDied(let report, _, _)? = error as? PoolError { #expect(completion.worker == report.worker) }
                failures += 1
            }
        }
        #expect(failures == 2)
    }

    @Test func cancellingATaskThatAwaitsAFutureStopsItsWorker() async throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, killGrace: .milliseconds(200))
        defer { pool.terminate() }
        let future = try pool.submit(Nap(milliseconds: 600_000))
        let done = Locked(false)
        let waiter = Task {
            defer { done.withLock { $0 = true } }
            return try await future.value
        }
        let worker = try #require(await runningWorker(pool, future))
        waiter.cancel()
        let outcome = try #require(await finishedTask(waiter, done: done), "the awaiting task never ended")
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(await eventually { kill(worker, 0) == -1 }, "the worker running the task was stopped")
        #expect(try await pool.submit(Twice(value: 4)).value == 8, "a replacement runs the next task")
    }

    @Test func cancellingTheIterationStopsEverythingInFlight() async throws {
        try await checkCancellingAnIterationStopsEverythingInFlight(chunksize: 1, bufferSize: 3, expectedRead: 3)
    }

    @Test func cancellingATaskThatAwaitsAMapStopsTheMap() async throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let map = try pool.mapAsync((0..<6).map { _ in Nap(milliseconds: 600_000) }, chunksize: 1)
        let done = Locked(false)
        let waiter = Task {
            defer { done.withLock { $0 = true } }
            return try await map.value
        }
        #expect(await eventually { pool.executor.workerPIDs.count == 2 })
        waiter.cancel()
        let outcome = try #require(await finishedTask(waiter, done: done), "the awaiting task never ended")
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(try await pool.applyAsync(Twice(value: 3)).value == 6, "the pool is still usable")
    }
}
