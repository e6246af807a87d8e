import DequeModule
import Logging
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Runs closures on a pool of threads and returns a `Future` for each.
/// Corresponds to Python's `concurrent.futures.ThreadPoolExecutor`.
///
/// Workers start on demand, one per submission that finds no idle worker, up to `maxWorkers`.
/// `shutdown` (or releasing the executor, or process exit) lets queued work finish and the
/// workers leave. An initializer that throws breaks the pool: pending and later work fails
/// with `ExecutorError.broken`.
public final class ThreadPoolExecutor: Sendable {
    let core: ThreadPoolCore

    /// The most threads the pool will run. Python: `ThreadPoolExecutor._max_workers`.
    public var maxWorkers: Int { core.maxWorkers }

    private static let poolCounter = Atomic<Int>(0)

    /// Its worker threads, started on demand (Python: `ThreadPoolExecutor._threads`).
    public var threads: [JoinableThread] { core.snapshot.threads }

    /// How many submitted calls wait for a thread (a snapshot).
    public var queuedCount: Int { core.snapshot.queued }

    /// Creates a pool of at most `maxWorkers` threads (default: the number of CPUs plus 4, at
    /// most 32, as Python). Each worker runs `initializer` first.
    /// Corresponds to Python's `ThreadPoolExecutor(max_workers=None, thread_name_prefix='', initializer=None)`.
    /// - Throws: `ExecutorError.invalidMaxWorkers` when `maxWorkers` is not positive.
    /// - Parameter logger: what the pool logs (threads started and ended at debug; a failed
    ///   initializer, which breaks the pool, and a thread that could not start at notice), with
    ///   `pool` (the thread name prefix) and `thread` as metadata. nil (the default): silent.
    public init(maxWorkers: Int? = nil, threadNamePrefix: String = "",
                initializer: (@Sendable () throws -> Void)? = nil, logger: Logger? = nil) throws(ExecutorError) {
        let workers = maxWorkers ?? min(32, cpuCount() + 4)
        guard workers > 0 else { throw .invalidMaxWorkers }
        let prefix = threadNamePrefix.isEmpty
            ? "ThreadPoolExecutor-\(Self.poolCounter.wrappingAdd(1, ordering: .relaxed).oldValue)"
            : threadNamePrefix
        let core = ThreadPoolCore(maxWorkers: workers, namePrefix: prefix, initializer: initializer, logger: logger)
        self.core = core
        // Python's _python_exit: at process exit, let queued work finish before threads are joined.
        Threading.registerAtExit { [weak core] in core?.shutdown(wait: false, cancelFutures: false) }
    }

    deinit {
        core.shutdown(wait: false, cancelFutures: false)
    }

    /// Schedules `work` and returns its future. Corresponds to Python's
    /// `ThreadPoolExecutor.submit(fn, /, *args, **kwargs)`.
    /// - Throws: `ExecutorError.shutDown` after `shutdown`; `.broken` if an initializer failed.
    public func submit<T: Sendable>(_ work: @escaping @Sendable () throws -> T) throws(ExecutorError) -> Future<T> {
        let future = Future<T>()
        try core.enqueue(WorkItem(run: { worker in future.run(by: worker, work) }, cancel: { future.cancel() },
                                  fail: { try? future.setError($0) }))
        return future
    }

    /// Applies `transform` to every element of `input` in the pool and returns the results in
    /// input order. The input is read lazily: at most `bufferSize` (default: twice `maxWorkers`)
    /// calls are in flight, so an endless sequence works. Corresponds to Python's
    /// `Executor.map(fn, *iterables, timeout=None, buffersize=None)`.
    /// - Parameter timeout: the whole map must finish within it, counted from this call.
    public func map<S: Sequence, T: Sendable>(
        _ input: S, timeout: Duration? = nil, bufferSize: Int? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) -> MapResults<S.Iterator, T> where S.Element: Sendable {
        MapResults(input: input.makeIterator(), deadline: .after(timeout),
                   bufferSize: max(1, bufferSize ?? 2 * maxWorkers)) { element throws(ExecutorError) in
            try self.submit { try transform(element) }
        }
    }

    /// Stops accepting work. Queued work still runs unless `cancelFutures` is true, in which
    /// case every future not yet started is cancelled. With `wait`, returns once every worker has
    /// finished. Calling it again is harmless. Corresponds to Python's
    /// `Executor.shutdown(wait=True, *, cancel_futures=False)`.
    @available(*, noasync, message: "blocks the thread")
    public func shutdown(wait: Bool = true, cancelFutures: Bool = false) {
        core.shutdown(wait: wait, cancelFutures: cancelFutures)
    }
}

/// One submission: what to run, how to cancel it, how to fail it when the pool breaks.
struct WorkItem: Sendable {
    /// Runs the work on the worker thread named by its argument.
    let run: @Sendable (WorkerIdentity) -> Void
    let cancel: @Sendable () -> Void
    let fail: @Sendable (any Error) -> Void
}

/// The pool's state, owned by the workers as much as by the executor, so that releasing the
/// executor can shut it down.
final class ThreadPoolCore: @unchecked Sendable { // all mutable state is guarded by `mutex`
    let maxWorkers: Int
    private let namePrefix: String
    private let initializer: (@Sendable () throws -> Void)?
    private let logger: Logger?
    private let mutex = Lock()
    /// One token per idle worker told that work came, handed out after `mutex` is released.
    private let wakeups = WakeTokens()
    private var queue = Deque<WorkItem>()
    private var workers: [JoinableThread] = []
    /// Workers waiting for work and not yet promised an item.
    private var idle = 0
    private var isShutdown = false
    private var brokenReason: String?
    /// Workers started so far: numbers their names (workers that ended leave `workers`).
    private var started = 0

    /// What the pool is made of now: its state, its threads, the work not started.
    var snapshot: (state: String, threads: [JoinableThread], queued: Int) {
        mutex.withLock {
            (brokenReason != nil ? "broken" : isShutdown ? "shut down" : "running", workers, queue.count)
        }
    }

    init(maxWorkers: Int, namePrefix: String, initializer: (@Sendable () throws -> Void)?, logger: Logger?) {
        self.maxWorkers = maxWorkers
        self.namePrefix = namePrefix
        self.initializer = initializer
        self.logger = logger
    }

    func enqueue(_ item: WorkItem) throws(ExecutorError) {
        let (newWorker, wake) = try mutex.withLock { () throws(ExecutorError) -> (JoinableThread?, Bool) in
            if let brokenReason { throw .broken(brokenReason) }
            if isShutdown { throw .shutDown }
            queue.append(item)
            if idle > 0 {
                idle -= 1
                return (nil, true)
            }
            guard workers.count < maxWorkers else { return (nil, false) }
            let worker = JoinableThread(name: "\(namePrefix)_\(started)", daemon: false) { [self] in
                workerLoop()
            }
            started += 1
            workers.append(worker)
            return (worker, false)
        }
        if wake { wakeups.post() }
        if let newWorker {
            do {
                try newWorker.start()
            } catch {
                log(.notice, "thread could not start: \(error)", thread: newWorker.name)
                mutex.withLock { workers.removeAll { $0 === newWorker } }
                // The item stays queued for the workers there are; with none, fail it.
                if mutex.withLock({ workers.isEmpty }) { failQueued(with: .broken("\(error)")) }
            }
        }
    }

    private func workerLoop() {
        let me = WorkerIdentity(pid: getpid(), name: Threading.currentThread.name)
        log(.debug, "thread started", thread: me.name)
        defer { log(.debug, "thread ended", thread: me.name) }
        if let initializer {
            do {
                try initializer()
            } catch {
                log(.notice, "initializer failed, the pool is broken: \(error)", thread: me.name)
                initializerFailed(error)
                retire()
                return
            }
        }
        while let item = nextItem() {
            item.run(me)
        }
        retire()
    }

    /// `message` at `level`, with the pool's and the thread's names, if there is a logger.
    private func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, thread: String) {
        guard let logger, logger.logLevel <= level else { return }
        logger.log(level: level, message(), metadata: ["pool": .string(namePrefix), "thread": .string(thread)])
    }

    /// A worker leaving the pool drops the pool's reference to it: the pool and its workers
    /// reference each other until then, and the thread is released (and its OS thread
    /// reclaimed) once the last reference goes.
    private func retire() {
        let me = Threading.currentThread
        mutex.withLock { workers.removeAll { $0 === me } }
    }

    /// The next item, or nil when the pool is shut down (or broken) and the queue is empty.
    private func nextItem() -> WorkItem? {
        while true {
            let next = mutex.withLock { () -> WorkItem?? in
                if let item = queue.popFirst() { return .some(item) }
                if isShutdown || brokenReason != nil { return .some(nil) }
                idle += 1 // an enqueue (or the shutdown) hands this worker a token
                return nil
            }
            if let next { return next }
            // Woken for an item another worker may have taken first: then it waits again.
            wakeups.wait()
        }
    }

    private func initializerFailed(_ error: any Error) {
        let reason = "A thread initializer failed, the thread pool is not usable anymore (\(error))"
        let waiting = mutex.withLock {
            brokenReason = reason
            defer { idle = 0 }
            return idle
        }
        wakeups.post(waiting)
        failQueued(with: .broken(reason))
    }

    private func failQueued(with error: ExecutorError) {
        let items = mutex.withLock { () -> Deque<WorkItem> in
            defer { queue.removeAll() }
            return queue
        }
        for item in items { item.fail(error) }
    }

    func shutdown(wait: Bool, cancelFutures: Bool) {
        let (cancelled, toJoin, waiting) = mutex.withLock { () -> (Deque<WorkItem>, [JoinableThread], Int) in
            isShutdown = true
            var cancelled = Deque<WorkItem>()
            if cancelFutures { swap(&cancelled, &queue) }
            defer { idle = 0 }
            return (cancelled, workers, idle)
        }
        wakeups.post(waiting)
        for item in cancelled { item.cancel() }
        guard wait else { return }
        let me = Threading.currentThread
        for worker in toJoin where worker !== me {
            _ = try? worker.join() // cannot throw: started, and not the current thread
        }
    }
}

extension ThreadPoolExecutor: CustomStringConvertible {
    /// Its state, threads and queued calls: `<ThreadPoolExecutor state=running threads=2/4 queued=7>`.
    public var description: String {
        let (state, threads, queued) = core.snapshot
        return "<ThreadPoolExecutor state=\(state) threads=\(threads.count)/\(maxWorkers) queued=\(queued)>"
    }
}
