import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading
import MulticoreTestSupport

@Suite(.timeLimit(.minutes(5))) struct PoolTests {
    @Test func mapReturnsEveryOutputInOrderWithAnyChunkSize() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let tasks = (0..<1_000).map { Twice(value: $0) }
        #expect(try pool.map(tasks) == (0..<1_000).map { $0 * 2 })
        // Chunks cut by index, the last one shorter, plain and coded tasks alike: every output in its place.
        for size in [1, 7, 999, 1_000, 1_500] {
            #expect(try pool.map(tasks, chunksize: size) == (0..<1_000).map { $0 * 2 }, "chunksize \(size)")
        }
        let coded = (0..<23).map { RefusesSeven(value: $0 == 7 ? nil : $0) }
        for size in [1, 5, 22, 23] {
            #expect(try pool.map(coded, chunksize: size) == (0..<23).map { $0 == 7 ? -1 : $0 }, "coded, chunksize \(size)")
        }
        #expect(try pool.map([Twice]()) == [])
        #expect(try pool.starmapAsync(tasks.prefix(10), chunksize: 3).get(timeout: testDeadline) == (0..<10).map { $0 * 2 },
                "starmap is map: a task carries its arguments")
        #expect(pool.automaticChunkSize(count: 1_000, of: Twice.self) == 125, "Python: divmod(1000, 2 * 4), plus one for a remainder")
        #expect(pool.automaticChunkSize(count: 1_001, of: Twice.self) == 126)
        #expect(pool.automaticChunkSize(count: 1_000_000, of: Twice.self) == 32_768, "plain tasks: 256 KiB at most")
        #expect(pool.automaticChunkSize(count: 1_000_000, of: RefusesSeven.self) == 125_000, "coded tasks: Python's size")
    }

    /// Tasks (and outputs) with no stored fields take no bytes of their own: a chunk of more
    /// than 65,536 of them failed with "count 65537 exceeds the 0 byte(s) left".
    @Test func aChunkOfManyTasksWithoutFieldsRuns() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let outputs = try pool.map([NoFields](repeating: NoFields(), count: 70_000), chunksize: 70_000)
        #expect(outputs.count == 70_000)
        #expect(outputs.allSatisfy { $0 == NoFields.Done() })
    }

    @Test func progressIsReportedInOrderUpToTheTotal() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let reports = Locked<[[Int]]>([])
        let outputs = try pool.mapAsync((0..<100).map { Twice(value: $0) }, chunksize: 10, progress: { done, total in
            reports.withLock { $0.append([done, total]) }
        }).get(timeout: testDeadline)
        #expect(outputs.count == 100)
        let seen = reports.withLock { $0 }
        #expect(seen.last == [100, 100], "\(seen)")
        #expect(seen.count <= 10 && seen.allSatisfy { $0[1] == 100 && $0[0] % 10 == 0 }, "one report per chunk at most: \(seen)")
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0[0] < $1[0] }, "increasing: \(seen)")
    }

    @Test func mapThrowsTheFirstErrorInInputOrder() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let tasks = (0..<50).map { MaybeTrap(crash: $0 == 30) }
        #expect(throws: PoolError.self) { try pool.map(tasks, chunksize: 5) }
        // The pool is still usable.
        #expect(try pool.apply(Twice(value: 4)) == 8)
    }

    /// A chunk that fails while an earlier one still runs fails the map as soon as the earlier
    /// one succeeds (its error is the first in input order): the map never waits for more.
    @Test func aLaterChunksErrorFailsTheMapOnceTheChunksBeforeItSucceed() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let started = try SharedEvent(), release = try SharedEvent(), never = try SharedEvent(), failing = try SharedEvent()
        let oneDone = Event()
        // One task per worker: the first held until released, the second failing at once (its release never comes).
        let tasks = [HeldTask(started: started, release: release, value: 1), HeldTask(started: failing, release: never, value: 2, limit: .zero)]
        let result = try pool.mapAsync(tasks, chunksize: 1, progress: { done, _ in if done == 1 { oneDone.set() } })
        // The first is not done: it cannot end before its release.
        #expect(try oneDone.wait(timeout: testDeadline), "the second chunk failed")
        release.set()
        #expect(throws: HeldTask.NeverReleased.self) { try result.get(timeout: testDeadline) }
    }

    @Test func imapIsLazyOrderedAndGoesOnAfterAFailure() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        // An endless input: only what is taken (plus the bounded buffer) is ever submitted.
        let endless = (0...).lazy.map { Twice(value: $0) }
        let results = try pool.imap(endless, chunksize: 3, bufferSize: 4)
        for expected in 0..<100 { #expect(try results.next(timeout: testDeadline) == expected * 2) }

        let mixed = try pool.imap([MaybeTrap(crash: false), MaybeTrap(crash: true), MaybeTrap(crash: false)])
        #expect(try mixed.next(timeout: testDeadline) == 1)
        #expect(throws: PoolError.self) { try mixed.next(timeout: testDeadline) }
        #expect(try mixed.next(timeout: testDeadline) == 1)
        #expect(try mixed.next(timeout: testDeadline) == nil)
    }

    /// A task that throws in the middle of a chunk fails alone: the tasks before it and after it
    /// in the same chunk give their outputs (the worker runs a chunk through the task type's own
    /// loop, `ProcessTask._runChunk`, which stops at the throw; the rest then run one by one).
    @Test func aThrowInTheMiddleOfAChunkFailsOnlyItsTask() throws {
        let pool = try Pool(processes: 1)
        defer { pool.terminate() }
        let results = try pool.imap([0, 2, 3, 4, 5, 6].map { Stock(value: $0) }, chunksize: 6)
        #expect(try results.next(timeout: testDeadline) == 0)
        #expect(try results.next(timeout: testDeadline) == 2)
        #expect(throws: OutOfStock.item("#3")) { try results.next(timeout: testDeadline) }
        #expect(try results.next(timeout: testDeadline) == 4)
        #expect(throws: OutOfStock.item("#5")) { try results.next(timeout: testDeadline) }
        #expect(try results.next(timeout: testDeadline) == 6)
        #expect(try results.next(timeout: testDeadline) == nil)
    }

    /// Issue 15: imap's results work with for-in, zip and reduce; a task's error is its element.
    @Test func imapResultsAreASequenceOfResults() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        var outputs: [Int?] = []
        for result in try pool.imap([MaybeTrap(crash: false), MaybeTrap(crash: true), MaybeTrap(crash: false)]) {
            outputs.append(try? result.get())
        }
        #expect(outputs == [1, nil, 1])
        let total = try pool.imapUnordered((1...10).map { Twice(value: $0) }, chunksize: 3).reduce(0) { try $0 + $1.get() }
        #expect(total == 110)
        let labelled = try zip(["x", "y"], pool.imap([Twice(value: 1), Twice(value: 2)])).map { "\($0)=\(try $1.get())" }
        #expect(labelled == ["x=2", "y=4"])
    }

    @Test func imapUnorderedYieldsEverythingOnce() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let outputs = try pool.imapUnordered((0..<300).map { Twice(value: $0) }, chunksize: 4).collect()
        #expect(outputs.sorted() == (0..<300).map { $0 * 2 })
    }

    @Test func applyAsyncAndMapAsyncReportThroughResultsAndCallbacks() async throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let seen = Locked<[Int]>([])
        let failures = Locked(0)
        let one = try pool.applyAsync(Twice(value: 21), callback: { value in seen.withLock { $0.append(value) } })
        let bad = try pool.applyAsync(Failing(), errorCallback: { _ in failures.withLock { $0 += 1 } })
        let many = try pool.mapAsync((1...3).map { Twice(value: $0) })
        #expect(try await one.value == 42)
        #expect(try await many.value == [2, 4, 6])
        await #expect(throws: ProcessError.self) { try await bad.value }
        #expect(bad.isReady)
        #expect(try !bad.successful())
        #expect(try one.successful())
        #expect(await eventually { seen.withLock { $0 } == [42] }, "\(seen.withLock { $0 })")
        #expect(await eventually { failures.withLock { $0 } == 1 }, "\(failures.withLock { $0 })")
    }

    @Test func closeTerminateAndJoinFollowPythonsRules() throws {
        let pool = try Pool(processes: 1)
        #expect(throws: PoolStateError.stillRunning) { try pool.join() }
        let running = try pool.applyAsync(Nap(milliseconds: 100))
        #expect(throws: PoolStateError.notReady) { try running.successful() }
        pool.close()
        #expect(throws: PoolStateError.notRunning) { try pool.apply(Twice(value: 1)) }
        try pool.join()
        #expect(try running.get(timeout: .zero) > 0, "close lets given tasks finish")
        // A timeout above the maximum is refused (Python: OverflowError), not read as no limit.
        #expect(throws: FutureError.timeoutTooLarge) { try running.wait(timeout: Threading.timeoutMax + .seconds(1)) }
        #expect(throws: FutureError.timeoutTooLarge) { try running.get(timeout: Threading.timeoutMax + .seconds(1)) }

        let stopped = try Pool(processes: 1)
        let long = try stopped.applyAsync(Nap(milliseconds: 600_000))
        let queued = try stopped.applyAsync(Twice(value: 1))
        #expect(eventually { long.future.isRunning })
        stopped.terminate()
        try stopped.join()
        #expect(throws: PoolError.self) { try long.get(timeout: testDeadline) }
        // Queued, or given to the worker ahead: either way it never runs once the pool is terminated.
        #expect(throws: FutureError.cancelled) { try queued.get(timeout: testDeadline) }
        #expect(throws: PoolStateError.notRunning) { try stopped.map([Twice(value: 1)]) }
    }

    @Test func aPoolWithRetriesLosesNothingWhenAWorkerDies() throws {
        let pool = try Pool(processes: 2, maxRetries: 2)
        defer { pool.terminate() }
        let runs = try SharedValue(0)
        #expect(try pool.apply(CrashesOnce(runs: runs, value: 5)) == 5)
    }
}

/// A `Codable` error: pools rethrow it as itself (issue 8).
enum OutOfStock: Error, Codable, Equatable {
    case item(String)
}

/// Throws `OutOfStock` for odd values, else returns the value.
struct Stock: ProcessTask {
    var value: Int
    func run() throws -> Int {
        if value % 2 == 1 { throw OutOfStock.item("#\(value)") }
        return value
    }
}

@Suite(.timeLimit(.minutes(5))) struct PoolErrorTypeTests {
    @Test func aCodableErrorThrownInAWorkerIsRethrownAsItselfByEveryPoolAPI() async throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        #expect(throws: OutOfStock.item("#3")) { try pool.map([Stock(value: 2), Stock(value: 3), Stock(value: 5)]) }
        #expect(throws: OutOfStock.item("#1")) { try pool.apply(Stock(value: 1)) }
        let outcomes = try pool.imap((0..<4).map { Stock(value: $0) }).map { result -> String in
            do { return "\(try result.get())" } catch let error as OutOfStock { return "\(error)" }
        }
        #expect(outcomes == ["0", "item(\"#1\")", "2", "item(\"#3\")"])
        await #expect(throws: OutOfStock.item("#7")) { try await pool.applyAsync(Stock(value: 7)).value }
        let executor = try ProcessPoolExecutor(maxWorkers: 1)
        defer { executor.terminate() }
        #expect(throws: OutOfStock.item("#9")) { try executor.submit(Stock(value: 9)).result(timeout: testDeadline) }
    }
}

/// Returns the name and pid its process knows itself by.
struct NameAndPID: ProcessTask {
    func run() -> String { "\(currentProcessName()) (pid \(getpid()))" }
}

/// Which worker threw is known beside the error, which keeps its own type (issue 8).
@Suite(.timeLimit(.minutes(5))) struct WorkerIdentityTests {
    @Test func theWorkerThatRanATaskIsKnownBesideItsErrorAndMatchesItsOwnName() throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 1)
        defer { executor.terminate() }
        let said = try executor.submit(NameAndPID())
        let whoRan = try said.result(timeout: testDeadline)
        #expect(said.worker?.description == whoRan)
        #expect(said.worker?.name.hasPrefix("SpawnProcess-") == true)
        let failed = try executor.submit(Stock(value: 9))
        #expect(throws: OutOfStock.item("#9")) { try failed.result(timeout: testDeadline) }
        #expect(failed.worker == said.worker)
        #expect(executor.workers == [try #require(said.worker)])
        #expect(executor.workerPIDs == [try #require(said.worker).pid])

        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let applied = try pool.applyAsync(Stock(value: 7))
        #expect(throws: OutOfStock.item("#7")) { try applied.get(timeout: testDeadline) }
        let worker = try #require(applied.worker)
        #expect(worker.name.hasPrefix("SpawnPoolWorker-"))
        #expect(pool.workers.contains(worker))
        // A map that fails names the worker of the chunk that failed it; one that succeeds, none.
        let map = try pool.mapAsync([Stock(value: 2), Stock(value: 4), Stock(value: 5)], chunksize: 1)
        #expect(throws: OutOfStock.item("#5")) { try map.get(timeout: testDeadline) }
        #expect(map.worker.map { pool.workers.contains($0) } == true)
        let fine = try pool.mapAsync([Stock(value: 2)])
        #expect(try fine.get(timeout: testDeadline) == [2])
        #expect(fine.worker == nil)
    }

    @Test func aDeadOrTimedOutWorkerIsNamedBesideItsPoolError() throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 1, killGrace: .milliseconds(200))
        defer { executor.terminate() }
        let long = try executor.submit(Nap(milliseconds: 600_000))
        #expect(eventually { long.isRunning && executor.workers.count == 1 })
        let victim = try #require(executor.workers.first)
        kill(victim.pid, SIGKILL)
        #expect(throws: PoolError.self) { try long.result(timeout: testDeadline) }
        #expect(long.worker == victim)
        let slow = try executor.submit(Nap(milliseconds: 600_000), timeout: .milliseconds(100))
        #expect(throws: PoolError.self) { try slow.result(timeout: testDeadline) }
        let stopped = try #require(slow.worker)
        #expect(stopped != victim && stopped.name.hasPrefix("SpawnProcess-"))
    }

    @Test func threadPoolsNameTheThreadThatRanTheWork() throws {
        let executor = try ThreadPoolExecutor(maxWorkers: 1, threadNamePrefix: "Checker")
        defer { executor.shutdown() }
        let failed = try executor.submit { () throws -> Int in throw PoolTaskError() }
        #expect(throws: PoolTaskError.self) { try failed.result(timeout: testDeadline) }
        #expect(failed.worker == WorkerIdentity(pid: getpid(), name: "Checker_0"))
        let threads = try ThreadPool(processes: 1)
        defer { threads.terminate() }
        let applied = try threads.applyAsync { 1 }
        #expect(try applied.get(timeout: testDeadline) == 1)
        #expect(applied.worker?.name.hasPrefix("ThreadPool") == true)
    }

    @Test func poolsDescribeTheirStateWorkersAndQueue() throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 2)
        #expect(eventually { executor.workers.count == 2 })
        let description = executor.description
        #expect(description.hasPrefix("<ProcessPoolExecutor state=RUN workers=2/2 queued=0 ["))
        for worker in executor.workers { #expect(description.contains("\(worker)")) }
        executor.shutdown()
        #expect(executor.description.hasPrefix("<ProcessPoolExecutor state=SHUTDOWN workers=0/2 queued=0"))
        let pool = try Pool(processes: 1)
        defer { pool.terminate() }
        #expect(eventually { pool.workers.count == 1 })
        #expect(pool.description == "<Pool state=RUN pool_size=1 queued=0 \(pool.workers)>")
        pool.close()
        #expect(pool.description.hasPrefix("<Pool state=CLOSE pool_size=1"))
    }
}

@Suite(.timeLimit(.minutes(5))) struct PoolActionTests {
    @Test func actionsThatReturnNothingRunInPoolsAndExecutors() throws {
        let counter = try SharedValue(0)
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let outputs = try pool.map((1...10).map { AddToCounter(counter: counter, amount: $0) })
        #expect(outputs == [NoOutput](repeating: NoOutput(), count: 10))
        #expect(counter.value == 55)
        let executor = try ProcessPoolExecutor(maxWorkers: 1)
        defer { executor.terminate() }
        #expect(try executor.submit(AddToCounter(counter: counter, amount: 45)).result(timeout: testDeadline) == NoOutput())
        #expect(counter.value == 100)
        let threads = try ThreadPool(processes: 2)
        defer { threads.terminate() }
        #expect(try threads.apply(AddToCounter(counter: counter, amount: 1)) == NoOutput())
        #expect(counter.value == 101)
    }
}

/// Returns its bytes reversed.
struct Mirror: ProcessTask {
    var bytes: [UInt8]
    func run() -> [UInt8] { bytes.reversed() }
}

@Suite(.timeLimit(.minutes(5))) struct PoolFlowTests {
    @Test func bigChunksBothWaysNeverDeadlock() throws {
        // Each chunk is far larger than a socket's buffer, in both directions: the manager must
        // never block writing to a worker that is itself blocked writing its reply.
        let pool = try Pool(processes: 1)
        defer { pool.terminate() }
        let tasks = (0..<8).map { Mirror(bytes: [UInt8](repeating: UInt8($0), count: 300_000) + [UInt8($0), 0]) }
        let outputs = try pool.mapAsync(tasks, chunksize: 2).get(timeout: testDeadline)
        #expect(outputs.count == 8)
        #expect(outputs.enumerated().allSatisfy { index, bytes in bytes.count == 300_002 && bytes[1] == UInt8(index) })
    }
}

/// A task without stored fields, whose output has none either.
struct NoFields: ProcessTask {
    struct Done: Codable, Sendable, Equatable {}
    func run() -> Done { Done() }
}
