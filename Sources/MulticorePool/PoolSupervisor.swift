import CMulticore
import DequeModule
import MulticoreProcessing
import MulticoreThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process pool itself: its workers, its queue and the manager thread that runs them (see
/// `ProcessPoolExecutor`, the handle users hold, for what it does). The manager thread holds
/// this object, not the handle: when the last handle goes away, the pool shuts down.
final class PoolSupervisor: @unchecked Sendable { // all mutable state is guarded by `lock`
    /// The number of worker processes. Python: `_max_workers`.
    let maxWorkers: Int
    /// How the workers are started.
    let startMethod: StartMethod
    /// After this many tasks a worker exits and a fresh one replaces it (nil: never).
    /// Python: `max_tasks_per_child`.
    let maxTasksPerChild: Int?
    /// How long a worker stopped for a timeout has after SIGTERM before SIGKILL.
    let killGrace: Duration
    /// How many times a task whose worker died is run again, on another worker, before it
    /// fails with `PoolError.workerDied` (Ray's `max_retries`). Timeouts are not retried.
    let maxRetries: Int
    /// Run by each worker before its first task.
    private let initializer: PoolInitializer?
    /// The longest message on a worker's channel: a chunk's request (so its tasks, encoded) or
    /// reply (its outputs).
    let channelFrameLimit: Int
    /// 256 MiB: larger data goes through shared memory (`SharedArray`), not task by task.
    static let defaultChannelFrameLimit = 1 << 28

    let lock = Lock()
    private var pending = Deque<PoolJob>()
    private var workers: [PoolWorkerSlot] = []
    private var shuttingDown = false
    private var nextID: UInt64 = 0
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var manager: JoinableThread?
    /// No worker is started before this (CLOCK_MONOTONIC ns) after a start failed.
    private var nextSpawnAllowed: Int64 = 0
    /// How long to wait before starting a worker after the initializer failed: 50 ms, doubling
    /// up to 1 s with each failure in a row, back to 0 once a worker answers a task. Workers are
    /// only started for queued tasks while it fails, so a broken initializer never spins.
    private var initializerBackoff: Int64 = 0
    /// How long to wait before trying again after a worker could not be started: 100 ms,
    /// doubling up to 1 s with each failure in a row, back to 0 once one starts.
    private var startBackoff: Int64 = 0
    /// How long tasks take, on average (an exponential moving average of the time between a
    /// worker's results), which sets how many tasks a worker is given ahead.
    private var averageTaskNanoseconds: Int64 = 1_000_000_000

    /// `ProcessPoolExecutor.init`'s work, with the limit on a worker's messages (`channelFrameLimit`) chosen.
    init(maxWorkers: Int? = nil, startMethod: StartMethod? = nil, maxTasksPerChild: Int? = nil, maxRetries: Int = 0,
         killGrace: Duration = .seconds(1), initializer: (any ProcessTask)? = nil, channelFrameLimit: Int) throws {
        let count = maxWorkers ?? cpuCount()
        guard count > 0 else { throw ExecutorError.invalidMaxWorkers }
        if let maxTasksPerChild, maxTasksPerChild < 1 { throw PoolConfigurationError.invalidMaxTasksPerChild(maxTasksPerChild) }
        guard maxRetries >= 0 else { throw PoolConfigurationError.invalidMaxRetries(maxRetries) }
        let startMethod = startMethod ?? getStartMethod()
        guard startMethod != .fork else { throw PoolConfigurationError.forkStartMethod }
        self.initializer = try initializer.map { try PoolInitializer($0) }
        self.maxRetries = maxRetries
        self.maxWorkers = count
        self.startMethod = startMethod
        self.maxTasksPerChild = maxTasksPerChild
        self.killGrace = killGrace
        self.channelFrameLimit = channelFrameLimit
        var fds: [Int32] = [-1, -1]
        let result = mc_pipe_cloexec(&fds)
        guard result == 0 else { throw ProcessError.spawnFailed(errno: result) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, O_NONBLOCK)
        _ = fcntl(wakeWrite, F_SETFL, O_NONBLOCK)
        // The manager keeps the pool alive until `shutdown` has drained it.
        let thread = JoinableThread(name: "mc-pool-manager", daemon: true) { self.manage() }
        manager = thread
        try thread.start()
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Schedules `task` on a worker and returns its future. Python: `submit(fn, *args)`.
    /// - Parameter timeout: how long the task may run once a worker has started it.
    /// - Throws: `ExecutorError.shutDown` after `shutdown`; the task's encoding error.
    func submit<Task: ProcessTask>(_ task: Task, timeout: Duration? = nil) throws -> Future<Task.Output> {
        let future = Future<Task.Output>()
        try enqueue([task], for: future, timeout: timeout, start: { (try? future.setRunningOrNotifyCancel()) ?? false },
                    cancel: { _ = future.cancel() }) { outcome in
            switch outcome.flatMap({ outcomes in Result { try outcomes.allValues() } }) {
            case .success(let outputs):
                if let output = outputs.first { try? future.setResult(output) } else {
                    try? future.setError(ProcessError.unreadableResult("an empty reply"))
                }
            case .failure(let error):
                try? future.setError(error)
            }
        }
        return future
    }

    /// Schedules `tasks` as one chunk, run one after the other by one worker, and returns a
    /// future of their outcomes in order. If the worker dies during the chunk, the whole chunk
    /// fails (as Python's Pool fails a chunk). What `Pool` builds its maps on.
    func submitChunk<Task: ProcessTask>(_ tasks: [Task], timeout: Duration? = nil) throws -> Future<ChunkOutcomes<Task.Output>> {
        let future = Future<ChunkOutcomes<Task.Output>>()
        try enqueue(tasks, for: future, timeout: timeout, start: { (try? future.setRunningOrNotifyCancel()) ?? false },
                    cancel: { _ = future.cancel() }) { outcome in
            switch outcome {
            case .success(let outcomes): try? future.setResult(outcomes)
            case .failure(let error): try? future.setError(error)
            }
        }
        return future
    }

    /// Schedules one chunk whose outcome completes `future`; cancelling a task that awaits the
    /// future stops the chunk even while it runs.
    private func enqueue<Task: ProcessTask, Value>(
        _ tasks: [Task], for future: Future<Value>, timeout: Duration?, start: @escaping @Sendable () -> Bool,
        cancel: @escaping @Sendable () -> Void, finish: @escaping @Sendable (Result<ChunkOutcomes<Task.Output>, any Error>) -> Void
    ) throws {
        // The path of every `submit`: one chunk, without the arrays and tuples of a map (in code
        // not specialized for `Task`, each generic type costs a metadata lookup per call).
        guard !tasks.isEmpty else {
            if start() { finish(.success(.values([]))) }
            return
        }
        let typeName = try Self.typeName(of: Task.self)
        let format = try ChunkFormat.choose(for: tasks)
        var payload: [UInt8] = []
        try PoolChunk.append(tasks[...], as: format, to: &payload)
        let maximumPayload = PoolRequest.maximumPayload(frameLimit: channelFrameLimit)
        guard payload.count <= maximumPayload else { throw WireError.oversizedFrame(size: payload.count, limit: maximumPayload) }
        let (describe, decode) = Self.jobClosures(Task.self) { _, outcome in finish(outcome) }
        let id = try lock.withLock { () throws(ExecutorError) -> UInt64 in
            guard !shuttingDown else { throw .shutDown }
            nextID += 1
            pending.append(PoolJob(
                id: nextID, index: 0, typeName: typeName, count: tasks.count, format: format, payload: payload,
                timeout: timeout, retriesLeft: maxRetries, start: start, cancel: cancel, describe: describe, decode: decode))
            return nextID
        }
        wake()
        future.setInterruptHandler { [weak self] in self?.interrupt([id]) }
    }

    /// How a job of `Task`s is described (for errors) and how its reply is decoded and handed to
    /// `finish` with the job's index: made once per call, shared by its jobs.
    private static func jobClosures<Task: ProcessTask>(
        _: Task.Type, finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>) -> Void
    ) -> (describe: @Sendable (PoolJob) -> String, decode: @Sendable (PoolJob, Result<[UInt8], any Error>) -> Void) {
        // Described only if it fails: reflection costs microseconds per task.
        let describe: @Sendable (PoolJob) -> String = { job in
            guard let first = try? PoolChunk.decode(Task.self, format: job.format, count: job.count, from: job.payload, at: 0).first else {
                return "a chunk of \(job.count) tasks of \(Task.self)"
            }
            let text = job.count == 1 ? String(describing: first) : "a chunk of \(job.count) tasks from \(first)"
            return String(text.prefix(160))
        }
        let decode: @Sendable (PoolJob, Result<[UInt8], any Error>) -> Void = { job, outcome in
            switch outcome {
            case .success(let frame):
                do {
                    finish(job.index, .success(try PoolReply.outcomes(Task.Output.self, count: job.count, from: frame, at: PoolJob.replyOffset)))
                } catch {
                    finish(job.index, .failure(error))
                }
            case .failure(let error):
                finish(job.index, .failure(error))
            }
        }
        return (describe, decode)
    }

    /// Schedules `tasks` cut into chunks of `size` (the last may be shorter), each chunk one job,
    /// all under one lock and with one wake-up: what a map does, without an array per chunk.
    /// `finish` gets each chunk's index and outcome as it completes; `start` is asked before
    /// each chunk runs (false: it was cancelled, and is dropped). Returns the jobs' ids (for
    /// `interrupt`).
    @discardableResult
    func enqueueChunks<Task: ProcessTask>(
        of tasks: [Task], size: Int, timeout: Duration?, start: @escaping @Sendable () -> Bool, cancel: @escaping @Sendable () -> Void,
        finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>) -> Void
    ) throws -> [UInt64] {
        let size = max(1, size)
        let chunks = stride(from: 0, to: tasks.count, by: size).map { tasks[$0 ..< min($0 + size, tasks.count)] }
        return try enqueueChunks(chunks, timeout: timeout, start: start, cancel: cancel, finish: finish)
    }

    private func enqueueChunks<Task: ProcessTask>(
        _ chunks: [ArraySlice<Task>], timeout: Duration?, start: @escaping @Sendable () -> Bool, cancel: @escaping @Sendable () -> Void,
        finish: @escaping @Sendable (Int, Result<ChunkOutcomes<Task.Output>, any Error>) -> Void
    ) throws -> [UInt64] {
        let typeName = try Self.typeName(of: Task.self)
        // One format for the call (a type's format is fixed once known), and closures shared by
        // all its jobs: a map of 20k one-task chunks allocates nothing per chunk beyond its bytes.
        let format = try chunks.first(where: { !$0.isEmpty }).map { try ChunkFormat.choose(for: Array($0.prefix(1))) } ?? .coded
        var jobs: [(index: Int, count: Int, payload: [UInt8])] = []
        jobs.reserveCapacity(chunks.count)
        let payloads = try ChunkPayloads.encode(chunks, as: format)
        for (index, tasks) in chunks.enumerated() {
            guard !tasks.isEmpty else {
                if start() { finish(index, .success(.values([]))) }
                continue
            }
            let payload = payloads[index]
            let maximumPayload = PoolRequest.maximumPayload(frameLimit: channelFrameLimit)
            guard payload.count <= maximumPayload, tasks.count <= Int(UInt32.max) else {
                throw WireError.oversizedFrame(size: payload.count, limit: maximumPayload)
            }
            jobs.append((index, tasks.count, payload))
        }
        guard !jobs.isEmpty else { return [] }
        let (describe, decode) = Self.jobClosures(Task.self, finish: finish)
        let ids = try lock.withLock { () throws(ExecutorError) -> [UInt64] in
            guard !shuttingDown else { throw .shutDown }
            let firstID = nextID + 1
            for job in jobs {
                nextID += 1
                pending.append(PoolJob(
                    id: nextID, index: job.index, typeName: typeName, count: job.count, format: format, payload: job.payload,
                    timeout: timeout, retriesLeft: maxRetries, start: start, cancel: cancel, describe: describe, decode: decode))
            }
            return Array(firstID...nextID)
        }
        wake()
        return ids
    }

    /// Stops the jobs `ids` wherever they are: a queued one is dropped, one given to a worker
    /// but not started is taken back, and a running one's worker is stopped (SIGTERM, then
    /// SIGKILL after `killGrace`) and replaced. Each fails with `CancellationError`; a job already
    /// done is left as it is. What cancelling the Swift task that awaits its result does.
    func interrupt(_ ids: [UInt64]) {
        guard !ids.isEmpty else { return }
        let wanted = Set(ids)
        let stopped: [PoolJob] = lock.withLock {
            var stopped: [PoolJob] = []
            pending.removeAll { job in
                guard wanted.contains(job.id) else { return false }
                stopped.append(job)
                return true
            }
            for slot in workers {
                guard let head = slot.jobs.first else { continue }
                // The running one first: its worker is stopped, and the jobs behind it come back.
                if wanted.contains(head.id), slot.killStarted == nil {
                    stop(slot)
                    slot.abandonedJob = head
                    stopped.append(head)
                }
                let given = slot.jobs.dropFirst()
                stopped += given.filter { wanted.contains($0.id) }
                // Not started: its reply, if one comes, is not for the head and is ignored.
                slot.jobs = [head] + given.filter { !wanted.contains($0.id) }
            }
            return stopped
        }
        for job in stopped { job.finish(.failure(CancellationError())) }
        wake()
    }

    /// Under the lock: SIGTERM to the worker, which takes no more jobs; SIGKILL follows after
    /// `killGrace` (in `enforceTimeouts`); its exit is reaped like any other.
    private func stop(_ slot: PoolWorkerSlot) {
        slot.killStarted = mc_monotonic_ns()
        slot.stopping = true
        try? slot.process.terminate()
    }

    private static let typeNames = Locked<[ObjectIdentifier: String]>([:])

    /// A task type's mangled name, looked up once per type.
    static func typeName<Task: ProcessTask>(of type: Task.Type) throws(ProcessError) -> String {
        if let known = typeNames.withLock({ $0[ObjectIdentifier(type)] }) { return known }
        guard let name = _mangledTypeName(type) else { throw .taskNotFound("\(type)") }
        typeNames.withLock { $0[ObjectIdentifier(type)] = name }
        return name
    }

    /// Stops taking tasks; with `cancelFutures`, cancels those not started; with `wait`, returns
    /// once every started task is done and the workers have exited. Python:
    /// `shutdown(wait=True, cancel_futures=False)`. Calling it again is harmless.
    @available(*, noasync, message: "blocks the thread while the pool drains")
    func shutdown(wait: Bool = true, cancelFutures: Bool = false) {
        let cancelled: [PoolJob] = lock.withLock {
            shuttingDown = true
            guard cancelFutures else { return [] }
            defer { pending.removeAll() }
            return Array(pending)
        }
        for job in cancelled { job.cancel() }
        wake()
        if wait, let manager = lock.withLock({ self.manager }), manager.ident != Threading.getIdent() {
            _ = try? manager.join()
        }
    }

    /// Stops now: tasks not started are cancelled, and every worker gets SIGTERM (its running
    /// task fails with `PoolError.workerDied`); returns without waiting (`shutdown(wait:)` waits).
    func terminate() {
        let (cancelled, running): ([PoolJob], [PoolWorkerSlot]) = lock.withLock {
            shuttingDown = true
            defer { pending.removeAll() }
            return (Array(pending), workers)
        }
        for job in cancelled { job.cancel() }
        for slot in running { try? slot.process.terminate() }
        wake()
    }

    /// The pids of the workers alive now (for tests and monitoring).
    var workerPIDs: [Int32] { lock.withLock { workers.compactMap(\.process.pid) } }

    /// Set while the manager sleeps in `poll`: a submit writes to the wake pipe only then, so
    /// that a burst of submits costs the manager one wake-up, and goes out in batches.
    private let managerAsleep = Atomic<Bool>(false)

    private func wake() {
        guard managerAsleep.exchange(false, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: The manager thread

    private func manage() {
        while true {
            guard let plan = lock.withLock({ prepare() }) else { break }
            for _ in 0..<plan.spawn { if !startWorker() { break } }
            if plan.spawn > 0 { continue } // dispatch to the new workers first
            var entries = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for slot in plan.watched {
                let (events, failed) = lock.withLock { (Int16(POLLIN) | (slot.outbox.isEmpty ? 0 : Int16(POLLOUT)), slot.receiveFailed) }
                // A channel that failed is not watched (it may stay readable): the worker's exit is.
                entries.append(pollfd(fd: failed ? -1 : slot.connection.fileDescriptor, events: events, revents: 0))
                entries.append(pollfd(fd: slot.exitDescriptor, events: Int16(POLLIN), revents: 0))
            }
            // Announce the sleep, then look once more for work that came meanwhile (and for a
            // shutdown: one whose wake() came before the announcement wrote nothing).
            managerAsleep.store(true, ordering: .sequentiallyConsistent)
            let more = lock.withLock {
                shuttingDown != plan.shuttingDown
                    || (!pending.isEmpty && workers.contains { !$0.stopping && $0.killStarted == nil && $0.jobs.count < 2 })
            }
            // A worker whose exit no descriptor announces (no pidfd could be had) is looked at every 10 ms.
            let unwatched = plan.watched.contains { $0.exitDescriptor < 0 }
            let milliseconds = unwatched ? (plan.pollMilliseconds < 0 ? 10 : min(plan.pollMilliseconds, 10)) : plan.pollMilliseconds
            let ready = more ? 0 : poll(&entries, nfds_t(entries.count), milliseconds)
            managerAsleep.store(false, ordering: .sequentiallyConsistent)
            if ready < 0, errno != EINTR { break }
            if entries[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &sink, sink.count) > 0 {}
            }
            for (index, slot) in plan.watched.enumerated() {
                let revents = entries[1 + 2 * index].revents
                if revents & Int16(POLLOUT) != 0 { lock.withLock { flush(slot) } }
                if revents & ~Int16(POLLOUT) != 0 { collectResults(slot) }
                if entries[2 + 2 * index].revents != 0 || (slot.exitDescriptor < 0 && (try? slot.process.isAlive) != true) { reap(slot) }
            }
            let overdue = lock.withLock { enforceTimeouts() }
            for (job, timeout) in overdue { job.finish(.failure(PoolError.timedOut(after: timeout, task: job.summary()))) }
        }
        // Drained: every worker is told to stop and is waited for, within bounds: one that does
        // not stop in 5 s is killed; one whose end is not seen 5 s later is left to the daemon
        // rule (terminated at exit), never waited for forever.
        let remaining = lock.withLock { workers }
        for slot in remaining {
            var stop: [UInt8] = []
            PoolRequest.stop.appendFrame(to: &stop)
            _ = try? slot.connection.writeAvailable(stop[...])
        }
        for slot in remaining {
            if (try? slot.process.join(timeout: .seconds(5))) != true {
                try? slot.process.kill()
                _ = try? slot.process.join(timeout: .seconds(5))
            }
            slot.connection.close()
        }
        lock.withLock { workers.removeAll() }
    }

    private struct Plan {
        var spawn = 0
        var watched: [PoolWorkerSlot] = []
        var pollMilliseconds: Int32 = -1
        /// Whether the pool was shutting down when the plan was made.
        var shuttingDown = false
    }

    /// Under the lock: how many workers to start, dispatch, what to watch, how long to sleep;
    /// nil once shut down and drained.
    private func prepare() -> Plan? {
        let busy = workers.contains { !$0.jobs.isEmpty }
        if shuttingDown, pending.isEmpty, !busy { return nil }
        var plan = Plan(shuttingDown: shuttingDown)
        let alive = workers.filter { !$0.stopping }.count
        let now = mc_monotonic_ns()
        let wanted = !(shuttingDown && pending.isEmpty) && !(initializerBackoff > 0 && pending.isEmpty)
        if alive < maxWorkers, wanted, now >= nextSpawnAllowed {
            plan.spawn = maxWorkers - alive
            return plan
        }
        dispatch()
        plan.watched = workers
        plan.pollMilliseconds = nextWakeMilliseconds()
        if alive < maxWorkers, wanted {
            let retry = Int32(clamping: max(1, (nextSpawnAllowed - now) / 1_000_000))
            plan.pollMilliseconds = plan.pollMilliseconds < 0 ? retry : min(plan.pollMilliseconds, retry)
        }
        return plan
    }

    /// Hands pending tasks to workers, round robin, each up to its prefetch depth, one write per
    /// worker. Short tasks get a deep prefetch (a worker never waits for the manager); long ones
    /// a shallow one, so that a free worker can take the next task.
    private func dispatch() {
        let depth = averageTaskNanoseconds < 50_000 ? 64 : averageTaskNanoseconds < 200_000 ? 32 : averageTaskNanoseconds < 5_000_000 ? 4 : 2
        // A worker is topped up once it is down to half its depth: fewer, larger batches.
        let open = workers.filter { !$0.stopping && $0.killStarted == nil && $0.jobs.count <= depth / 2 }
        var written = Set<ObjectIdentifier>()
        var progress = true
        while progress, !pending.isEmpty {
            progress = false
            for slot in open where slot.jobs.count < depth {
                guard var job = pending.popFirst() else { break }
                // Its future is marked running once: a job back from a dead worker already is.
                if !job.marked {
                    guard job.start() else { progress = true; continue } // cancelled meanwhile
                    job.marked = true
                }
                if slot.jobs.isEmpty { slot.headStarted = mc_monotonic_ns() }
                slot.jobs.append(job)
                let index = typeIndex(job.typeName)
                if slot.definedTypes.insert(index).inserted {
                    PoolRequest.define(index: index, typeName: job.typeName).appendFrame(to: &slot.outbox)
                }
                PoolRequest.run(id: job.id, type: index, count: UInt32(job.count), format: job.format, payload: job.payload)
                    .appendFrame(to: &slot.outbox)
                written.insert(ObjectIdentifier(slot))
                progress = true
            }
        }
        // One write per worker for the whole batch. A worker that cannot take it is dying: its
        // exit is seen, and these jobs, not started, go back to the queue then.
        for slot in open where written.contains(ObjectIdentifier(slot)) { flush(slot) }
    }

    /// Task types by the index workers know them by. Under the lock.
    private var typeIndices: [String: UInt32] = [:]

    private func typeIndex(_ name: String) -> UInt32 {
        if let index = typeIndices[name] { return index }
        let index = UInt32(typeIndices.count)
        typeIndices[name] = index
        return index
    }

    /// Under the lock: writes what the worker's socket takes now of its outbox, never blocking
    /// (a worker busy sending a large reply is not reading; blocking here would deadlock both).
    /// The rest goes when the socket is writable again (the manager polls for it).
    private func flush(_ slot: PoolWorkerSlot) {
        guard !slot.outbox.isEmpty else { return }
        guard let written = try? slot.connection.writeAvailable(slot.outbox[...]) else {
            slot.outbox.removeAll() // the worker is gone: its exit is seen, its jobs go back or fail
            return
        }
        slot.outbox.removeFirst(written)
    }

    /// Starts a worker; false when none could be started (the back-off is then set).
    private func startWorker() -> Bool {
        let process: ChildProcess<PoolWorker>
        let near: Connection
        do {
            let (parentEnd, far) = try Connection.pipe(maxFrameSize: channelFrameLimit)
            defer { far.close() }
            process = ChildProcess(task: PoolWorker(channel: far, initializer: initializer), name: nil, daemon: true,
                                   startMethod: startMethod)
            try process.start()
            near = parentEnd
        } catch {
            // None could be started now (no descriptor, no process): try again after a back-off
            // growing from 100 ms to 1 s, never in a loop. With no worker running, the queued
            // tasks cannot wait for one: they fail, saying why.
            let stranded: [PoolJob] = lock.withLock {
                startBackoff = min(1_000_000_000, max(100_000_000, startBackoff * 2))
                nextSpawnAllowed = mc_monotonic_ns() + startBackoff
                guard !workers.contains(where: { !$0.stopping }) else { return [] }
                defer { pending.removeAll() }
                return Array(pending)
            }
            let failure = PoolError.cannotStartWorker(reason: "\(error)")
            for job in stranded { job.finish(.failure(failure)) }
            return false
        }
        let slot = PoolWorkerSlot(process: process, connection: near, exitDescriptor: process.exitFileDescriptor)
        lock.withLock {
            startBackoff = 0
            workers.append(slot)
        }
        return true
    }

    /// Takes every reply that has arrived whole from `slot`'s worker, never waiting for more.
    private func collectResults(_ slot: PoolWorkerSlot) {
        guard !lock.withLock({ slot.receiveFailed }) else { return }
        while true {
            let frame: [UInt8]
            do {
                guard let next = try slot.connection.receiveAvailable() else { return }
                frame = next
            } catch {
                receiveFailed(slot, error)
                return
            }
            guard frame.count >= PoolJob.replyOffset else {
                receiveFailed(slot, WireError.corrupt(offset: 0, reason: "a reply of \(frame.count) byte(s), too short for a chunk id"))
                return
            }
            let id = frame.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            // Id 0 reports the initializer, before any task: from anything else it would fail the whole queue.
            if id == 0, initializer == nil || lock.withLock({ slot.tasksDone > 0 }) {
                receiveFailed(slot, WireError.corrupt(offset: 0, reason: "a frame with id 0 (an initializer's report) when no initializer was running"))
                return
            }
            if id == 0 { // the initializer failed; the worker exits, and `reap` fails its tasks with this
                let reply = try? WorkerReply(wireBytes: Array(frame[8...]))
                let pid = slot.process.pid ?? 0
                let error: PoolError = switch reply {
                case .failure(let type, let message)?, .codedFailure(let type, let message, _, _)?:
                    .initializerFailed(pid: pid, type: type, message: message)
                case .unknownTask(let name)?: .initializerFailed(pid: pid, type: "", message: "no task type named \(name)")
                case .value?, nil: .initializerFailed(pid: pid, type: "", message: "an unreadable report")
                }
                lock.withLock { slot.initializerError = error; slot.stopping = true }
                continue
            }
            let finished: PoolJob? = lock.withLock {
                guard let head = slot.jobs.first, head.id == id else { return nil }
                slot.jobs.removeFirst()
                let now = mc_monotonic_ns()
                let perTask = (now - slot.headStarted) / Int64(max(1, head.count))
                averageTaskNanoseconds = (averageTaskNanoseconds * 7 + perTask) / 8
                slot.headStarted = now
                slot.tasksDone += head.count
                initializerBackoff = 0
                if let limit = maxTasksPerChild, slot.tasksDone >= limit, !slot.stopping {
                    slot.stopping = true
                    PoolRequest.stop.appendFrame(to: &slot.outbox)
                    flush(slot)
                }
                return head
            }
            finished?.finish(.success(frame)) // decoded by the job, which knows its output type
        }
    }

    /// Reading from `slot`'s worker failed: it can never answer again, so its channel is no
    /// longer read. A protocol error means the worker is alive but cannot be trusted: it is
    /// killed, and `reap` fails (or retries) its running task with `PoolError.protocolError`.
    /// End-of-file (the worker is ending, or closed its channel) is an ordinary death, but one
    /// that holds tasks is killed too: it could no longer answer for them.
    private func receiveFailed(_ slot: PoolWorkerSlot, _ error: any Error) {
        let ended = switch error {
        case ConnectionError.endOfFile, ConnectionError.truncatedMessage: true
        default: false
        }
        lock.withLock {
            slot.receiveFailed = true
            slot.stopping = true
            if !ended { slot.protocolError = String(describing: error) }
            guard !ended || !slot.jobs.isEmpty, !slot.killed else { return }
            slot.killStarted = slot.killStarted ?? mc_monotonic_ns()
            slot.killed = true
            try? slot.process.kill()
        }
    }

    private func reap(_ slot: PoolWorkerSlot) {
        collectResults(slot) // what it sent before it ended counts
        _ = try? slot.process.join(timeout: .seconds(5))
        let code = (try? slot.process.exitCode) ?? -SIGKILL
        let pid = slot.process.pid ?? 0
        // Its initializer failed: what it held and what is queued fail with that error.
        let failedToStart: [PoolJob]? = lock.withLock {
            guard slot.initializerError != nil else { return nil }
            workers.removeAll { $0 === slot }
            defer { slot.jobs.removeAll(); pending.removeAll() }
            initializerBackoff = min(1_000_000_000, max(50_000_000, initializerBackoff * 2))
            nextSpawnAllowed = mc_monotonic_ns() + initializerBackoff
            return Array(slot.jobs) + Array(pending)
        }
        if let failedToStart, let error = slot.initializerError {
            slot.connection.close()
            _ = try? slot.process.close()
            for job in failedToStart { job.finish(.failure(error)) }
            return
        }
        // The first job was running: it fails. The others had not started: back in the queue.
        let (lost, protocolError): (PoolJob?, String?) = lock.withLock {
            workers.removeAll { $0 === slot }
            var jobs = slot.jobs
            slot.jobs.removeAll()
            var running = jobs.popFirst()
            for job in jobs.reversed() { pending.prepend(job) }
            if slot.abandonedJob != nil { return (nil, nil) } // failed already (timed out, or interrupted)
            running?.deaths += 1
            if var retried = running, retried.retriesLeft > 0 {
                retried.retriesLeft -= 1
                pending.prepend(retried)
                running = nil
            }
            return (running, slot.protocolError)
        }
        slot.connection.close()
        _ = try? slot.process.close()
        if let running = lost {
            running.finish(.failure(protocolError.map {
                PoolError.protocolError(pid: pid, reason: $0, task: running.summary(), attempts: running.deaths)
            } ?? PoolError.workerDied(pid: pid, exitCode: code, task: running.summary(), attempts: running.deaths)))
        }
    }

    /// Under the lock: stops the workers of running tasks past their timeout, and returns those
    /// tasks, to be failed once the lock is released (their callbacks may call the pool).
    private func enforceTimeouts() -> [(PoolJob, Duration)] {
        var overdue: [(PoolJob, Duration)] = []
        let now = mc_monotonic_ns()
        for slot in workers {
            if let started = slot.killStarted {
                if now - started >= killGrace.nanosecondsForPool, !slot.killed {
                    slot.killed = true
                    try? slot.process.kill()
                }
                continue
            }
            guard let head = slot.jobs.first, let timeout = head.timeout else { continue }
            if now - slot.headStarted >= timeout.nanosecondsForPool {
                slot.abandonedJob = head
                stop(slot)
                overdue.append((head, timeout))
            }
        }
        return overdue
    }

    /// Milliseconds until the next deadline (a task's timeout, a kill's grace), or -1.
    private func nextWakeMilliseconds() -> Int32 {
        let now = mc_monotonic_ns()
        var earliest: Int64?
        for slot in workers {
            var due: Int64?
            if let started = slot.killStarted, !slot.killed {
                due = started + killGrace.nanosecondsForPool
            } else if slot.killStarted == nil, let timeout = slot.jobs.first?.timeout {
                due = slot.headStarted + timeout.nanosecondsForPool
            }
            if let due { earliest = min(earliest ?? due, due) }
        }
        guard let earliest else { return -1 }
        return Int32(clamping: max(0, (earliest - now + 999_999) / 1_000_000))
    }
}

/// One chunk of tasks on its way through the pool. Its closures are shared by all the chunks of
/// one call (`enqueueChunks`).
struct PoolJob: Sendable {
    let id: UInt64
    /// The chunk's place in its call.
    let index: Int
    let typeName: String
    /// How many tasks the chunk holds.
    let count: Int
    /// The tasks of the chunk, as `PoolChunk` writes them in `format`.
    let format: ChunkFormat
    let payload: [UInt8]
    let timeout: Duration?
    /// Runs left for it if its worker dies.
    var retriesLeft: Int
    /// How many workers died while running it.
    var deaths = 0
    /// Marks the future running; false when it was cancelled (the task is then dropped).
    let start: @Sendable () -> Bool
    let cancel: @Sendable () -> Void
    let describe: @Sendable (PoolJob) -> String
    /// Decodes the worker's reply frame (the body after the chunk's id), or passes the error on.
    let decode: @Sendable (PoolJob, Result<[UInt8], any Error>) -> Void
    /// Whether `start` was called (the future is running).
    var marked = false

    /// Where a reply frame's body starts, after the chunk's id.
    static let replyOffset = 8

    /// The task, described (for errors).
    func summary() -> String { describe(self) }

    func finish(_ outcome: Result<[UInt8], any Error>) { decode(self, outcome) }
}

/// A worker process and what the pool gave it. Guarded by the pool's lock.
final class PoolWorkerSlot: @unchecked Sendable { // every field is guarded by the owning pool's lock
    let process: ChildProcess<PoolWorker>
    let connection: Connection
    let exitDescriptor: Int32
    /// In flight, in the order sent: the first is running.
    var jobs = Deque<PoolJob>()
    /// When the first job started (CLOCK_MONOTONIC ns).
    var headStarted: Int64 = 0
    var tasksDone = 0
    /// The task types this worker has been told about.
    var definedTypes = Set<UInt32>()
    /// Request frames not written yet (the worker's socket was full).
    var outbox: [UInt8] = []
    /// Told to stop (max tasks reached, or stopped for a timeout): gets no more tasks.
    var stopping = false
    /// When SIGTERM was sent for a timeout; `killed` once SIGKILL followed (or was sent at
    /// once, for a protocol error).
    var killStarted: Int64?
    var killed = false
    /// Reading its channel failed: it is no longer read (`protocolError` says why, unless it
    /// was end-of-file).
    var receiveFailed = false
    var protocolError: String?
    /// The running job already failed (timed out, or interrupted), so its worker's death does
    /// not fail it twice.
    var abandonedJob: PoolJob?
    /// Set when the worker's initializer failed (it then exits).
    var initializerError: PoolError?

    init(process: ChildProcess<PoolWorker>, connection: Connection, exitDescriptor: Int32) {
        self.process = process
        self.connection = connection
        self.exitDescriptor = exitDescriptor
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    var nanosecondsForPool: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : scaled &+ attoseconds / 1_000_000_000
    }
}
