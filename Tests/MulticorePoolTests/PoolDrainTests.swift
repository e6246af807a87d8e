import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// Shuts down a thread pool whose work has ended (the wait is short: nothing runs on it).
private func stopIdle(_ threads: ThreadPoolExecutor) { threads.shutdown() }

/// Whether every pid of `pids` is gone (the pool reaped its workers).
private func allGone(_ pids: [Int32]) -> Bool { pids.allSatisfy { kill($0, 0) == -1 && errno == ESRCH } }

/// Sets `release` on a thread of its own once `pool` is shutting down: a task released then was
/// running when the shutdown began.
private func releasing(_ release: SharedEvent, onceShuttingDown executor: ProcessPoolExecutor) throws -> JoinableThread {
    let thread = JoinableThread(name: "test-releaser") {
        if eventually({ executor.supervisor.snapshot.shuttingDown }) { release.set() }
    }
    try thread.start()
    return thread
}

/// `shutdown(gracePeriod:)`: what runs or waits when the shutdown begins has the grace period
/// to finish; what is left then fails with `PoolShutdownError.gracePeriodExpired`, and the
/// call returns once the workers are gone.
@Suite(.timeLimit(.minutes(5))) struct PoolDrainTests {
    @Test func tasksThatFinishWithinTheGracePeriodDeliverTheirResults() async throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 2)
        let started = try SharedEvent(), release = try SharedEvent()
        let held = try executor.submit(HeldTask(started: started, release: release, value: 7))
        let queued = try (1...6).map { try executor.submit(Twice(value: $0)) }
        #expect(await eventually { started.isSet }, "the held task started")
        let workers = executor.workerPIDs
        let releaser = try releasing(release, onceShuttingDown: executor)
        let finished = await executor.shutdown(gracePeriod: testDeadline)
        #expect(finished)
        #expect(held.isDone && queued.allSatisfy(\.isDone), "every task was done when the call returned")
        #expect(try await held.value == 7, "the task running at shutdown finished")
        var outputs: [Int] = []
        for future in queued { outputs.append(try await future.value) }
        #expect(outputs == [2, 4, 6, 8, 10, 12], "the queued tasks ran")
        #expect(allGone(workers), "the workers exited before the call returned")
        #expect(throws: ExecutorError.shutDown) { try executor.submit(Twice(value: 1)) }
        #expect(await eventually { !releaser.isAlive })
    }

    @Test func whatIsLeftWhenTheGracePeriodEndsFailsWithATypedError() throws {
        // One task per worker: a worker may otherwise be handed a task behind one it runs.
        let executor = try ProcessPoolExecutor(maxWorkers: 2, maxTasksPerChild: 1)
        let started = try SharedEvent(), release = try SharedEvent()
        let longStarted = try SharedEvent(), lateStarted = try SharedEvent(), never = try SharedEvent()
        let held = try executor.submit(HeldTask(started: started, release: release, value: 7))
        let long = try executor.submit(HeldTask(started: longStarted, release: never, value: 0))
        // Queued: it runs on the worker that replaces the held task's, and is running at the end.
        let late = try executor.submit(HeldTask(started: lateStarted, release: never, value: 0))
        #expect(eventually { started.isSet && longStarted.isSet }, "both tasks started")
        let workers = executor.workerPIDs
        let releaser = try releasing(release, onceShuttingDown: executor)
        let grace = Duration.seconds(2)
        #expect(!executor.shutdown(gracePeriod: grace), "not every task finished")
        #expect(try held.result(timeout: .zero) == 7, "the task released during the grace period finished")
        for future in [long, late] {
            #expect(throws: PoolShutdownError.gracePeriodExpired(grace)) { try future.result(timeout: .zero) }
        }
        #expect(allGone(workers) && executor.workerPIDs.isEmpty, "no worker is left")
        try releaser.join()
    }

    @Test func aPoolDrainsAndThenSaysTerminate() throws {
        let pool = try Pool(processes: 2, maxTasksPerChild: 1)
        let started = try SharedEvent(), release = try SharedEvent()
        let longStarted = try SharedEvent(), never = try SharedEvent()
        let held = try pool.applyAsync(HeldTask(started: started, release: release, value: 5))
        let long = try pool.applyAsync(HeldTask(started: longStarted, release: never, value: 0))
        #expect(eventually { started.isSet && longStarted.isSet }, "both tasks started")
        let workers = pool.workers.map(\.pid)
        let releaser = try releasing(release, onceShuttingDown: pool.executor)
        #expect(!pool.shutdown(gracePeriod: .seconds(2)))
        #expect(try held.get(timeout: .zero) == 5)
        #expect(throws: PoolShutdownError.gracePeriodExpired(.seconds(2))) { try long.get(timeout: .zero) }
        #expect("\(pool)".hasPrefix("<Pool state=TERMINATE "), "\(pool)")
        #expect(throws: PoolStateError.notRunning) { try pool.applyAsync(Twice(value: 1)) }
        #expect(allGone(workers))
        try releaser.join()
    }

    /// What a ServiceGroup's cancellation does to a service that drains: the grace period ends
    /// at once, and the call still returns only once the workers are gone.
    @Test func cancellingTheAwaitingTaskEndsTheGracePeriodAtOnce() async throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 1)
        let started = try SharedEvent(), never = try SharedEvent()
        let long = try executor.submit(HeldTask(started: started, release: never, value: 0))
        #expect(await eventually { started.isSet })
        let workers = executor.workerPIDs
        // The drain runs on a thread of its own: under load, other tests can hold both threads
        // of the cooperative pool for longer than the wait below.
        let thread = try ThreadPoolExecutor(maxWorkers: 1)
        defer { stopIdle(thread) }
        let drain = Task(executorPreference: thread) { await executor.shutdown(gracePeriod: .seconds(3600)) }
        #expect(await eventually { executor.supervisor.snapshot.shuttingDown })
        drain.cancel()
        #expect(await drain.value == false)
        #expect(long.isDone)
        await #expect(throws: PoolShutdownError.gracePeriodExpired(.seconds(3600))) { try await long.value }
        #expect(allGone(workers))
    }

    @Test func anIdlePoolOrOneShutDownAlreadyFinishesAtOnce() throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 1)
        #expect(try executor.submit(Twice(value: 2)).result(timeout: testDeadline) == 4)
        #expect(executor.shutdown(gracePeriod: .zero), "nothing was left to stop")
        #expect(executor.shutdown(gracePeriod: .seconds(1)), "a second shutdown is harmless")
        #expect(executor.workerPIDs.isEmpty)
    }
}
