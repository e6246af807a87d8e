import MulticoreProcessing
import MulticoreThreading

/// Gathers a map's chunks as they complete (called on the pool's manager thread, no thread
/// of its own, no future per chunk) and completes the map's future with every output in
/// order, or with the first error in input order as soon as every chunk before it is done.
///
/// The chunks are known up front (a map of an array), or added one by one while a streaming
/// map reads its input (`addChunk`, then `inputEnded`): the outputs are ordered by chunk index
/// either way, and the map is done once its input has ended and every chunk is.
final class MapCollector<Output: Sendable>: @unchecked Sendable { // all mutable state is guarded by `room`'s lock
    private let result: Future<[Output]>
    private let callback: (@Sendable ([Output]) -> Void)?
    private let errorCallback: (@Sendable (any Error) -> Void)?
    private let progress: (@Sendable (Int, Int) -> Void)?
    /// Appends outputs that came as plain data, from their reply's bytes: the task type's
    /// `ProcessTask._appendPlainOutputs`, compiled for the output type (a process pool's maps);
    /// nil where none come so (a thread pool's).
    private let appendPlain: (@Sendable (UnsafeRawBufferPointer, inout [Output]) -> Void)?
    /// The lock, and what a streaming map's reader waits on for room (`waitForRoom`).
    private let room = Condition(lock: Lock())
    /// Tasks in all (those read so far, while a streaming map reads its input).
    private var taskCount: Int
    /// How many chunks there are; nil while a streaming map still reads its input.
    private var chunkCount: Int?
    /// The outputs of every chunk before `next`, in order: a chunk's outputs are appended as
    /// soon as those before it are, and its own array is freed then, so the next chunk's is
    /// made in the same memory (a large map's arrays of a megabyte each were otherwise all
    /// new memory, a page fault per 4 KiB, about 1.4 ms per megabyte on this machine).
    private var assembled: [Output] = []
    /// The outputs of chunks done before one ahead of them.
    private var held: [Int: ChunkOutcomes<Output>] = [:]
    /// Which chunks are done and which failed (kept apart: the bookkeeping per chunk touches no
    /// generic type, which this unspecialized code pays for).
    private var done: [Bool]
    private var chunksDone = 0
    private var failures: [Int: any Error] = [:]
    /// Which worker ran each chunk that failed or may fail; the failing one's is the map's `worker`.
    private var workers: [Int: WorkerIdentity] = [:]
    /// The chunk whose error is the map's.
    private var failedChunk: Int?
    /// Every chunk before this one is done and succeeded.
    private var next = 0
    private var finished = false
    /// Tasks in the chunks done so far, and the last count given to `progress`.
    private var tasksDone = 0
    private var tasksReported = 0
    /// Held while `progress` runs: its calls never overlap and never go backwards.
    private let progressLock = Lock()

    /// - Parameter chunkCount: the number of chunks, nil for a streaming map (see `addChunk`).
    init(chunkCount: Int?, taskCount: Int, into result: Future<[Output]>, callback: (@Sendable ([Output]) -> Void)?,
         errorCallback: (@Sendable (any Error) -> Void)?, progress: (@Sendable (Int, Int) -> Void)?,
         appendPlain: (@Sendable (UnsafeRawBufferPointer, inout [Output]) -> Void)? = nil) {
        self.appendPlain = appendPlain
        done = Array(repeating: false, count: chunkCount ?? 0)
        self.chunkCount = chunkCount
        self.taskCount = taskCount
        self.result = result
        self.callback = callback
        self.errorCallback = errorCallback
        self.progress = progress
    }

    /// A map of nothing: done at once.
    func finishEmpty() { deliver(.success([])) }

    /// The pool dropped the map's chunks (`terminate`): the map fails rather than never ending.
    func cancel() { deliver(.failure(FutureError.cancelled)) }

    /// The map failed before all of it was sent (a task that cannot be encoded, a pool shut
    /// down): it ends with `error`, which the call throws (the error callback is not called).
    func fail(_ error: any Error) { deliver(.failure(error), callingBack: false) }

    /// Whether the map has its outcome (a chunk failed it, it was cancelled, or it is done).
    var isFinished: Bool { room.withLock { finished } }

    /// A streaming map: one more chunk, of `tasks` tasks; returns its index.
    func addChunk(tasks: Int) -> Int {
        room.withLock {
            done.append(false)
            taskCount += tasks
            return done.count - 1
        }
    }

    /// A streaming map: its input has ended, every chunk is added.
    func inputEnded() {
        let verdict: Result<[Output], any Error>? = room.withLock {
            chunkCount = done.count
            return finished ? nil : verdictIfComplete()
        }
        if let verdict { deliver(verdict) }
    }

    /// Waits until fewer than `limit` chunks are in flight, or fewer than `4 * limit` holding
    /// fewer than `tasks` tasks in all (small chunks, at a streaming map's start), or the map has
    /// its outcome.
    @available(*, noasync, message: "blocks the thread")
    func waitForRoom(limit: Int, tasks: Int) {
        room.withLock {
            _ = try? room.waitFor {
                let chunks = done.count - chunksDone
                return finished || chunks < limit || (chunks < 4 * limit && taskCount - tasksDone < tasks)
            }
        }
    }

    func complete(_ index: Int, _ outcome: Result<ChunkOutcomes<Output>, any Error>, tasks: Int, worker: WorkerIdentity?) {
        switch outcome {
        case .success(.values(let outputs)):
            completeSucceeded(index, .values(outputs), tasks: tasks)
            return
        case .success(.packed(let packed)):
            completeSucceeded(index, .packed(packed), tasks: tasks)
            return
        default: break
        }
        let (verdict, done, total): (Result<[Output], any Error>?, Int, Int) = room.withLock {
            tasksDone += tasks
            chunksDone += 1
            try? room.notifyAll()
            if let worker { workers[index] = worker } // a chunk with a failure: it may be the one that fails the map
            return (decide(index, outcome), tasksDone, taskCount)
        }
        reportProgress(done, of: total)
        if let verdict { deliver(verdict) }
    }

    /// `complete` for a chunk whose tasks all returned (a map's every chunk, most of the time),
    /// on the manager thread: no `Result` of the map's outputs until the last chunk, since this
    /// code is not specialized for `Output` and each type built on it costs a metadata lookup.
    private func completeSucceeded(_ index: Int, _ outputs: ChunkOutcomes<Output>, tasks: Int) {
        let (settled, done, total) = room.withLock { () -> (Bool, Int, Int) in
            tasksDone += tasks
            chunksDone += 1
            try? room.notifyAll()
            guard !finished else { return (false, tasksDone, taskCount) }
            self.done[index] = true
            if index == next {
                // The next in order (most chunks, in a map of small ones): appended at once,
                // never through `held`, whose every use costs this code metadata lookups.
                append(outputs)
                next += 1
            } else {
                held[index] = outputs
            }
            // Past the chunks done and succeeded: the map is settled once they are all of them,
            // or when the first chunk not passed failed (its error is the map's).
            advance()
            let failed = next < self.done.count && self.done[next]
            return (failed || chunkCount.map { next == $0 } ?? false, tasksDone, taskCount)
        }
        reportProgress(done, of: total)
        guard settled, let verdict = room.withLock({ finished ? nil : verdictIfComplete() }) else { return }
        deliver(verdict)
    }

    /// Passes `done` of `total` tasks to `progress`, never twice the same count, never going back.
    private func reportProgress(_ done: Int, of total: Int) {
        guard let progress else { return }
        progressLock.withLock {
            guard done > tasksReported else { return }
            tasksReported = done
            progress(done, total)
        }
    }

    /// Under the lock: records the chunk, and returns the map's outcome once it is known.
    /// (A chunk whose tasks all returned comes through `completeSucceeded`.)
    private func decide(_ index: Int, _ outcome: Result<ChunkOutcomes<Output>, any Error>) -> Result<[Output], any Error>? {
        guard !finished else { return nil }
        switch outcome {
        case .success(let outcomes):
            do { held[index] = .values(try outcomes.allValues()) } catch { failures[index] = error }
        case .failure(let error): failures[index] = error
        }
        done[index] = true
        return verdictIfComplete()
    }

    /// Under the lock: the first error in input order once every chunk before it is done, or
    /// every output once every chunk is done and the input has ended; nil before.
    private func verdictIfComplete() -> Result<[Output], any Error>? {
        advance()
        if next < done.count, done[next], let error = failures[next] {
            failedChunk = next
            return .failure(error)
        }
        guard let chunkCount, next == chunkCount else { return nil }
        defer { assembled = [] }
        return .success(assembled)
    }

    /// Under the lock: appends the outputs of the chunks done and succeeded after those before,
    /// in order, up to the first not done or failed.
    private func advance() {
        while next < done.count, done[next], failures.isEmpty || failures[next] == nil {
            if let outputs = held.removeValue(forKey: next) { append(outputs) }
            next += 1
        }
    }

    /// Under the lock: appends a chunk's outputs to those before it.
    private func append(_ outputs: ChunkOutcomes<Output>) {
        makeRoom(for: outputs.count)
        switch outputs {
        case .packed(let packed):
            if let appendPlain {
                packed.withUnsafeBytes { appendPlain($0, &assembled) }
            } else {
                packed.append(to: &assembled)
            }
        case .values(let values) where values.count <= 4:
            // One by one: `+=` in this unspecialized code goes through `Sequence`'s witnesses and
            // their metadata lookups, which cost more than a small chunk's copy (a sixth of the
            // manager thread's time in a map of one-task chunks).
            // (Counted by hand: `indices` is another generic witness call.)
            var index = 0
            while index < values.count {
                assembled.append(values[index])
                index += 1
            }
        case .values(let values): assembled += values
        case .each: break // never held: a chunk with a failure is in `failures`
        }
    }

    /// Under the lock: room in `assembled` for `added` more outputs. A map whose size is known
    /// (an array's, or a streaming map's once its input ended) makes its array once. A streaming
    /// map's grows fourfold, not twofold: every growth copies the outputs so far into new
    /// memory, whose page faults cost more than the copy, and room not yet written costs none.
    private func makeRoom(for added: Int) {
        let needed = assembled.count + added
        guard assembled.capacity < needed else { return }
        assembled.reserveCapacity(chunkCount != nil ? max(needed, taskCount) : max(needed, taskCount, 4 * assembled.count))
    }

    private func deliver(_ verdict: Result<[Output], any Error>, callingBack: Bool = true) {
        // The map's worker is the one whose chunk failed it (a map that succeeds has none).
        guard let worker = room.withLock({ () -> WorkerIdentity?? in
            defer { finished = true; assembled = []; held = [:]; workers = [:]; try? room.notifyAll() }
            return finished ? nil : .some(failedChunk.flatMap { workers[$0] })
        }) else { return }
        // The callback runs before the result is done, as Python's `MapResult._set` calls it
        // before it sets its event: a `get` that returned has seen it run. (Not for a result
        // cancelled meanwhile.)
        if callingBack, !result.isDone {
            switch verdict {
            case .success(let values): callback?(values)
            case .failure(let error): errorCallback?(error)
            }
        }
        try? result.finish(verdict, by: worker)
    }
}
