import MulticoreProcessing
import MulticoreThreading

/// What both sequences are made from: the tasks, the pool, and how many tasks (or chunks) may
/// be in flight.
@usableFromInline
struct PoolSource<Tasks: Sequence> where Tasks.Element: ProcessTask {
    let tasks: Tasks
    let executor: ProcessPoolExecutor
    let bufferSize: Int
    let taskTimeout: Duration?
    /// Tasks per chunk (`results(of:chunksize:)`); 1: each task on its own.
    let chunkSize: Int
    /// How chunks are read from the input (made where the input's type is known), or nil.
    let readChunk: LazyInput<Tasks.Iterator>.ChunkReader?

    func feed() -> PoolFeed<Tasks.Iterator> {
        PoolFeed(input: tasks.makeIterator(), executor: executor, bufferSize: bufferSize, taskTimeout: taskTimeout)
    }

    /// The chunks' window, for a `chunkSize` above 1.
    func chunks() -> PoolChunkFeed<Tasks.Iterator> {
        let (executor, taskTimeout) = (executor, taskTimeout)
        return PoolChunkFeed(ChunkWindow(input: tasks.makeIterator(), readChunk: readChunk, chunkSize: chunkSize,
                                         bufferSize: bufferSize) { chunk in try executor.submitChunk(chunk, timeout: taskTimeout) })
    }
}

/// The chunks of a chunked `results(of:)` in flight: a class, so that the work in flight is
/// stopped when the iteration is left.
@usableFromInline
final class PoolChunkFeed<Input: IteratorProtocol> where Input.Element: ProcessTask {
    @usableFromInline typealias Output = Input.Element.Output
    private var window: ChunkWindow<Input, Output>
    /// The iteration threw: it is over.
    private var ended = false

    init(_ window: ChunkWindow<Input, Output>) { self.window = window }

    deinit { window.cancelAll(stopRunning: true) }

    /// The next output once those in `ready` are taken: waits for the oldest chunk (its
    /// outcomes go to `ready`), reading more input as chunks are taken. A task's error ends the
    /// iteration, thrown; so does cancellation, which stops every chunk in flight.
    func next(into ready: inout ReadyOutputs<Output>, isolation actor: isolated (any Actor)?) async throws -> Output? {
        guard !ended else { return nil }
        do {
            while true {
                if let outcome = ready.nextOutcome() { return try outcome.get() }
                try window.fill()
                guard !window.isEmpty else { return nil }
                let entry = window.removeFirst()
                // What the cancellation handler stops: the chunks in flight (their futures are
                // Sendable, the window is not).
                let inFlight = [entry.future] + window.inFlight.map { $0.future }
                do {
                    let outcomes = try await withTaskCancellationHandler {
                        try await entry.future.value
                    } onCancel: {
                        for future in inFlight where !future.isDone { future.interrupt() }
                    }
                    ready.take(outcomes)
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    ready.fail(error, count: entry.count) // the chunk failed as a whole: its first task's error ends it
                }
            }
        } catch {
            ended = true
            window.cancelAll(stopRunning: true)
            throw error
        }
    }
}

/// What both sequences' iterators share: the input, read lazily, and the window of tasks in flight.
public struct PoolFeed<Input: IteratorProtocol> where Input.Element: ProcessTask {
    var input: LazyInput<Input>
    let executor: ProcessPoolExecutor
    let taskTimeout: Duration?
    let window = PoolWindow<Input.Element.Output>()
    var nextIndex = 0

    init(input: Input, executor: ProcessPoolExecutor, bufferSize: Int, taskTimeout: Duration?) {
        self.input = LazyInput(input, bufferSize: bufferSize)
        self.executor = executor
        self.taskTimeout = taskTimeout
    }

    /// Submits tasks until `bufferSize` are in flight or the input ends.
    mutating func fill() throws {
        let (window, executor, taskTimeout) = (window, executor, taskTimeout)
        var index = nextIndex
        defer { nextIndex = index } // also when a submit throws: the tasks before it are in flight
        try input.refill(inFlight: { window.count }) { task in
            window.append(index: index, future: try executor.submit(task, timeout: taskTimeout))
            index += 1
        }
    }
}

/// The futures in flight, in input order, and those done but not yet taken. When the
/// iteration ends early (its iterator is dropped), the work still in flight is stopped.
final class PoolWindow<Output: Sendable>: @unchecked Sendable { // all state is guarded by `lock`
    struct Entry {
        let index: Int
        let future: Future<Output>
    }

    private let lock = Lock()
    private var entries: [Entry] = []
    /// Entries done and not yet taken by `nextDone`, in completion order.
    private var done: [Int] = []
    private var waiter: CheckedContinuation<Void, any Error>?

    deinit { interruptAll() }

    var count: Int { lock.withLock { entries.count } }
    var isEmpty: Bool { lock.withLock { entries.isEmpty } }
    var first: Entry? { lock.withLock { entries.first } }

    func append(index: Int, future: Future<Output>) {
        lock.withLock { entries.append(Entry(index: index, future: future)) }
        future.addDoneCallback { [weak self] _ in self?.completed(index) }
    }

    func removeFirst() {
        lock.withLock {
            let index = entries.removeFirst().index
            done.removeAll { $0 == index }
        }
    }

    private func completed(_ index: Int) {
        let resume: CheckedContinuation<Void, any Error>? = lock.withLock {
            done.append(index)
            defer { waiter = nil }
            return waiter
        }
        resume?.resume()
    }

    /// Waits for the next entry to complete and takes it out of the window.
    func nextDone() async throws -> (index: Int, result: Result<Output, any Error>, worker: WorkerIdentity?) {
        while true {
            try Task.checkCancellation()
            if let entry = takeDone() {
                do {
                    return (entry.index, .success(try await entry.future.value), entry.future.worker) // done: no wait
                } catch {
                    return (entry.index, .failure(error), entry.future.worker)
                }
            }
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = lock.withLock { () -> Bool in
                    if !done.isEmpty || Task.isCancelled { return true }
                    waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    private func takeDone() -> Entry? {
        lock.withLock {
            guard !done.isEmpty else { return nil }
            let index = done.removeFirst()
            guard let position = entries.firstIndex(where: { $0.index == index }) else { return nil }
            return entries.remove(at: position)
        }
    }

    /// Stops everything in flight (cancelling pending work, stopping running work) and wakes
    /// a waiting `nextDone`, which then throws `CancellationError`.
    func interruptAll() {
        let (futures, resume): ([Future<Output>], CheckedContinuation<Void, any Error>?) = lock.withLock {
            defer { waiter = nil }
            return (entries.map(\.future), waiter)
        }
        for future in futures where !future.isDone { future.interrupt() }
        resume?.resume(throwing: CancellationError())
    }
}
