import MulticoreProcessing
import MulticoreThreading

/// Where the outcome of one `submit` goes: its future, completed on the manager thread with
/// the task's one output. One object per task, in place of the closures a job once held.
///
/// Its methods run in code not specialized for `Task` (the task type is the caller's): they
/// use no type built on `Task.Output` (an array, a `Result`), each of which would cost a
/// runtime metadata lookup per task.
final class PoolTaskSink<Task: ProcessTask>: PoolJobSink {
    let future: Future<Task.Output>
    /// Told the outcome before the future is (`Pool.applyAsync`'s callbacks, which Python runs
    /// before its result is ready); nil for a plain submit, which then builds no `Result`.
    private let willFinish: (@Sendable (Result<Task.Output, any Error>) -> Void)?

    init(_ future: Future<Task.Output>, willFinish: (@Sendable (Result<Task.Output, any Error>) -> Void)? = nil) {
        self.future = future
        self.willFinish = willFinish
    }

    func start() -> Bool { (try? future.setRunningOrNotifyCancel()) ?? false }

    func cancel() { _ = future.cancel() }

    func describe(_ job: PoolJob) -> String { PoolJobs.describe(Task.self, job) }

    func finish(_ job: PoolJob, _ outcome: Result<[UInt8], any Error>, by worker: WorkerIdentity?) {
        switch outcome {
        case .failure(let error):
            finish(error: error, by: worker)
        case .success(let frame):
            if finishPlain(frame, by: worker) { return }
            do {
                switch try PoolReply.outcomes(Task.Output.self, count: 1, from: frame, at: WorkerMessage.replyBodyOffset) {
                case .values(let outputs) where outputs.count == 1:
                    finish(value: outputs[0], by: worker)
                case let outcomes:
                    if let value = try outcomes.allValues().first {
                        finish(value: value, by: worker)
                    } else {
                        finish(error: ProcessError.unreadableResult("an empty reply"), by: worker)
                    }
                }
            } catch {
                finish(error: error, by: worker)
            }
        }
    }

    /// The common reply, one plain output copied out of `frame` (what `PoolReply.running`
    /// writes for it: all values, raw, then its bytes); false, with nothing done, for any other.
    private func finishPlain(_ frame: [UInt8], by worker: WorkerIdentity?) -> Bool {
        let offset = WorkerMessage.replyBodyOffset, start = offset + PoolReply.valuesHeader.count
        guard frame.count > offset + 1, frame[offset] == PoolReply.allValues, frame[offset + 1] == ChunkFormat.raw.rawValue,
              PoolChunk.holdsOnePlain(Task.Output.self, frame, at: start) else { return false }
        finish(value: PoolChunk.plainValue(Task.Output.self, from: frame, at: start), by: worker)
        return true
    }

    private func finish(value: Task.Output, by worker: WorkerIdentity?) {
        if willFinish != nil { tellWillFinish(value) }
        try? future.finish(value: value, by: worker)
    }

    /// `willFinish(.success(value))`, unless the future is done. Apart from `finish(value:by:)`:
    /// there, the `Result`'s metadata was looked up at each call, with or without a `willFinish`.
    @inline(never)
    private func tellWillFinish(_ value: Task.Output) {
        if let willFinish, !future.isDone { willFinish(.success(value)) }
    }

    private func finish(error: any Error, by worker: WorkerIdentity?) {
        if let willFinish, !future.isDone { willFinish(.failure(error)) }
        try? future.finish(error: error, by: worker)
    }
}
