import MulticoreProcessing
import MulticoreThreading

/// A map whose input's count is not known up front (a lazy sequence that is not a
/// `Collection`): each chunk is sent as soon as it is read, so the workers start on the first
/// chunk while the rest is read, and the input is never held whole. The outputs are gathered by
/// chunk index (`MapCollector`), in input order; errors, cancellation and a worker's death end
/// the map as they end a map of an array.
extension Pool {
    /// The chunks a blocking `map` keeps in flight while it reads: four per worker, as imap's buffer.
    @usableFromInline var streamingWindow: Int { 4 * processes }

    /// `map` of the tasks `input` yields, each chunk sent as it is read.
    /// - Parameters:
    ///   - readChunk: reads up to n tasks (`LazyInput.chunkReader()`, specialized by the inlinable caller).
    ///   - chunksize: tasks per chunk; nil: `StreamingChunkSizes`.
    ///   - window: at most this many chunks in flight (the input is read as they complete); nil:
    ///     no limit (`mapAsync`, which returns once the input is read).
    /// - Throws: what encoding a task throws, `ExecutorError.shutDown` when the pool stops
    ///   taking tasks on the way: the chunks sent are stopped, and the map ends with that error.
    @usableFromInline func streamingMap<Input: IteratorProtocol>(
        _ input: Input, readChunk: LazyInput<Input>.ChunkReader, chunksize: Int?, window: Int?,
        callback: (@Sendable ([Input.Element.Output]) -> Void)?, errorCallback: (@Sendable (any Error) -> Void)?
    ) throws -> AsyncResult<[Input.Element.Output]> where Input.Element: ProcessTask {
        var input = input
        let result = Future<[Input.Element.Output]>()
        _ = try result.setRunningOrNotifyCancel()
        let collector = MapCollector<Input.Element.Output>(chunkCount: nil, taskCount: 0, into: result, callback: callback,
                                                           errorCallback: errorCallback, progress: nil,
                                                           appendPlain: { Input.Element._appendPlainOutputs($0, to: &$1) })
        let sent = SentChunks()
        // Cancelling a task that awaits the map stops all of it: the chunks sent (running ones
        // included), and those sent later.
        result.setInterruptHandler { [weak executor] in executor?.interrupt(sent.interruptAll()) }
        var sizes = StreamingChunkSizes(fixed: chunksize, workers: processes)
        while !collector.isFinished {
            // The window counts chunks, and bytes while they are small: a streaming map's chunks
            // start at one task and grow by an eighth each (on 2 workers), so with only the
            // chunk count a million-task map spent about 3.5 ms growing them, 8 at a time.
            if let window { collector.waitForRoom(limit: window, tasks: sizes.tasks(within: window * StreamingChunkSizes.maxBytes)) }
            guard !collector.isFinished else { break } // a chunk failed the map, or it was cancelled
            let size = sizes.next()
            let chunk = readChunk(&input, size)
            guard !chunk.isEmpty else { break }
            let index = collector.addChunk(tasks: chunk.count)
            let count = chunk.count
            do {
                let (ids, bytes) = try executor.enqueueChunks(
                    of: chunk, size: count, firstIndex: index, timeout: nil, start: { !result.isDone }, cancel: { collector.cancel() }
                ) { index, outcome, worker in
                    collector.complete(index, outcome, tasks: count, worker: worker)
                }
                if sent.add(ids) { executor.interrupt(ids) }
                sizes.sent(tasks: count, bytes: bytes)
            } catch {
                collector.fail(error)
                executor.interrupt(sent.interruptAll())
                throw error
            }
            if chunk.count < size { break } // the input has ended
        }
        collector.inputEnded()
        return AsyncResult(result)
    }
}

/// The ids of a streaming map's chunks sent so far, and whether the map was interrupted.
final class SentChunks: Sendable {
    private let state = Locked<(ids: [UInt64], interrupted: Bool)>(([], false))

    /// Records `ids`; true when the map was interrupted already (they are to be stopped too).
    func add(_ ids: [UInt64]) -> Bool {
        state.withLock { state in
            state.ids += ids
            return state.interrupted
        }
    }

    /// Marks the map interrupted; returns every id sent.
    func interruptAll() -> [UInt64] {
        state.withLock { state in
            state.interrupted = true
            return state.ids
        }
    }
}

/// The automatic chunk sizes of a streaming map: each chunk is a quarter per worker of the
/// tasks read before it (so the last chunk, as with Python's sizes for a known count, is at
/// most a quarter per worker of the whole), starting from one task: a short input of slow
/// tasks is still spread over every worker, a long one is sent in few chunks (about 110 for a
/// million tasks on 2 workers). A chunk holds at most `maxBytes` of encoded tasks (estimated
/// from the chunks before), so that the chunks in flight take bounded memory.
struct StreamingChunkSizes {
    static let maxBytes = automaticChunkBytes
    private let fixed: Int?
    private let workers: Int
    private var read = 0
    private var bytesPerTask = 0

    init(fixed: Int?, workers: Int) {
        self.fixed = fixed.map { max(1, $0) }
        self.workers = max(1, workers)
    }

    /// The size of the next chunk.
    func next() -> Int {
        if let fixed { return fixed }
        let size = max(1, read / (4 * workers))
        return bytesPerTask > 0 ? min(size, max(1, Self.maxBytes / bytesPerTask)) : size
    }

    /// How many tasks `bytes` of encoded tasks hold, as estimated from the chunks sent (0 before any).
    func tasks(within bytes: Int) -> Int { bytesPerTask > 0 ? bytes / bytesPerTask : 0 }

    /// A chunk of `tasks` tasks, `bytes` encoded, was sent.
    mutating func sent(tasks: Int, bytes: Int) {
        read += tasks
        if tasks > 0 { bytesPerTask = max(1, (bytes + tasks - 1) / tasks) }
    }
}
