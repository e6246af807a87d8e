import CoreMetrics
import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading

/// What a process pool counts and reports of itself: its totals by outcome, its metrics (when a
/// backend is bootstrapped) and its `stats` snapshot.
extension PoolSupervisor {
    /// Adds `tasks` to a total, and to its counter if there are metrics.
    func count(_ tasks: Int, _ total: WritableKeyPath<PoolStats.Totals, Int>, _ counter: Counter?) {
        totals.withLock { $0[keyPath: total] += tasks }
        counter?.increment(by: tasks)
    }

    /// A chunk answered: its tasks succeeded, but for those that threw.
    func count(delivered job: PoolJob, reply: [UInt8], nanoseconds: Int64) {
        let failures = PoolReply.failures(count: job.count, in: reply, at: WorkerMessage.replyBodyOffset)
        if failures == 0 { // the common case, without a key path (dearer than the addition)
            totals.withLock { $0.succeeded += job.count }
            metrics?.succeeded.increment(by: job.count)
        } else if failures < job.count {
            count(job.count - failures, \.succeeded, metrics?.succeeded)
        }
        if failures > 0 { count(failures, \.failed, metrics?.failed) }
        metrics?.duration.recordNanoseconds(nanoseconds)
    }

    /// A chunk failed as a whole, for `failure`.
    func count(failed job: PoolJob, _ failure: PoolFailure) {
        switch failure {
        case .timedOut: count(job.count, \.timedOut, metrics?.timedOut)
        case .workerDied, .protocolError, .memoryLimitExceeded: count(job.count, \.workerDied, metrics?.workerDied)
        case .error(is CancellationError), .error(FutureError.cancelled): count(job.count, \.cancelled, metrics?.cancelled)
        case .error: count(job.count, \.failed, metrics?.failed)
        }
    }

    /// The gauges: workers alive and chunks queued, and, at most once a second, the workers'
    /// resident memory. Called by the manager as it loops, only with metrics.
    func recordGauges(_ state: PoolManagerState, now: Int64) {
        guard let metrics else { return }
        let (workers, queued) = lock.withLock { (machine.workers.count, machine.pendingChunks) }
        if state.recorded.workers != workers {
            metrics.workers.record(workers)
            state.recorded.workers = workers
        }
        if state.recorded.queued != queued {
            metrics.queueDepth.record(queued)
            state.recorded.queued = queued
        }
        if now - state.recorded.memorySampled >= 1_000_000_000 {
            let pids = lock.withLock { machine.workers.map(\.identity.pid) }
            metrics.residentMemory.record(pids.reduce(0) { $0 + (residentMemory(of: $1) ?? 0) })
            state.recorded.memorySampled = now
        }
    }

    /// The pool now: its workers (with their memory, read from /proc), queue and totals.
    var stats: PoolStats {
        let (workers, queued) = lock.withLock { () -> ([(PoolMachine.Worker, PoolJob?)], Int) in
            (machine.workers.map { ($0, $0.jobs.first) }, machine.queuedTasks)
        }
        let rows = workers.map { worker, head -> PoolStats.Worker in
            let running = head.flatMap { worker.abandoned.contains($0.id) ? nil : $0 }
            let state: PoolStats.Worker.State = switch worker.life {
            case .serving: running == nil ? .idle : .busy
            case .retiring: .retiring
            case .initializerFailed: .initializerFailed
            case .stopping, .killed: .stopping
            }
            return PoolStats.Worker(identity: worker.identity, state: state, currentTask: running?.summary(),
                                    tasksDone: worker.tasksDone, residentMemory: residentMemory(of: worker.identity.pid))
        }
        return PoolStats(label: observation.label, workers: rows, queued: queued, totals: totals.withLock { $0 })
    }
}
