import Testing
@testable import MulticorePool
import MulticoreThreading
import MulticoreTestSupport

/// A map's chunks gathered as they complete, with no pool: in order (each appended at once),
/// out of order (held until those before it are in), and with a failure among them.
@Suite struct MapCollectorTests {
    struct Failed: Error, Equatable { var chunk: Int }

    /// A collector of `chunks` chunks of two outputs each (chunk i holds 2i and 2i + 1), its future running.
    private static func collector(chunks: Int) throws -> (MapCollector<Int>, Future<[Int]>) {
        let result = Future<[Int]>()
        _ = try result.setRunningOrNotifyCancel()
        let collector = MapCollector<Int>(chunkCount: chunks, taskCount: 2 * chunks, into: result, callback: nil,
                                          errorCallback: nil, progress: nil)
        return (collector, result)
    }

    private static func complete(_ collector: MapCollector<Int>, _ chunk: Int) {
        collector.complete(chunk, .success(.values([2 * chunk, 2 * chunk + 1])), tasks: 2, worker: nil)
    }

    @Test(arguments: [
        [0, 1, 2, 3, 4, 5],     // in order: every chunk is the next one
        [5, 4, 3, 2, 1, 0],     // reversed: every chunk waits for the first
        [1, 0, 3, 2, 5, 4],     // pairs: one held, then both appended
        [0, 2, 1, 3, 5, 4],     // in order, held, in order, in order...
    ])
    func theOutputsComeInInputOrderWhateverTheOrderOfCompletion(order: [Int]) throws {
        let (collector, result) = try Self.collector(chunks: order.count)
        for (step, chunk) in order.enumerated() {
            #expect(!result.isDone, "done after \(step) of \(order.count) chunks")
            Self.complete(collector, chunk)
        }
        #expect(try result.result(timeout: testDeadline) == Array(0 ..< 2 * order.count))
    }

    /// The first failure in input order is the map's, once the chunks before it are in, even
    /// when a later chunk failed first; chunks completing after that change nothing.
    @Test func theFirstFailureInInputOrderIsTheMaps() throws {
        let (collector, result) = try Self.collector(chunks: 5)
        Self.complete(collector, 0)
        collector.complete(3, .failure(Failed(chunk: 3)), tasks: 2, worker: nil)
        collector.complete(2, .failure(Failed(chunk: 2)), tasks: 2, worker: nil)
        #expect(!result.isDone, "chunk 1, before both failures, is not in yet")
        Self.complete(collector, 1)
        #expect(throws: Failed(chunk: 2)) { try result.result(timeout: testDeadline) }
        Self.complete(collector, 4)
        #expect(collector.isFinished)
    }
}
