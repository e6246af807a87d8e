import DequeModule
import MulticoreProcessing
import MulticoreThreading

/// How `PoolMachine` plans: when workers start, which worker is given which queued job and how
/// far ahead, and when the next deadline falls.
extension PoolMachine {
    enum Plan: Equatable {
        /// Shut down and drained: the workers are told to stop and waited for.
        case finished
        /// Start this many workers, then plan again.
        case start(Int)
        /// Wait for an event at most this long (-1: no limit), after the actions.
        case wait(milliseconds: Int32)
    }

    /// What to do next: start workers, or hand queued jobs to workers (`send` actions) and wait.
    mutating func plan(now: Int64, into actions: inout [PoolAction]) -> Plan {
        let busy = workers.contains { !$0.jobs.isEmpty }
        if shuttingDown, pending.isEmpty, !busy { return .finished }
        let serving = workers.count(where: \.isServing)
        // No worker is started while one whose initializer failed has not ended: its end fails
        // the queue and sets the back-off, which a replacement started now would escape.
        let initializerFailing = workers.contains { if case .initializerFailed = $0.life { true } else { false } }
        let wanted = !(shuttingDown && pending.isEmpty) && !(initializerBackoff > 0 && pending.isEmpty) && !initializerFailing
        if serving < settings.maxWorkers, wanted, now >= nextStartAllowed { return .start(settings.maxWorkers - serving) }
        dispatch(now: now, into: &actions)
        var milliseconds = nextWakeMilliseconds(now: now)
        if serving < settings.maxWorkers, wanted {
            let retry = Int32(clamping: max(1, (nextStartAllowed - now) / 1_000_000))
            milliseconds = milliseconds < 0 ? retry : min(milliseconds, retry)
        }
        return .wait(milliseconds: milliseconds)
    }

    /// Whether a plan made at `generation` is stale, asked just before the caller sleeps: an
    /// event came from outside since (a submit, cancel, shutdown or terminate), or queued jobs
    /// could go to a worker now.
    func hasNews(since planned: UInt64) -> Bool {
        generation != planned || (!pending.isEmpty && workers.contains { $0.isServing && $0.jobs.count < 2 && taskBudget(of: $0) > 0 })
    }

    /// Hands queued jobs to serving workers, round robin, each up to its prefetch depth, one
    /// `send` per worker. Short tasks get a deep prefetch (a worker never waits for the
    /// manager); long ones a shallow one, so that a free worker can take the next task.
    private mutating func dispatch(now: Int64, into actions: inout [PoolAction]) {
        guard !pending.isEmpty else { return }
        let average = averageTaskNanoseconds
        let depth = average < 50_000 ? 64 : average < 200_000 ? 32 : average < 5_000_000 ? 4 : 2
        // A worker is topped up once it is down to half its depth: fewer, larger batches.
        let open = workers.indices.filter { workers[$0].isServing && workers[$0].jobs.count <= depth / 2 }
        var requests = [[PoolRequest]](repeating: [], count: open.count)
        // With maxTasksPerChild, a worker is given no task beyond its last: it is told to stop
        // once it ran that many, and a task sent ahead would run past the limit.
        var budget = open.map { taskBudget(of: workers[$0]) }
        var progress = true
        while progress, !pending.isEmpty {
            progress = false
            for (slot, index) in open.enumerated() where workers[index].jobs.count < depth && budget[slot] > 0 {
                guard var job = pending.popFirst() else { break }
                // Its future is marked running once: a job back from a dead worker already is.
                if !job.marked {
                    guard job.start() else { progress = true; continue } // cancelled meanwhile
                    job.marked = true
                }
                if workers[index].jobs.isEmpty { workers[index].headStarted = now }
                workers[index].jobs.append(job)
                budget[slot] -= job.count
                let type = typeIndex(job.typeName)
                if workers[index].definedTypes.insert(type).inserted {
                    requests[slot].append(.define(index: type, typeName: job.typeName))
                }
                requests[slot].append(.run(id: job.id, type: type, count: UInt32(job.count), format: job.format, payload: job.payload))
                progress = true
            }
        }
        for (slot, index) in open.enumerated() where !requests[slot].isEmpty {
            actions.append(.send(workers[index].id, requests[slot]))
        }
    }

    /// How many more tasks `worker` may be given: with maxTasksPerChild, those before its last.
    private func taskBudget(of worker: Worker) -> Int {
        guard let limit = settings.maxTasksPerChild else { return Int.max }
        return limit - worker.tasksDone - worker.jobs.reduce(0) { $0 + $1.count }
    }

    private mutating func typeIndex(_ name: String) -> UInt32 {
        // The last type asked, first: a run of jobs of one type hashes no name each.
        if let last = lastType, last.name == name { return last.index }
        let index = typeIndices[name] ?? UInt32(typeIndices.count)
        typeIndices[name] = index
        lastType = (name, index)
        return index
    }

    /// Milliseconds until the next deadline (a task's timeout, a kill's grace), or -1.
    private func nextWakeMilliseconds(now: Int64) -> Int32 {
        var earliest: Int64?
        for worker in workers {
            let due: Int64? = switch worker.life {
            case .stopping(let since): since + settings.killGrace
            case .killed, .initializerFailed: nil
            case .serving, .retiring: // as `tick` times a task: once initialized, unless cancelled
                worker.initialized ? worker.jobs.first.flatMap { head in
                    worker.abandoned.contains(head.id) ? nil : head.timeout.map { worker.headStarted + $0.nanoseconds }
                } : nil
            }
            if let due { earliest = min(earliest ?? due, due) }
        }
        guard let earliest else { return -1 }
        return Int32(clamping: max(0, (earliest - now + 999_999) / 1_000_000))
    }
}
