import MulticoreProcessing
import MulticoreThreading

/// How work enters the process pool: tasks become jobs (`PoolJobs`) outside the lock, and are
/// queued in the machine under it, with one wake-up of the manager per call.
extension PoolSupervisor {
    /// Schedules `task` on a worker and returns its future. Python: `submit(fn, *args)`.
    /// - Parameter timeout: how long the task may run once a worker has started it.
    /// - Throws: `ExecutorError.shutDown` after `shutdown`; the task's encoding error.
    /// - Parameter willFinish: told the outcome before the future is (see `PoolTaskSink`).
    func submit<Task: ProcessTask>(_ task: Task, timeout: Duration? = nil,
                                   willFinish: (@Sendable (Result<Task.Output, any Error>) -> Void)? = nil) throws -> Future<Task.Output> {
        let future = Future<Task.Output>()
        // One task, encoded without an array of tasks (whose metadata this code, not
        // specialized for `Task`, would look up at each use).
        let format = try ChunkFormat.choose(first: task)
        let payload = switch format {
        case .raw: try PoolJobs.checked(PoolPayload(withUnsafeBytes(of: task) { [UInt8]($0) }), count: 1, frameLimit: channelFrameLimit)
        case .coded: try PoolJobs.payload([task][...], as: .coded, frameLimit: channelFrameLimit)
        }
        // One object carries the outcome to the future (decoded on the manager thread).
        try enqueue(Task.self, count: 1, format: format, payload: payload, for: future, timeout: timeout, sink: PoolTaskSink<Task>(future, willFinish: willFinish))
        return future
    }

    /// Schedules `tasks` as one chunk, run one after the other by one worker, and returns a
    /// future of their outcomes in order. If the worker dies during the chunk, the whole chunk
    /// fails (as Python's Pool fails a chunk). What `Pool` builds its maps on.
    func submitChunk<Task: ProcessTask>(_ tasks: [Task], timeout: Duration? = nil) throws -> Future<ChunkOutcomes<Task.Output>> {
        let future = Future<ChunkOutcomes<Task.Output>>()
        guard !tasks.isEmpty else {
            if (try? future.setRunningOrNotifyCancel()) ?? false { try? future.finish(.success(.values([])), by: nil) }
            return future
        }
        let format = try ChunkFormat.choose(for: tasks)
        let payload = try PoolJobs.payload(tasks[...], as: format, frameLimit: channelFrameLimit)
        let (describe, decode) = PoolJobs.closures(Task.self) { _, outcome, worker in try? future.finish(outcome, by: worker) }
        let sink = ClosureSink(start: { (try? future.setRunningOrNotifyCancel()) ?? false }, cancel: { _ = future.cancel() },
                               describe: describe, decode: decode)
        try enqueue(Task.self, count: tasks.count, format: format, payload: payload, for: future, timeout: timeout, sink: sink)
        return future
    }

    /// Schedules one chunk of `count` tasks, encoded in `payload`, whose outcome `sink` hands to
    /// `future`; cancelling a task that awaits the future stops the chunk even while it runs.
    private func enqueue<Task: ProcessTask, Value>(
        _: Task.Type, count: Int, format: ChunkFormat, payload: PoolPayload, for future: Future<Value>, timeout: Duration?,
        sink: any PoolJobSink
    ) throws {
        // The path of every `submit`: one chunk, without the arrays and tuples of a map (in code
        // not specialized for `Task`, each generic type costs a metadata lookup per call).
        let typeName = try PoolJobs.typeName(of: Task.self)
        let (id, needsWake) = try lock.withLock { () throws(ExecutorError) -> (UInt64, Bool) in
            nextID += 1
            let needsWake = try machine.submit(CollectionOfOne(PoolJob(
                id: nextID, index: 0, typeName: typeName, count: count, format: format, payload: payload,
                timeout: timeout, retriesLeft: maxRetries, sink: sink)))
            return (nextID, needsWake)
        }
        if needsWake { wake() }
        future.setInterruptHandler { [weak self] in self?.interrupt([id]) }
    }

    /// Schedules `tasks` cut into chunks of `size` (the last may be shorter), each chunk one job,
    /// all under one lock and with one wake-up: what a map does, without an array per chunk.
    /// `finish` gets each chunk's index, outcome and worker as it completes; `start` is asked
    /// before each chunk runs (false: it was cancelled, and is dropped). The chunks' indices
    /// start at `firstIndex` (a streaming map sends its chunks one call each). Returns the jobs'
    /// ids (for `interrupt`) and the bytes of their payloads.
    @discardableResult
    func enqueueChunks<Task: ProcessTask>(
        of tasks: [Task], size: Int, firstIndex: Int = 0, timeout: Duration?, start: @escaping @Sendable () -> Bool,
        cancel: @escaping @Sendable () -> Void,
        finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>, WorkerIdentity?) -> Void
    ) throws -> (ids: [UInt64], bytes: Int) {
        let size = max(1, size)
        guard !tasks.isEmpty else { return ([], 0) }
        let count = (tasks.count + size - 1) / size
        // The tasks of chunk `index` (never empty). Chunks are walked by index: in this code, not
        // specialized for `Task`, a sequence of slices (enumerated, mapped) costs metadata lookups
        // per chunk, a fifth of a map of one-task chunks before its first chunk went out.
        func chunk(_ index: Int) -> ArraySlice<Task> { tasks[index * size ..< min(index * size + size, tasks.count)] }
        let typeName = try PoolJobs.typeName(of: Task.self)
        // One format for the call (a type's format is fixed once known), and closures shared by
        // all its jobs: a map of 20k one-task chunks allocates nothing per chunk beyond its bytes.
        let format = try ChunkFormat.choose(for: [tasks[0]])
        // Every chunk encoded before any is queued (on every CPU for a large coded map): a task
        // that cannot be encoded fails the call with nothing run. Plain tasks need no encoding:
        // a large chunk of them is sent from `tasks` itself.
        let payloads = format == .raw ? try (0 ..< count).map { try PoolPayload(chunk($0), as: .raw) }
            : try ChunkPayloads.encode((0 ..< count).map(chunk), as: format).map(PoolPayload.init)
        var encoded: [(index: Int, count: Int, payload: PoolPayload)] = []
        encoded.reserveCapacity(count)
        for index in 0 ..< count {
            let chunkTasks = min(size, tasks.count - index * size)
            encoded.append((firstIndex + index, chunkTasks,
                            try PoolJobs.checked(payloads[index], count: chunkTasks, frameLimit: channelFrameLimit)))
        }
        let (describe, decode) = PoolJobs.closures(Task.self, finish: finish)
        let sink = ClosureSink(start: start, cancel: cancel, describe: describe, decode: decode)
        let (ids, needsWake) = try lock.withLock { () throws(ExecutorError) -> ([UInt64], Bool) in
            let firstID = nextID + 1
            // A collection (its count known: the queue makes room once), not an enumerated sequence.
            let needsWake = try machine.submit(encoded.indices.lazy.map { offset in
                let job = encoded[offset]
                return PoolJob(id: firstID + UInt64(offset), index: job.index, typeName: typeName, count: job.count, format: format,
                               payload: job.payload, timeout: timeout, retriesLeft: self.maxRetries, sink: sink)
            })
            nextID += UInt64(encoded.count)
            return (Array(firstID...nextID), needsWake)
        }
        if needsWake { wake() }
        return (ids, encoded.reduce(0) { $0 + $1.payload.count })
    }
}
