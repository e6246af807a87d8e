import MulticoreProcessing
import MulticoreThreading

/// One chunk of tasks on its way through the pool: its encoded tasks, its limits, and how its
/// outcome reaches its caller (its `sink`: one per `submit`, one shared by the chunks of a map).
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
    /// Where its outcome goes: one reference (a job is copied as it moves through the queue,
    /// a worker and the actions, and each closure it held was one more retain per copy).
    let sink: any PoolJobSink
    /// Whether `start` was called (the future is running).
    var marked = false

    init(id: UInt64, index: Int, typeName: String, count: Int, format: ChunkFormat, payload: PoolPayload, timeout: Duration?,
         retriesLeft: Int, sink: any PoolJobSink) {
        self.id = id
        self.index = index
        self.typeName = typeName
        self.count = count
        self.format = format
        self.payload = payload
        self.timeout = timeout
        self.retriesLeft = retriesLeft
        self.sink = sink
    }

    /// A job whose sink is these closures.
    init(id: UInt64, index: Int, typeName: String, count: Int, format: ChunkFormat, payload: PoolPayload, timeout: Duration?,
         retriesLeft: Int, start: @escaping @Sendable () -> Bool, cancel: @escaping @Sendable () -> Void,
         describe: @escaping @Sendable (PoolJob) -> String,
         decode: @escaping @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void) {
        self.init(id: id, index: index, typeName: typeName, count: count, format: format, payload: payload, timeout: timeout,
                  retriesLeft: retriesLeft, sink: ClosureSink(start: start, cancel: cancel, describe: describe, decode: decode))
    }

    /// Marks the future running; false when it was cancelled (the task is then dropped).
    func start() -> Bool { sink.start() }

    func cancel() { sink.cancel() }

    /// The task, described (for errors).
    func summary() -> String { sink.describe(self) }

    /// Decodes the worker's reply frame (the body after the chunk's id), or passes the error on,
    /// with the worker that ran it.
    func finish(_ outcome: Result<[UInt8], any Error>, by worker: WorkerIdentity?) { sink.finish(self, outcome, by: worker) }
}

/// Where a job's outcome goes, and how its future is marked running or cancelled.
protocol PoolJobSink: AnyObject, Sendable {
    /// Marks the future running; false when it was cancelled.
    func start() -> Bool
    func cancel()
    /// The job's task, described (for errors).
    func describe(_ job: PoolJob) -> String
    /// Decodes the worker's reply frame (the body after the chunk's id), or passes the error on.
    func finish(_ job: PoolJob, _ outcome: Result<[UInt8], any Error>, by worker: WorkerIdentity?)
}

/// A sink made of closures: what the chunks of one map share.
final class ClosureSink: PoolJobSink {
    private let startBody: @Sendable () -> Bool
    private let cancelBody: @Sendable () -> Void
    private let describeBody: @Sendable (PoolJob) -> String
    private let decode: @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void

    init(start: @escaping @Sendable () -> Bool, cancel: @escaping @Sendable () -> Void, describe: @escaping @Sendable (PoolJob) -> String,
         decode: @escaping @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void) {
        startBody = start
        cancelBody = cancel
        describeBody = describe
        self.decode = decode
    }

    func start() -> Bool { startBody() }
    func cancel() { cancelBody() }
    func describe(_ job: PoolJob) -> String { describeBody(job) }
    func finish(_ job: PoolJob, _ outcome: Result<[UInt8], any Error>, by worker: WorkerIdentity?) { decode(job, outcome, worker) }
}

/// How a call's tasks become jobs: their type's name, their encoding, and the closures that
/// describe a job and decode its reply.
enum PoolJobs {
    private static let typeNames = TypeFacts<String>()

    /// A task type's mangled name, looked up once per type.
    static func typeName<Task: ProcessTask>(of type: Task.Type) throws(ProcessError) -> String {
        if let known = typeNames.answer(for: type) { return known }
        guard let name = _mangledTypeName(type) else { throw .taskNotFound("\(type)") }
        typeNames.remember(name, for: type)
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

    /// A job of `Task`s, described (for errors): only if it fails, since reflection costs
    /// microseconds per task.
    static func describe<Task: ProcessTask>(_: Task.Type, _ job: PoolJob) -> String {
        guard let first = try? PoolChunk.decode(Task.self, format: job.format, count: job.count, from: job.payload.bytes, at: 0).first else {
            return "a chunk of \(job.count) tasks of \(Task.self)"
        }
        let text = job.count == 1 ? String(describing: first) : "a chunk of \(job.count) tasks from \(first)"
        return String(text.prefix(160))
    }

    /// How a job of `Task`s is described (for errors) and how its reply is decoded and handed to
    /// `finish` with the job's index and the worker that ran it: made once per call, shared by its jobs.
    static func closures<Task: ProcessTask>(
        _: Task.Type, finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>, WorkerIdentity?) -> Void
    ) -> (describe: @Sendable (PoolJob) -> String, decode: @Sendable (PoolJob, Result<[UInt8], any Error>, WorkerIdentity?) -> Void) {
        let describe: @Sendable (PoolJob) -> String = { job in Self.describe(Task.self, job) }
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
