import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// Issue 14: the lazy paths read their input a chunk at a time, with calls specialized for the
/// caller's types (`LazyInput.chunkReader`, `ReadyOutputs`), and chunks reach
/// `ProcessPoolExecutor.map` and `results(of:)`.
@Suite(.timeLimit(.minutes(5))) struct ChunkedStreamingTests {
    /// An endless input that counts the tasks read from it.
    static func counted(_ produced: Locked<Int>) -> LazyMapSequence<PartialRangeFrom<Int>, Twice> {
        (0...).lazy.map { value -> Twice in
            produced.withLock { $0 += 1 }
            return Twice(value: value)
        }
    }

    @Test func executorMapWithChunksGivesEveryOutputInOrderAndReadsABoundedWayAhead() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let produced = Locked(0)
        let results = try pool.map(Self.counted(produced), chunksize: 7, bufferSize: 3)
        var outputs: [Int] = []
        while outputs.count < 100, let output = try results.next() { outputs.append(output) }
        #expect(outputs == (0..<100).map { $0 * 2 })
        // 15 chunks taken (105 tasks) and at most 3 more in flight.
        let read = produced.withLock { $0 }
        #expect(read <= 126, "read \(read) tasks ahead of 100 outputs")
    }

    @Test func executorMapWithChunksKeepsEachTasksErrorInItsPlace() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let outcomes = try pool.map((0..<10).map { Stock(value: $0) }, chunksize: 4).map { result -> String in
            do { return "\(try result.get())" } catch let error as OutOfStock { return "\(error)" } catch { return "other \(error)" }
        }
        let expected = (0..<10).map { $0 % 2 == 1 ? "\(OutOfStock.item("#\($0)"))" : "\($0)" }
        #expect(outcomes == expected)
    }

    @Test func aChunkWhoseWorkerDiedFailsEachOfItsTasksAndNoOther() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let outcomes = Array(try pool.map((0..<6).map { MaybeTrap(crash: $0 == 4) }, chunksize: 3))
        #expect(outcomes.count == 6)
        let values = outcomes.prefix(3).compactMap { try? $0.get() }
        #expect(values == [1, 1, 1])
        let failures = outcomes.suffix(3).filter { result in
            if case .failure(let error) = result, error is PoolError { true } else { false }
        }
        #expect(failures.count == 3)
    }

    @Test func executorMapWithChunksEndsAtItsTimeLimit() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, killGrace: .milliseconds(200))
        defer { pool.terminate() }
        let results = try pool.map([Nap(milliseconds: 600_000), Nap(milliseconds: 1)], timeout: .milliseconds(100), chunksize: 2)
        let outcomes = Array(results)
        #expect(outcomes.count == 1, "the iteration ends after the time limit")
        #expect(throws: FutureError.timeout) { try outcomes.first?.get() }
    }

    @Test func aChunksizeBelowOneIsATypedErrorAndOneIsMapAsBefore() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        #expect(throws: ExecutorError.invalidChunksize(0)) { try pool.map([Twice(value: 1)], chunksize: 0) }
        #expect(throws: ExecutorError.invalidChunksize(-3)) { try pool.map([Twice(value: 1)], chunksize: -3) }
        #expect(try pool.map([Twice(value: 1), Twice(value: 2)], chunksize: 1).collect() == [2, 4])
        #expect(ExecutorError.invalidChunksize(0).description == "chunksize must be >= 1, not 0")
    }

    @Test func chunkedResultsComeInOrderAndTheInputIsReadAsTheyAreTaken() async throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let produced = Locked(0)
        var outputs: [Int] = []
        for try await output in pool.results(of: Self.counted(produced), chunksize: 10, bufferSize: 3) {
            outputs.append(output)
            if outputs.count == 95 { break }
        }
        #expect(outputs == (0..<95).map { $0 * 2 })
        // 10 chunks taken and at most 3 more in flight.
        let read = produced.withLock { $0 }
        #expect(read <= 130, "read \(read) tasks ahead of 95 outputs")
    }

    @Test func chunkedResultsThrowTheFirstFailureAndThenEnd() async throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        var seen: [Int] = []
        let results = try pool.results(of: [0, 2, 4, 3, 6, 8].map { Stock(value: $0) }, chunksize: 2)
        var iterator = results.makeAsyncIterator()
        await #expect(throws: OutOfStock.item("#3")) {
            while let output = try await iterator.next() { seen.append(output) }
        }
        #expect(seen == [0, 2, 4])
        #expect(try await iterator.next() == nil, "the iteration is over")
    }

    @Test func aChunksizeBelowOneMakesTheIterationThrow() async throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        await #expect(throws: ExecutorError.invalidChunksize(0)) {
            for try await _ in pool.results(of: [Twice(value: 1)], chunksize: 0) {}
        }
    }

    @Test func cancellingAChunkedIterationStopsEveryChunkInFlight() async throws {
        // Two chunks of two in flight: four tasks read, the first of each running.
        try await checkCancellingAnIterationStopsEverythingInFlight(chunksize: 2, bufferSize: 2, expectedRead: 4)
    }

    @Test func imapReadsAtMostTheChunksInFlightAhead() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let produced = Locked(0)
        var count = 0
        var inOrder = true
        for result in try pool.imap(Self.counted(produced), chunksize: 50, bufferSize: 4) {
            if try result.get() != count * 2 { inOrder = false }
            count += 1
            if count == 1000 { break }
        }
        #expect(inOrder)
        // 20 chunks taken and at most 4 more in flight.
        let read = produced.withLock { $0 }
        #expect(read <= 1200, "read \(read) tasks ahead of 1000 outputs")
        let unordered = try pool.imapUnordered((0..<1000).lazy.map { Twice(value: $0) }, chunksize: 30, bufferSize: 3).collect()
        #expect(unordered.sorted() == (0..<1000).map { $0 * 2 })
    }

    @Test func mapReadsASequenceThatIsNotACollectionAndAClosedPoolReadsNothing() throws {
        let pool = try Pool(processes: 2)
        let count = 10_000
        let tasks = sequence(first: 0) { $0 + 1 < count ? $0 + 1 : nil }.lazy.map { Twice(value: $0) }
        #expect(try pool.map(tasks) == (0..<count).map { $0 * 2 })
        let generic: any TaskPool = pool
        #expect(try generic.map(tasks).count == count)
        pool.close()
        let produced = Locked(0)
        let counted = (0..<10).lazy.map { value -> Twice in
            produced.withLock { $0 += 1 }
            return Twice(value: value)
        }
        #expect(throws: PoolStateError.notRunning) { try pool.map(counted) }
        #expect(produced.withLock { $0 } == 0, "a closed pool refuses before reading the input")
        try pool.join()
    }
}
