import DequeModule
import MulticoreProcessing
import MulticoreThreading

/// The process pool's policy as a state machine: which worker runs which chunk, how far ahead a
/// worker is fed, what a worker's death, a timeout, a cancel, a broken channel or a failed
/// initializer does to the chunks, when a worker is started, stopped, killed or replaced.
///
/// It takes events (a chunk submitted, a worker started or not, a reply, a broken channel, a
/// worker's exit, the clock) and answers with `PoolAction`s for the caller to perform: it holds
/// no lock, makes no system call and reads no clock (`now` is passed in, CLOCK_MONOTONIC ns).
/// `PoolSupervisor` runs it under its lock and performs the actions after unlocking; the tests
/// drive it with no process at all.
///
/// The one call out is a job's `start`, which marks its future running (false: cancelled).
///
/// Its state is changed only by its own files: this one (events), PoolPlanning.swift (starting
/// workers, dispatching, deadlines) and PoolWorkerLife.swift (a worker's state).
struct PoolMachine {
    struct Settings {
        var maxWorkers: Int
        var maxTasksPerChild: Int?
        /// Nanoseconds between SIGTERM and SIGKILL for a worker stopped for a timeout or a cancel.
        var killGrace: Int64
        var hasInitializer: Bool
    }

    /// A worker's number, given by `workerStarted`, never reused.
    typealias WorkerID = Int

    let settings: Settings
    var pending = Deque<PoolJob>()
    var workers: [Worker] = []
    private(set) var shuttingDown = false
    /// `terminate` was called: jobs that come back from a worker are not run again.
    private(set) var terminated = false
    /// Bumped by every event from outside the manager (submit, interrupt, shutdown,
    /// terminate): a plan made before one of them is stale (`hasNews`).
    private(set) var generation: UInt64 = 0
    private var nextWorkerID = 1
    /// No worker is started before this after a start failed.
    private(set) var nextStartAllowed: Int64 = 0
    /// Before a worker is started after the initializer failed: 50 ms, doubling up to 1 s with
    /// each failure in a row, 0 once a worker answers a chunk. Workers are only started for
    /// queued work meanwhile, so a broken initializer never spins.
    var initializerBackoff: Int64 = 0
    /// Before trying again after a worker could not be started: 100 ms doubling up to 1 s, 0
    /// once one starts.
    private var startBackoff: Int64 = 0
    /// How long a task takes, on average (a moving average of the time between a worker's
    /// replies), which sets how many tasks a worker is given ahead.
    private(set) var averageTaskNanoseconds: Int64 = 1_000_000_000
    /// Task types by the index workers know them by.
    var typeIndices: [String: UInt32] = [:]
    /// The type last looked up in `typeIndices`, and its index.
    var lastType: (name: String, index: UInt32)?

    init(settings: Settings) { self.settings = settings }

    // MARK: Work coming in and going away

    /// Queues `jobs`, and returns whether the manager must be woken for them (`needsWake`).
    /// - Throws: `ExecutorError.shutDown` after `shutdown` or `terminate`.
    @discardableResult
    mutating func submit<S: Sequence<PoolJob>>(_ jobs: S) throws(ExecutorError) -> Bool {
        guard !shuttingDown else { throw .shutDown }
        generation &+= 1
        // A map's many chunks at once: room made once, not grown (and copied) as they come.
        // Never exactly what is asked: calls adding a few each would then copy the queue each time.
        let added = jobs.underestimatedCount
        if added > 1 { pending.reserveCapacity(pending.count + max(added, pending.count / 2)) }
        pending.append(contentsOf: jobs)
        return needsWake
    }

    /// Whether queued work needs the manager now: a worker is missing, or a serving one holds
    /// fewer than two jobs (it may run dry before its next reply). Not while every worker holds
    /// two or more: each one's next reply (or its end) wakes the manager, which then hands the
    /// queue out. A burst of submits to a busy pool thus costs no wake-up each.
    var needsWake: Bool {
        var serving = 0
        for worker in workers where worker.isServing {
            if worker.jobs.count < 2 || !worker.listening { return true }
            serving += 1
        }
        return serving < settings.maxWorkers
    }

    /// Stops the jobs `ids` wherever they are: a queued one is dropped, one given to a worker
    /// but not started is taken back, a running one's worker is stopped (SIGTERM, then SIGKILL
    /// after the grace) and replaced. Each fails with `error` (`CancellationError` by default).
    mutating func interrupt(_ ids: Set<UInt64>, failingWith error: any Error = CancellationError(), now: Int64,
                            into actions: inout [PoolAction]) {
        generation &+= 1
        pending.removeAll { job in
            guard ids.contains(job.id) else { return false }
            actions.append(.fail(job, .error(error), by: nil))
            return true
        }
        for index in workers.indices {
            for (position, job) in workers[index].jobs.enumerated() where ids.contains(job.id) {
                guard workers[index].abandoned.insert(job.id).inserted else { continue } // failed already
                // It stays in place, abandoned: the worker has its request and runs it anyway.
                if position == 0 { // running: its worker is stopped, unless it is ending already
                    if workers[index].isServing || workers[index].life == .retiring {
                        stop(index, for: error is PoolShutdownError ? .shutdown : .cancellation, now: now, into: &actions)
                    }
                    actions.append(.fail(job, .error(error), by: workers[index].identity))
                } else {
                    actions.append(.fail(job, .error(error), by: nil))
                }
            }
        }
    }

    /// No more jobs; with `cancelFutures`, the queued ones are cancelled.
    mutating func shutdown(cancelFutures: Bool, into actions: inout [PoolAction]) {
        generation &+= 1
        shuttingDown = true
        guard cancelFutures else { return }
        cancelPending(into: &actions)
    }

    /// Stops now: queued jobs are cancelled, every worker gets SIGTERM, then SIGKILL after the
    /// grace (its running job fails as a death when it ends; the others it held, as cancelled).
    mutating func terminate(now: Int64, into actions: inout [PoolAction]) {
        generation &+= 1
        shuttingDown = true
        terminated = true
        cancelPending(into: &actions)
        for index in workers.indices {
            switch workers[index].life {
            case .serving, .retiring, .initializerFailed:
                workers[index].life = .stopping(since: now)
                workers[index].stopCause = workers[index].stopCause ?? .terminate
                actions.append(.terminate(workers[index].id))
            case .stopping, .killed: break
            }
        }
    }

    /// The queued jobs are cancelled; one back from a worker, whose future runs already and so
    /// cannot be cancelled, fails with `FutureError.cancelled`, as a cancelled future's
    /// `result()` does.
    private mutating func cancelPending(into actions: inout [PoolAction]) {
        for job in pending { actions.append(job.marked ? .fail(job, .error(FutureError.cancelled), by: nil) : .cancel(job)) }
        pending.removeAll()
    }

    // MARK: Workers starting

    /// A worker started: it serves from now on. Returns its number.
    mutating func workerStarted(_ identity: WorkerIdentity, now: Int64) -> WorkerID {
        startBackoff = 0
        let id = nextWorkerID
        nextWorkerID += 1
        workers.append(Worker(id: id, identity: identity, headStarted: now, initialized: !settings.hasInitializer))
        return id
    }

    /// No worker could be started now (no descriptor, no process): try again after the
    /// back-off, never in a loop. With no worker serving, the queued jobs cannot wait for one:
    /// they fail, saying why.
    mutating func workerCouldNotStart(reason: String, now: Int64, into actions: inout [PoolAction]) {
        startBackoff = min(1_000_000_000, max(100_000_000, startBackoff * 2))
        nextStartAllowed = now + startBackoff
        guard !workers.contains(where: \.isServing) else { return }
        let failure = PoolError.cannotStartWorker(reason: reason)
        for job in pending { actions.append(.fail(job, .error(failure), by: nil)) }
        pending.removeAll()
    }

    // MARK: What workers say

    /// A reply for chunk `id` came from `worker`: if it is the running job's, that job is done
    /// (`deliver`, unless it failed already), and the next one starts; any other (a chunk that
    /// was cancelled) is ignored. A reply before the initializer's report breaks the protocol.
    mutating func replyArrived(from worker: WorkerID, id: UInt64, now: Int64, into actions: inout [PoolAction]) {
        // A channel that broke is believed no more, whatever follows on it.
        guard let index = index(of: worker), workers[index].listening else { return }
        guard workers[index].initialized else {
            let reason = "a reply for chunk \(id) before the initializer's report"
            channelFailed(worker, WireError.corrupt(offset: 0, reason: reason), into: &actions)
            return
        }
        guard let head = workers[index].jobs.first, head.id == id else { return }
        workers[index].jobs.removeFirst()
        let perTask = (now - workers[index].headStarted) / Int64(max(1, head.count))
        averageTaskNanoseconds = (averageTaskNanoseconds * 7 + perTask) / 8
        workers[index].headStarted = now
        workers[index].tasksDone += head.count
        workers[index].replied = true
        initializerBackoff = 0
        // One that failed already (timed out, or cancelled) ran all the same: it counts for
        // maxTasksPerChild, but its outcome is dropped.
        let abandoned = !workers[index].abandoned.isEmpty && workers[index].abandoned.remove(id) != nil // no hashing, mostly
        if let limit = settings.maxTasksPerChild, workers[index].tasksDone >= limit, workers[index].isServing {
            workers[index].life = .retiring
            actions.append(.send(worker, [.stop]))
        }
        if !abandoned { actions.append(.deliver(head, by: workers[index].identity, nanoseconds: perTask)) }
    }

    /// `worker` is to end after the jobs it holds, and take no more (its memory grew past
    /// `maxMemoryPerChild`): as when it reaches `maxTasksPerChild`.
    mutating func retire(_ worker: WorkerID, into actions: inout [PoolAction]) {
        guard let index = index(of: worker), workers[index].isServing else { return }
        workers[index].life = .retiring
        actions.append(.send(worker, [.stop]))
    }

    /// `worker` reported how its initializer went: `error` if it threw, nil if it succeeded.
    /// Only a worker with an initializer sends that report, first and once: any other is a
    /// protocol error (a task forging a failure would otherwise fail the whole queue).
    /// Its first job starts when the report came (its timeout counts from then).
    mutating func initializerReported(by worker: WorkerID, _ error: PoolError?, now: Int64, into actions: inout [PoolAction]) {
        guard let index = index(of: worker), workers[index].listening else { return }
        guard !workers[index].initialized else {
            let reason = "an initializer's report (a frame with id 0) when no initializer was running"
            channelFailed(worker, WireError.corrupt(offset: 0, reason: reason), into: &actions)
            return
        }
        workers[index].initialized = true
        workers[index].headStarted = now
        guard let error else { return }
        // One already being stopped or killed ends anyway, as a death.
        guard workers[index].isServing || workers[index].life == .retiring else { return }
        workers[index].life = .initializerFailed(error)
    }

    /// Reading `worker`'s channel failed with `error`: it is no longer read. End of file (the
    /// worker is ending, or closed its channel) is an ordinary end, unless the worker holds
    /// chunks: it could no longer answer for them. Anything else means it cannot be trusted.
    /// Either way it is killed, and its running job fails (or runs again) when it ends.
    mutating func channelFailed(_ worker: WorkerID, _ error: any Error, into actions: inout [PoolAction]) {
        guard let index = index(of: worker) else { return }
        let ended = switch error {
        case ConnectionError.endOfFile, ConnectionError.truncatedMessage: true
        default: false
        }
        workers[index].listening = false
        if !ended { workers[index].protocolError = String(describing: error) }
        switch workers[index].life {
        case .killed:
            return
        case .initializerFailed:
            // It exits by itself; one that talks nonsense meanwhile is not waited for.
            if !ended {
                workers[index].stopCause = .protocolError
                actions.append(.kill(worker))
            }
            return
        case .serving, .retiring, .stopping:
            guard !ended || !workers[index].jobs.isEmpty else {
                if workers[index].isServing { workers[index].life = .retiring }
                return
            }
            workers[index].life = .killed
            if !ended { workers[index].stopCause = .protocolError }
            actions.append(.kill(worker))
        }
    }

    /// `worker` ended (`end`: its exit code, -N for signal N, and what was seen of it), after
    /// what it sent was read. Its
    /// running job fails (or, with retries left, runs again elsewhere) unless it failed already;
    /// the jobs it held and had not started go back to the front of the queue. If its
    /// initializer failed, what it held and what is queued fail with that error.
    mutating func workerExited(_ worker: WorkerID, _ end: WorkerEnd, now: Int64, into actions: inout [PoolAction]) {
        guard let index = index(of: worker) else { return }
        let ended = workers.remove(at: index)
        actions.append(.release(worker))
        let reason = ExitReason(exitCode: end.exitCode, stoppedBy: ended.stopCause, oomKilled: end.oomKilled,
                                memoryLimit: end.memoryLimit, fatalLine: end.fatalLine)
        let report = ExitReport(worker: ended.identity, exitCode: end.exitCode, reason: reason, standardError: end.standardError)
        let held = ended.jobs.contains { !ended.abandoned.contains($0.id) }
        actions.append(.ended(report, unexpected: held && ended.stopCause == nil && !terminated))
        // Jobs it held that failed already (timed out, cancelled) fail no second time.
        let runningAbandoned = ended.jobs.first.map { ended.abandoned.contains($0.id) } ?? false
        var jobs = ended.jobs.filter { !ended.abandoned.contains($0.id) }
        // Its initializer failed, or it ended before its initializer said how it went (a trap,
        // an exit in it): what it held and what is queued fail, and workers start again only
        // after a back-off, so that an initializer that always fails never spins.
        var initializerError: PoolError?
        if case .initializerFailed(let error) = ended.life { initializerError = error }
        if !ended.initialized, !ended.stoppedByPool, ended.protocolError == nil, !terminated {
            initializerError = .initializerFailed(pid: ended.identity.pid, type: "",
                                                  message: "the worker \(reason) before its initializer reported")
        }
        if let initializerError {
            initializerBackoff = min(1_000_000_000, max(50_000_000, initializerBackoff * 2))
            nextStartAllowed = now + initializerBackoff
            for job in jobs + Array(pending) { actions.append(.fail(job, .error(initializerError), by: ended.identity)) }
            pending.removeAll()
            return
        }
        // Its end is the pool's doing (a timeout, a cancel), or the job it was running failed
        // already: what it held runs elsewhere, charged nothing.
        if ended.stoppedByPool || runningAbandoned {
            requeue(jobs, into: &actions)
            return
        }
        // One that ended by itself before it ever answered, holding nothing (it could not even
        // start: a crash at load, no memory): the next start waits, as after a failed start.
        if !ended.replied, jobs.isEmpty, ended.life == .serving {
            startBackoff = min(1_000_000_000, max(100_000_000, startBackoff * 2))
            nextStartAllowed = now + startBackoff
        }
        guard var running = jobs.popFirst() else { return }
        requeue(jobs, into: &actions)
        running.deaths += 1
        // Over the memory limit: it would go over again, anywhere. It fails alone.
        if case .memoryLimit = reason {
            actions.append(.fail(running, .memoryLimitExceeded(report), by: ended.identity))
            return
        }
        if running.retriesLeft > 0, !terminated {
            running.retriesLeft -= 1
            pending.prepend(running)
            actions.append(.retried(running, report, attempt: running.deaths + 1))
            return
        }
        let pid = ended.identity.pid
        let failure = ended.protocolError.map { PoolFailure.protocolError(pid: pid, reason: $0, attempts: running.deaths) }
            ?? .workerDied(report, attempts: running.deaths)
        actions.append(.fail(running, failure, by: ended.identity))
    }

    /// The pool finished (`Plan.finished`) and its workers were stopped and waited for.
    mutating func workersReleased() { workers.removeAll() }

    /// Jobs a worker held without starting them go back to the front of the queue, in order;
    /// after `terminate` they are not run: each fails with `FutureError.cancelled`, as a
    /// cancelled future's `result()` does (its future is running, so it cannot be cancelled).
    private mutating func requeue(_ jobs: Deque<PoolJob>, into actions: inout [PoolAction]) {
        guard !terminated else {
            for job in jobs { actions.append(.fail(job, .error(FutureError.cancelled), by: nil)) }
            return
        }
        for job in jobs.reversed() { pending.prepend(job) }
    }

    // MARK: The clock

    /// Enforces deadlines: a running job past its timeout fails and its worker gets SIGTERM; a
    /// worker still alive `killGrace` after SIGTERM gets SIGKILL.
    mutating func tick(now: Int64, into actions: inout [PoolAction]) {
        for index in workers.indices {
            switch workers[index].life {
            case .killed:
                continue
            case .stopping(let since):
                if now - since >= settings.killGrace {
                    workers[index].life = .killed
                    actions.append(.kill(workers[index].id))
                }
            case .initializerFailed:
                continue // it ends by itself, and what it holds fails with its initializer's error
            case .serving, .retiring:
                // A task's time counts once its worker is initialized; one cancelled runs untimed.
                guard workers[index].initialized, let head = workers[index].jobs.first, let timeout = head.timeout,
                      !workers[index].abandoned.contains(head.id), now - workers[index].headStarted >= timeout.nanoseconds else { continue }
                workers[index].abandoned.insert(head.id)
                stop(index, for: .timeout, now: now, into: &actions)
                actions.append(.fail(head, .timedOut(timeout), by: workers[index].identity))
            }
        }
    }

    // MARK: Helpers

    /// SIGTERM to the worker, whose running job failed already (a timeout, a cancel) and which
    /// takes no more jobs; SIGKILL follows after the grace.
    private mutating func stop(_ index: Int, for cause: ExitReason.Stop, now: Int64, into actions: inout [PoolAction]) {
        workers[index].stoppedByPool = true
        workers[index].stopCause = cause
        workers[index].life = .stopping(since: now)
        actions.append(.terminate(workers[index].id))
    }

    func index(of worker: WorkerID) -> Int? { workers.firstIndex { $0.id == worker } }

    /// Whether the worker numbered `id` has not ended and its channel is still read (asked
    /// without copying the worker).
    func isListening(_ id: WorkerID) -> Bool {
        guard let index = index(of: id) else { return false }
        return workers[index].listening
    }

    /// The worker numbered `id`, if it has not ended.
    func worker(_ id: WorkerID) -> Worker? { index(of: id).map { workers[$0] } }

    /// Tasks queued, not yet given to a worker.
    var queuedTasks: Int { pending.reduce(0) { $0 + $1.count } }

    /// Chunks queued (read by a gauge on every turn of the manager: no walk of the queue).
    var pendingChunks: Int { pending.count }
}
