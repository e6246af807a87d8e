import Testing
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// `n` tasks made as they are read, in a sequence that is not a `Collection` (its count is not
/// known up front): what `Pool.map` sends chunk by chunk while reading.
func lazyInput<Task>(_ n: Int, _ make: @escaping (Int) -> Task) -> some Sequence<Task> {
    sequence(first: 0) { $0 + 1 < n ? $0 + 1 : nil }.lazy.filter { _ in n > 0 }.map(make)
}

/// A task of about 4 KB, which reads its padding `rounds` times (so that the workers are
/// slower than the reading of the input): a streaming map's chunks of it are capped by their bytes.
struct PaddedTask: ProcessTask {
    var value: Int
    var padding: String
    var rounds: Int
    func run() -> Int {
        var sum = 0
        for _ in 0..<rounds { for byte in padding.utf8 { sum &+= Int(byte) } }
        return sum == -1 ? 0 : value + padding.utf8.count
    }
}

/// How far the reading of a lazy input runs ahead of the tasks done, sampled as it is read.
final class ReadAhead {
    let pool: Pool
    var read = 0
    var most = 0
    init(pool: Pool) { self.pool = pool }

    func reading() {
        read += 1
        guard read % 250 == 0 else { return }
        let totals = pool.stats.totals
        most = max(most, read - (totals.succeeded + totals.failed))
    }
}

@Suite(.timeLimit(.minutes(5))) struct StreamingMapTests {
    @Test func aLazyInputIsMappedInOrderWithAnyChunkSize() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        #expect(lazyInput(10) { $0 }.underestimatedCount == 0, "the input's count is not known up front")
        let expected = (0..<50_000).map { $0 * 2 }
        #expect(try pool.map(lazyInput(50_000) { Twice(value: $0) }) == expected)
        #expect(try pool.map(lazyInput(50_000) { Twice(value: $0) }, chunksize: 7) == expected)
        #expect(try pool.map(lazyInput(1_000) { Twice(value: $0) }, chunksize: 1_000) == Array(expected.prefix(1_000)),
                "an input that ends exactly at a chunk's end")
        #expect(try pool.map(lazyInput(0) { Twice(value: $0) }) == [], "an empty input")
        #expect(try pool.map(lazyInput(1) { Twice(value: $0) }) == [0])
        // Coded tasks, and mapAsync (which sends with no limit) with its callback.
        let delivered = Locked<[Int]?>(nil)
        let async = try pool.mapAsync(lazyInput(3_000) { RefusesSeven(value: $0 % 5 == 0 ? nil : $0 + 8) },
                                      callback: { outputs in delivered.withLock { $0 = outputs } })
        let outputs = try async.get(timeout: testDeadline)
        #expect(outputs == (0..<3_000).map { $0 % 5 == 0 ? -1 : $0 + 8 })
        #expect(delivered.withLock { $0 } == outputs, "the callback runs before get returns")
    }

    /// A task that cannot be encoded, well into the input: chunks before it were sent already;
    /// the map ends with its error and the pool goes on.
    @Test func aTaskThatCannotBeEncodedMidStreamFailsTheMap() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let refusing = lazyInput(30_000) { RefusesSeven(value: $0 == 20_000 ? 7 : $0 + 8) }
        #expect(throws: RefusesSeven.Refused.self) { try pool.map(refusing) }
        let errors = Locked<Int>(0)
        #expect(throws: RefusesSeven.Refused.self) {
            try pool.mapAsync(refusing, errorCallback: { _ in errors.withLock { $0 += 1 } })
        }
        #expect(try pool.map(lazyInput(100) { Twice(value: $0) }) == (0..<100).map { $0 * 2 }, "the pool still works")
        #expect(errors.withLock { $0 } == 0, "the call threw: the error is not given twice")
    }

    /// A worker that dies in the middle of the input fails the map with `PoolError` (its chunk's
    /// error comes first in input order); a replacement serves the next map.
    @Test func aWorkerDeathMidStreamFailsTheMap() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let dying = lazyInput(20_000) { MaybeTrap(crash: $0 == 12_345) }
        #expect(throws: PoolError.self) { try pool.map(dying) }
        #expect(throws: PoolError.self) { try pool.mapAsync(dying, chunksize: 100).get(timeout: testDeadline) }
        #expect(try pool.map(lazyInput(1_000) { Twice(value: $0) }).last == 1_998, "the pool still works")
        let retrying = try Pool(processes: 2, maxRetries: 1)
        defer { retrying.terminate() }
        let runs = try SharedValue(0)
        let outputs = try retrying.map(lazyInput(300) { CrashesOnce(runs: runs, value: $0) })
        #expect(outputs == Array(0..<300), "with retries, the chunk of the dead worker runs again and nothing is lost")
    }

    /// A long lazy input is read only as its chunks complete: the tasks read and not yet done
    /// stay bounded (a few chunks of at most a mebibyte each), far below the input's length,
    /// where a map that read its input whole first would be a whole input ahead (the workers
    /// are slower than the reading: each task reads its padding twice).
    @Test func aLongLazyInputIsReadAsTheWorkGoes() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let padding = String(repeating: "x", count: 4_000)
        let probe = ReadAhead(pool: pool)
        let n = 10_000
        let tasks = lazyInput(n) { value -> PaddedTask in
            probe.reading()
            return PaddedTask(value: value, padding: padding, rounds: 2)
        }
        let outputs = try pool.map(tasks)
        #expect(outputs.count == n && outputs.last == n - 1 + 4_000)
        #expect(probe.read == n)
        // 4 KB tasks: chunks of at most 261 of them, 8 in flight on 2 workers, and the one being
        // read (measured: about 2,050; with no limit on the chunks in flight, 8,500 to 9,600).
        #expect(probe.most <= 3_000, "read ahead of the work: \(probe.most) tasks of \(n)")
        #expect(probe.most > 0, "the probe saw the reading")
    }
}
