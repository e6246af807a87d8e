import MulticoreProcessing
import MulticoreThreading

/// One chunk of tasks on its way through the pool: its encoded tasks, its limits, and how its
/// outcome reaches its caller. Its closures are shared by all the chunks of one call.
struct PoolJob: Sendable {
    let id: UInt64
    /// The chunk's place in its call.
    let index: Int
    let typeName: String
    /// How many tasks the chunk holds.
    let count: Int
    /// The tasks of the chunk, as `PoolChunk` writes them in `format`.
    let format: ChunkFormat
    let payload: PoolPayload
    let timeout: Duration?
    /// Runs left for it if its worker dies.
    var retriesLeft: Int
    /// How many workers died while running it.
    var deaths = 0
    /// Marks the future running; false when it was cancelled (the task is then dropped).
    let start: @Sendable () -> Bool
    let cancel: @Sendable () -> Void
    let describe: @Sendable (PoolJob) -> String
    /// Decodes the worker's reply frame (the body after the chunk's id), or passes the error on,
    /// with the worker that ran it.
    let decode: @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void
    /// Whether `start` was called (the future is running).
    var marked = false

    /// The task, described (for errors).
    func summary() -> String { describe(self) }

    func finish(_ outcome: Result<[UInt8], any Error>, by worker: WorkerIdentity?) { decode(self, outcome, worker) }
}

/// How a call's tasks become jobs: their type's name, their encoding, and the closures that
/// describe a job and decode its reply.
enum PoolJobs {
    private static let typeNames = Locked<[ObjectIdentifier: String]>([:])

    /// A task type's mangled name, looked up once per type.
    static func typeName<Task: ProcessTask>(of type: Task.Type) throws(ProcessError) -> String {
        if let known = typeNames.withLock({ $0[ObjectIdentifier(type)] }) { return known }
        guard let name = _mangledTypeName(type) else { throw .taskNotFound("\(type)") }
        typeNames.withLock { $0[ObjectIdentifier(type)] = name }
        return name
    }

    /// `tasks` encoded as one chunk's payload in `format`, within what a frame of `frameLimit` carries.
    static func payload<Task: ProcessTask>(_ tasks: ArraySlice<Task>, as format: ChunkFormat, frameLimit: Int) throws -> PoolPayload {
        try checked(PoolPayload(tasks, as: format), count: tasks.count, frameLimit: frameLimit)
    }

    /// `payload`, the encoding of `count` tasks, if a frame of `frameLimit` carries it.
    /// - Throws: `WireError.oversizedFrame`.
    static func checked(_ payload: PoolPayload, count: Int, frameLimit: Int) throws(WireError) -> PoolPayload {
        let maximumPayload = PoolRequest.maximumPayload(frameLimit: frameLimit)
        guard payload.count <= maximumPayload, count <= Int(UInt32.max) else {
            throw .oversizedFrame(size: payload.count, limit: maximumPayload)
        }
        return payload
    }

    /// How a job of `Task`s is described (for errors) and how its reply is decoded and handed to
    /// `finish` with the job's index and the worker that ran it: made once per call, shared by its jobs.
    static func closures<Task: ProcessTask>(
        _: Task.Type, finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>, WorkerIdentity?) -> Void
    ) -> (describe: @Sendable (PoolJob) -> String, decode: @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void) {
        // Described only if it fails: reflection costs microseconds per task.
        let describe: @Sendable (PoolJob) -> String = { job in
            guard let first = try? PoolChunk.decode(Task.self, format: job.format, count: job.count, from: job.payload.bytes, at: 0).first else {
                return "a chunk of \(job.count) tasks of \(Task.self)"
            }
            let text = job.count == 1 ? String(describing: first) : "a chunk of \(job.count) tasks from \(first)"
            return String(text.prefix(160))
        }
        // On the manager thread, for every reply: no generic helpers (`flatMap`, `Result.init`),
        // which cost metadata lookups in this code, not specialized for `Task`.
        let decode: @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void = { job, outcome, worker in
            switch outcome {
            case .success(let frame):
                let decoded: Result<ChunkOutcomes<Task.Output>, any Error>
                do {
                    decoded = .success(try PoolReply.outcomes(Task.Output.self, count: job.count, from: frame,
                                                              at: WorkerMessage.replyBodyOffset))
                } catch {
                    decoded = .failure(error)
                }
                finish(job.index, decoded, worker)
            case .failure(let error):
                finish(job.index, .failure(error), worker)
            }
        }
        return (describe, decode)
    }
}
