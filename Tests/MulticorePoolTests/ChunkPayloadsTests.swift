import Testing
@testable import MulticorePool
import MulticoreProcessing

/// A task with an optional field (coded through `Codable`), which refuses to be encoded for one value.
struct RefusesSeven: ProcessTask, Equatable {
    struct Refused: Error {}
    var value: Int?
    enum CodingKeys: CodingKey { case value }
    init(value: Int?) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        guard value != 7 else { throw Refused() }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(value, forKey: .value)
    }
    func run() -> Int { value ?? -1 }
}

/// A large map's coded chunks are encoded on several threads: the payloads must be the ones
/// one thread makes, in order, and a task that cannot be encoded must fail the whole call.
@Suite(.timeLimit(.minutes(2))) struct ChunkPayloadsTests {
    private func chunks(_ tasks: [RefusesSeven], size: Int) -> [ArraySlice<RefusesSeven>] {
        stride(from: 0, to: tasks.count, by: size).map { tasks[$0 ..< min($0 + size, tasks.count)] }
    }

    @Test func manyThreadsGiveTheSamePayloadsAsOne() throws {
        let tasks = (0..<(4 * ChunkPayloads.parallelThreshold)).map { RefusesSeven(value: $0 % 5 == 0 ? nil : $0 + 8) }
        let chunks = chunks(tasks, size: 1_000)
        let payloads = try ChunkPayloads.encode(chunks, as: .coded)
        #expect(payloads.count == chunks.count)
        for (index, chunk) in chunks.enumerated() {
            #expect(payloads[index] == (try ChunkPayloads.payload(chunk, as: .coded)), "chunk \(index)")
            #expect(try PoolChunk.decode(RefusesSeven.self, format: .coded, count: chunk.count, from: payloads[index], at: 0) == Array(chunk))
        }
    }

    @Test func aTaskThatCannotBeEncodedFailsTheCallWhereverItIs() throws {
        for position in [0, ChunkPayloads.parallelThreshold, 3 * ChunkPayloads.parallelThreshold - 1] {
            var tasks = (0..<(3 * ChunkPayloads.parallelThreshold)).map { RefusesSeven(value: $0 == 7 ? 8 : $0) }
            tasks[position] = RefusesSeven(value: 7)
            #expect(throws: RefusesSeven.Refused.self, "refused at \(position)") {
                _ = try ChunkPayloads.encode(chunks(tasks, size: 500), as: .coded)
            }
        }
    }

    @Test func aLargeMapOfCodedTasksRunsEveryTaskOnce() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let tasks = (0..<(2 * ChunkPayloads.parallelThreshold + 3)).map { RefusesSeven(value: $0 % 9 == 0 ? nil : $0 + 8) }
        #expect(try pool.map(tasks) == tasks.map { $0.value ?? -1 })
        var refused = tasks
        refused[refused.count - 2] = RefusesSeven(value: 7)
        #expect(throws: RefusesSeven.Refused.self) { try pool.map(refused) }
        #expect(try pool.map(tasks.prefix(10)) == tasks.prefix(10).map { $0.value ?? -1 }, "the pool still works")
    }
}
