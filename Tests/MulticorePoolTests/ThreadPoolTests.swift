import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

@Suite(.timeLimit(.minutes(5))) struct ThreadPoolTests {
    @Test func mapKeepsOrderWithAnyChunkSizeAndReportsProgress() throws {
        let pool = try ThreadPool(processes: 3)
        defer { pool.terminate() }
        let reports = Locked<[Int]>([])
        let squares = try pool.mapAsync(0..<1_000, progress: { done, total in
            #expect(total == 1_000)
            reports.withLock { $0.append(done) }
        }) { $0 * $0 }.get(timeout: testDeadline)
        #expect(squares == (0..<1_000).map { $0 * $0 })
        #expect(reports.withLock { $0.last } == 1_000)
        #expect(reports.withLock { zip($0, $0.dropFirst()).allSatisfy { $0 < $1 } })
        #expect(try pool.mapAsync(0..<10, chunksize: 1) { $0 + 1 }.get(timeout: testDeadline) == Array(1...10))
        #expect(try pool.mapAsync([Int](), chunksize: 4) { $0 }.get(timeout: testDeadline) == [])
    }

    @Test func theWorkRunsOnThreadsAtTheSameTime() throws {
        let pool = try ThreadPool(processes: 3)
        defer { pool.terminate() }
        // Each call waits at a barrier for the other two: only three threads at once get through.
        let gate = try Barrier(parties: 3)
        let passed = try pool.mapAsync(0..<3, chunksize: 1) { _ in (try? gate.wait(timeout: testDeadline)) != nil }
            .get(timeout: testDeadline)
        #expect(passed == [true, true, true])
    }

    @Test func tasksRunInThisProcess() throws {
        let pool = try ThreadPool(processes: 2)
        defer { pool.terminate() }
        #expect(try pool.applyAsync { WhoRuns().run() }.get(timeout: testDeadline) == getpid())
        #expect(try pool.mapAsync((0..<5).map { Twice(value: $0) }, chunksize: 2) { $0.run() }.get(timeout: testDeadline) == [0, 2, 4, 6, 8])
    }

    @Test func theFirstErrorInInputOrderIsThrown() throws {
        struct Odd: Error, Equatable { let value: Int }
        let pool = try ThreadPool(processes: 2)
        defer { pool.terminate() }
        #expect(throws: Odd(value: 3)) {
            try pool.mapAsync(0..<10, chunksize: 2) { value in
                if value % 2 == 1, value >= 3 { throw Odd(value: value) }
                return value
            }.get(timeout: testDeadline)
        }
        let failing = try pool.imap([1, 2, 3]) { value in
            if value == 2 { throw Odd(value: value) }
            return value
        }
        #expect(try failing.next(timeout: testDeadline) == 1)
        #expect(throws: Odd(value: 2)) { try failing.next(timeout: testDeadline) }
        #expect(try failing.next(timeout: testDeadline) == 3, "the iteration goes on after a failure")
        #expect(try failing.next(timeout: testDeadline) == nil)
    }

    @Test func imapReadsItsInputLazilyAndImapUnorderedYieldsAllOnce() throws {
        let pool = try ThreadPool(processes: 2)
        defer { pool.terminate() }
        let produced = Locked(0)
        let endless = (0...).lazy.map { value -> Int in
            produced.withLock { $0 += 1 }
            return value
        }
        let results = try pool.imap(endless, chunksize: 2, bufferSize: 3) { $0 * 3 }
        for expected in 0..<20 { #expect(try results.next(timeout: testDeadline) == expected * 3) }
        #expect(produced.withLock { $0 } <= 20 + 2 * 3, "\(produced.withLock { $0 }) read")
        let unordered = try pool.imapUnordered(0..<100, chunksize: 7) { $0 }.collect()
        #expect(unordered.sorted() == Array(0..<100))
    }

    @Test func applyAsyncCallsItsCallbacks() throws {
        let pool = try ThreadPool(processes: 2)
        defer { pool.terminate() }
        let seen = Locked<[String]>([])
        let good = try pool.applyAsync({ 21 * 2 }, callback: { value in seen.withLock { $0.append("value \(value)") } })
        let bad = try pool.applyAsync({ () throws -> Int in throw PoolTaskError() },
                                      errorCallback: { error in seen.withLock { $0.append("error \(error)") } })
        #expect(try good.get(timeout: testDeadline) == 42)
        #expect(throws: PoolTaskError.self) { try bad.get(timeout: testDeadline) }
        #expect(eventually { seen.withLock { Set($0) } == ["value 42", "error the task gave up"] })
    }

    @Test func closeTerminateAndJoinFollowPythonsRules() throws {
        let pool = try ThreadPool(processes: 1)
        #expect(throws: PoolStateError.stillRunning) { try pool.join() }
        let release = Event()
        let blocker = try pool.applyAsync { try release.wait(timeout: testDeadline) }
        let queued = try pool.applyAsync { 1 }
        pool.close()
        #expect(throws: PoolStateError.notRunning) { try pool.applyAsync { 2 } }
        #expect(throws: PoolStateError.notRunning) { try pool.map([Twice(value: 1)]) }
        release.set()
        try pool.join()
        #expect(try blocker.get(timeout: .zero) == true, "close lets the given work finish")
        #expect(try queued.get(timeout: .zero) == 1)

        let stopped = try ThreadPool(processes: 1)
        let gate = Event()
        let running = try stopped.applyAsync { try gate.wait(timeout: testDeadline) }
        #expect(eventually { running.future.isRunning })
        let waiting = try stopped.applyAsync { 3 }
        stopped.terminate()
        #expect(waiting.future.isCancelled, "terminate cancels what has not started")
        gate.set()
        try stopped.join()
        #expect(try running.get(timeout: .zero) == true, "what runs finishes: a thread cannot be stopped")
    }
}

@Suite struct ThreadPoolDescriptionTests {
    @Test func aThreadPoolDescribesItselfAsPythonDoes() throws {
        let pool = try ThreadPool(processes: 3)
        #expect(pool.description == "<ThreadPool state=RUN pool_size=3 threads=0 queued=0>")
        #expect(try pool.apply { 1 } == 1)
        #expect(pool.threads.count == 1)
        pool.close()
        #expect(pool.description.hasPrefix("<ThreadPool state=CLOSE pool_size=3"))
        pool.terminate()
        #expect(pool.description.hasPrefix("<ThreadPool state=TERMINATE"))
        try pool.join()
    }
}

/// Issue 15: code written once against `TaskPool` runs on processes or threads (mp_pool.py's switch).
@Suite(.timeLimit(.minutes(5))) struct TaskPoolTests {
    func exercise(_ pool: any TaskPool) throws -> [String] {
        var seen: [String] = []
        seen.append("\(try pool.apply(Twice(value: 21)))")
        seen.append("\(try pool.map((1...4).map { Twice(value: $0) }))")
        seen.append("\(try pool.map((1...4).map { Twice(value: $0) }, chunksize: 3))")
        seen.append("\(try pool.imap((1...3).map { Twice(value: $0) }).map { try $0.get() })")
        seen.append("\(try pool.imapUnordered((1...3).map { Twice(value: $0) }).map { try $0.get() }.sorted())")
        seen.append("\(try pool.applyAsync(Twice(value: 5)).get(timeout: testDeadline))")
        seen.append("\(try pool.mapAsync([Twice(value: 6)]).get(timeout: testDeadline))")
        pool.close()
        try pool.join()
        return seen
    }

    @Test func oneFunctionRunsOnAProcessPoolAndOnAThreadPool() throws {
        let expected = ["42", "[2, 4, 6, 8]", "[2, 4, 6, 8]", "[2, 4, 6]", "[2, 4, 6]", "10", "[12]"]
        let processes: any TaskPool = try Pool(processes: 2)
        defer { processes.terminate() }
        #expect(try exercise(processes) == expected)
        let threads: any TaskPool = try ThreadPool(processes: 2)
        defer { threads.terminate() }
        #expect(try exercise(threads) == expected)
        #expect(processes.processes == 2 && threads.processes == 2)
    }
}
