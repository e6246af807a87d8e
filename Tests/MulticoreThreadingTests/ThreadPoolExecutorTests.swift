import Testing
@testable import MulticoreThreading

@Suite(.timeLimit(.minutes(5))) struct ThreadPoolExecutorTests {
    struct Failure: Error, Equatable {}

    @Test func submitReturnsResultsAndErrors() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        defer { pool.shutdown() }
        let square = try pool.submit { 7 * 7 }
        let failing = try pool.submit { () throws -> Int in throw Failure() }
        #expect(try square.result(timeout: testDeadline) == 49)
        #expect(throws: Failure()) { try failing.result(timeout: testDeadline) }
    }

    @Test func invalidMaxWorkers() {
        #expect(throws: ExecutorError.invalidMaxWorkers) { _ = try ThreadPoolExecutor(maxWorkers: 0) }
        #expect(throws: Never.self) {
            let pool = try ThreadPoolExecutor()
            #expect(pool.maxWorkers == min(32, cpuCount() + 4))
            pool.shutdown()
        }
    }

    @Test func submitAfterShutdownThrows() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 1)
        pool.shutdown()
        #expect(throws: ExecutorError.shutDown) { _ = try pool.submit { 1 } }
        pool.shutdown() // harmless
    }

    @Test func neverMoreThreadsThanMaxWorkersAndNamesFollowThePrefix() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 3, threadNamePrefix: "crunch")
        let names = Recorder<String>()
        let release = Event()
        let futures = try (0..<12).map { _ in
            try pool.submit {
                names.append(Threading.currentThread.name)
                try release.wait(timeout: testDeadline)
            }
        }
        #expect(eventually { names.items.count == 3 })
        #expect(throws: FutureError.timeout, "the fourth task waits for a free worker") {
            try futures[3].result(timeout: shortWait)
        }
        release.set()
        for future in futures { try future.result(timeout: testDeadline) }
        pool.shutdown()
        #expect(Set(names.items).isSubset(of: ["crunch_0", "crunch_1", "crunch_2"]))
        #expect(Set(names.items).count == 3)
    }

    @Test func shutdownWaitsForQueuedWork() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        let done = Counter()
        for _ in 0..<50 { _ = try pool.submit { done.add() } }
        pool.shutdown(wait: true)
        #expect(done.value == 50)
    }

    @Test func shutdownCancelsQueuedFuturesOnRequest() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 1)
        let started = Event()
        let release = Event()
        let running = try pool.submit {
            started.set()
            try release.wait(timeout: testDeadline)
            return 1
        }
        let queued = try (0..<5).map { n in try pool.submit { n } }
        #expect(try started.wait(timeout: testDeadline))
        let shutter = try spawn { pool.shutdown(wait: true, cancelFutures: true) }
        #expect(eventually { queued.allSatisfy(\.isCancelled) })
        release.set()
        #expect(try shutter.join(timeout: testDeadline))
        #expect(try running.result(timeout: testDeadline) == 1)
        for future in queued { #expect(throws: FutureError.cancelled) { try future.result(timeout: .zero) } }
    }

    @Test func cancelledFutureIsSkipped() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 1)
        defer { pool.shutdown() }
        let release = Event()
        let blocker = try pool.submit { try release.wait(timeout: testDeadline) }
        let ran = Counter()
        let skipped = try pool.submit { ran.add() }
        #expect(skipped.cancel())
        release.set()
        _ = try blocker.result(timeout: testDeadline)
        pool.shutdown()
        #expect(ran.value == 0)
    }

    @Test func initializerRunsOncePerWorker() throws {
        let initialized = Counter()
        let pool = try ThreadPoolExecutor(maxWorkers: 2) { initialized.add() }
        let gate = try Barrier(parties: 2)
        // Two tasks that meet at a barrier need two workers.
        let futures = try (0..<2).map { _ in try pool.submit { try gate.wait(timeout: testDeadline) } }
        for future in futures { _ = try future.result(timeout: testDeadline) }
        pool.shutdown()
        #expect(initialized.value == 2)
    }

    @Test func throwingInitializerBreaksThePool() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 1) { throw Failure() }
        let first = try pool.submit { 1 }
        #expect {
            try first.result(timeout: testDeadline)
        } throws: { error in
            guard case ExecutorError.broken(let reason) = error else { return false }
            return reason.contains("initializer failed")
        }
        #expect(eventually {
            do { _ = try pool.submit { 2 }; return false } catch {
                if case ExecutorError.broken = error { return true }
                return false
            }
        })
        pool.shutdown()
    }

    @Test func mapKeepsInputOrderAndReadsInputLazily() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 4)
        defer { pool.shutdown() }
        let results = pool.map(0..<200, bufferSize: 8) { n in n * n }
        #expect(try results.collect() == (0..<200).map { $0 * $0 })

        // An endless input works, because at most bufferSize calls are in flight.
        final class Pulled: @unchecked Sendable { var count = 0 } // touched by the calling thread only
        let pulled = Pulled()
        let endless = AnyIterator<Int> { pulled.count += 1; return pulled.count }
        let lazy = pool.map(IteratorSequence(endless), bufferSize: 5) { $0 }
        #expect(try lazy.next() == 1)
        #expect(try lazy.next() == 2)
        #expect(pulled.count <= 7)
    }

    @Test func mapRethrowsAndTimesOut() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        defer { pool.shutdown() }
        let results = pool.map([1, 2, 3]) { n in
            if n == 2 { throw Failure() }
            return n
        }
        #expect(try results.next() == 1)
        #expect(throws: Failure()) { try results.next() }
        #expect(try results.next() == 3)

        let release = Event()
        let slow = pool.map([1], timeout: .milliseconds(10)) { _ in try release.wait(timeout: testDeadline) }
        #expect(throws: FutureError.timeout) { try slow.next() }
        release.set()
    }

    /// Issue 15: the results of a map work with for-in, zip, map and reduce, each a `Result`.
    @Test func mapResultsAreASequenceOfResults() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        defer { pool.shutdown() }
        var seen: [Int] = []
        for result in pool.map(1...5, { $0 * 10 }) { seen.append(try result.get()) }
        #expect(seen == [10, 20, 30, 40, 50])
        #expect(try pool.map(1...4, { $0 }).reduce(0) { try $0 + $1.get() } == 10)
        let pairs = try zip(["a", "b"], pool.map([1, 2], { $0 * 3 })).map { "\($0)\(try $1.get())" }
        #expect(pairs == ["a3", "b6"])
        // A call's error is its element, and the others still come.
        let mixed = pool.map([1, 2, 3]) { n in
            if n == 2 { throw Failure() }
            return n
        }.map { try? $0.get() }
        #expect(mixed == [1, nil, 3])
        // A timeout ends the iteration (its later elements would only time out too).
        let release = Event()
        let slow = Array(pool.map([1, 2, 3], timeout: .milliseconds(10)) { n in try release.wait(timeout: testDeadline) ? n : 0 })
        release.set()
        #expect(slow.count == 1)
        #expect(throws: FutureError.timeout) { try slow[0].get() }
    }

    /// Issue 15: an executor says what it is made of.
    @Test func anExecutorDescribesItselfAndListsItsThreads() throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2, threadNamePrefix: "described")
        #expect(pool.description == "<ThreadPoolExecutor state=running threads=0/2 queued=0>")
        let gate = Event()
        let busy = try (0..<3).map { _ in try pool.submit { try gate.wait(timeout: testDeadline) } }
        #expect(eventually { pool.threads.count == 2 })
        #expect(pool.threads.map(\.name).sorted() == ["described_0", "described_1"])
        #expect(eventually { pool.queuedCount == 1 }, "\(pool)")
        #expect(pool.description == "<ThreadPoolExecutor state=running threads=2/2 queued=1>")
        gate.set()
        for future in busy { #expect(try future.result(timeout: testDeadline)) }
        pool.shutdown(wait: true)
        #expect(pool.description.hasPrefix("<ThreadPoolExecutor state=shut down"))
    }

    @Test func futuresAreAwaitable() async throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 2)
        let futures = try (1...10).map { n in try pool.submit { n * 10 } }
        var sum = 0
        for future in futures { sum += try await future.value }
        #expect(sum == 550)
        let shutter = try spawn { pool.shutdown() }
        _ = shutter
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func concurrentSubmittersGetEveryResult(threads: Int) throws {
        let pool = try ThreadPoolExecutor(maxWorkers: 4)
        let total = Counter()
        try race(threads) { index in
            let futures = try (0..<200).map { n in try pool.submit { index * 1000 + n } }
            for future in futures { total.add(try future.result(timeout: testDeadline)) }
        }
        pool.shutdown()
        let expected = (0..<threads).reduce(0) { sum, index in sum + (0..<200).reduce(0) { $0 + index * 1000 + $1 } }
        #expect(total.value == expected)
    }
}
