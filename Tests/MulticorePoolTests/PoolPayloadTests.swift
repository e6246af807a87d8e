import Testing
@testable import MulticorePool
import MulticoreProcessing

/// A large chunk of plain tasks is sent from the caller's array itself (`PoolPayload`'s view):
/// its bytes must be the chunk's encoding, and it must hold the caller's array as it was, even
/// when the caller changes or drops its array while the chunk is still on its way.
@Suite(.timeLimit(.minutes(2))) struct PoolPayloadTests {
    @Test func aLargePlainChunkIsAViewWithTheBytesOfItsEncoding() throws {
        let tasks = (0..<20_000).map { Twice(value: $0) }
        let chunk = tasks[1_000 ..< 19_000]
        let payload = try PoolPayload(chunk, as: .raw)
        #expect(payload.count == 18_000 * MemoryLayout<Twice>.stride)
        #expect(payload.count >= PoolPayload.viewThreshold)
        #expect(payload.bytes == (try ChunkPayloads.payload(chunk, as: .raw)))
        #expect(payload == PoolPayload(try ChunkPayloads.payload(chunk, as: .raw)))
        #expect(try PoolChunk.decode(Twice.self, format: .raw, count: chunk.count, from: payload.bytes, at: 0).map(\.value) == chunk.map(\.value))
        // Below the threshold, the bytes are copied: the same bytes either way.
        let small = tasks[..<10]
        #expect(try PoolPayload(small, as: .raw).bytes == (try ChunkPayloads.payload(small, as: .raw)))
    }

    @Test func aViewKeepsTheCallersArrayAsItWasWhenTheCallerChangesIt() throws {
        let pool = try Pool(processes: 2)
        defer { pool.terminate() }
        let count = 400_000 // chunks of 50,000 tasks (800 KB): every one a view
        var tasks = (0..<count).map { Twice(value: $0) }
        let pending = try pool.mapAsync(tasks)
        // Written while the chunks may still be on their way: a view holding the array's
        // memory without its reference would send these values instead.
        for index in tasks.indices { tasks[index] = Twice(value: -1) }
        tasks = []
        let outputs = try pending.get(timeout: .seconds(60))
        #expect(outputs.count == count)
        #expect(outputs == (0..<count).map { $0 &* 2 })
    }
}
