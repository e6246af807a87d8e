import MulticoreProcessing
import MulticoreThreading
import Synchronization

/// The payloads of a map's chunks, all encoded before any is queued (so that a task that cannot
/// be encoded fails the call, and nothing runs). Coding through `Codable` costs about as much
/// per task as a worker's decoding: a large map's chunks are encoded on as many threads as there
/// are CPUs, so the workers are not left waiting on one thread of the parent (Python's pool
/// pickles in a thread of its own too).
enum ChunkPayloads {
    /// Fewer coded tasks than this are encoded on the calling thread: a thread costs more.
    static let parallelThreshold = 8_192

    /// Each chunk's payload, in order.
    /// - Throws: what encoding a task throws (the first error met; the other chunks are dropped).
    static func encode<Task: Encodable & Sendable>(_ chunks: [ArraySlice<Task>], as format: ChunkFormat) throws -> [[UInt8]] {
        let total = chunks.reduce(0) { $0 + $1.count }
        let helpers = format == .coded && total >= parallelThreshold ? min(cpuCount(), chunks.count) - 1 : 0
        guard helpers > 0 else { return try chunks.map { try payload($0, as: format) } }
        let work = Work(chunks, format: format)
        let threads = (0..<helpers).map { _ in JoinableThread(name: "mc-pool-encoder", daemon: true) { work.run() } }
        var started: [JoinableThread] = []
        for thread in threads {
            // A thread that cannot start leaves its share to the others (this one included).
            if (try? thread.start()) != nil { started.append(thread) }
        }
        work.run()
        for thread in started { _ = try? thread.join() }
        return try work.payloads()
    }

    /// One chunk's payload.
    static func payload<Task: Encodable>(_ tasks: ArraySlice<Task>, as format: ChunkFormat) throws -> [UInt8] {
        var payload: [UInt8] = []
        try PoolChunk.append(tasks, as: format, to: &payload)
        return payload
    }

    /// The chunks shared by the threads that encode them: each takes the next one not taken.
    private final class Work<Task: Encodable & Sendable>: Sendable {
        let chunks: [ArraySlice<Task>]
        let format: ChunkFormat
        private let next = Atomic<Int>(0)
        /// `Locked`, not `Mutex`: ThreadSanitizer sees `Lock`'s atomics, not `Mutex`'s.
        private let results: Locked<[Result<[UInt8], any Error>?]>

        init(_ chunks: [ArraySlice<Task>], format: ChunkFormat) {
            self.chunks = chunks
            self.format = format
            results = Locked(Array(repeating: nil, count: chunks.count))
        }

        /// Encodes chunks until none is left, or one failed.
        func run() {
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < chunks.count else { return }
                let result = Result { try ChunkPayloads.payload(chunks[index], as: format) }
                results.withLock { $0[index] = result }
                if case .failure = result {
                    next.store(chunks.count, ordering: .relaxed) // the others stop at their next chunk
                    return
                }
            }
        }

        /// Every payload, or the first chunk's error in order.
        func payloads() throws -> [[UInt8]] {
            let results = self.results.withLock { $0 }
            if let failure = results.lazy.compactMap({ result -> (any Error)? in
                if case .failure(let error)? = result { return error }
                return nil
            }).first {
                throw failure
            }
            // Every chunk was encoded once none failed: each index below `chunks.count` was taken.
            return try results.map { result throws(WireError) -> [UInt8] in
                guard case .success(let payload)? = result else { throw WireError.unsupported("a chunk was not encoded") }
                return payload
            }
        }
    }
}
