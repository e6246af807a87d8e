import CMulticore
import DequeModule
import Logging
import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The process pool itself: its policy (`PoolMachine`), its workers' processes and channels,
/// and the manager thread that runs them (see `ProcessPoolExecutor`, the handle users hold, for
/// what it does). The manager thread holds this object, not the handle: when the last handle
/// goes away, the pool shuts down.
///
/// The manager is a thin loop: it polls the workers' channels and exits, feeds what it sees to
/// the machine under the lock, and performs the machine's actions after unlocking.
final class PoolSupervisor: @unchecked Sendable { // `machine` and `links` are guarded by `lock`
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
    let initializer: PoolInitializer?
    /// The longest message on a worker's channel: a chunk's request (so its tasks, encoded) or
    /// reply (its outputs).
    let channelFrameLimit: Int
    /// 256 MiB: larger data goes through shared memory (`SharedArray`), not task by task.
    static let defaultChannelFrameLimit = 1 << 28
    /// What a worker is called after its start method: "Process" names them "SpawnProcess-N"
    /// (Python's executor), "PoolWorker" "SpawnPoolWorker-N" (Python's Pool).
    let workerKind: String
    /// Its label, logger and where its workers' output goes.
    let observation: PoolObservation
    /// Its rules on its workers' memory.
    let memory: PoolMemory
    /// nil without a metrics backend.
    let metrics: PoolMetrics?
    /// How its tasks have ended (`stats`).
    let totals = Locked(PoolStats.Totals())

    let lock = Lock()
    /// The policy; its events are fed under `lock`.
    var machine: PoolMachine
    /// Each worker's process and channel, by the machine's number for it.
    var links: [PoolMachine.WorkerID: PoolWorkerLink] = [:]
    /// The last job's id.
    var nextID: UInt64 = 0
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var manager: JoinableThread?

    /// `ProcessPoolExecutor.init`'s work, with the limit on a worker's messages (`channelFrameLimit`) chosen.
    init(maxWorkers: Int? = nil, startMethod: StartMethod? = nil, maxTasksPerChild: Int? = nil, maxRetries: Int = 0,
         killGrace: Duration = .seconds(1), initializer: (any ProcessTask)? = nil, channelFrameLimit: Int,
         workerKind: String = "Process", observation: PoolObservation, memory: PoolMemory) throws {
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
        self.workerKind = workerKind
        self.observation = observation
        self.memory = memory
        metrics = PoolMetrics(label: observation.label)
        machine = PoolMachine(settings: .init(maxWorkers: count, maxTasksPerChild: maxTasksPerChild,
                                              killGrace: killGrace.nanoseconds, hasInitializer: initializer != nil))
        do throws(Errno) {
            let wake = try DescriptorPair.pipe()
            wakeRead = wake.read.rawValue
            wakeWrite = wake.write.rawValue
            try wake.read.setNonBlocking()
            try wake.write.setNonBlocking()
        } catch {
            throw ProcessError.spawnFailed(errno: error)
        }
        // The manager keeps the pool alive until `shutdown` has drained it.
        let thread = JoinableThread(name: "mc-pool-manager", daemon: true) { self.manage() }
        manager = thread
        try thread.start()
    }

    deinit {
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
    }

    // MARK: Work going away

    /// Stops the jobs `ids` wherever they are (see `PoolMachine.interrupt`): each fails with
    /// `CancellationError` (or `error`); a job already done is left as it is. What cancelling the
    /// Swift task that awaits its result does.
    func interrupt(_ ids: [UInt64], failingWith error: any Error = CancellationError()) {
        guard !ids.isEmpty else { return }
        var actions: [PoolAction] = []
        lock.withLock { machine.interrupt(Set(ids), failingWith: error, now: mc_monotonic_ns(), into: &actions) }
        perform(actions)
        wake()
    }

    /// Stops taking tasks; with `cancelFutures`, cancels those not started; with `wait`, returns
    /// once every started task is done and the workers have exited. Python:
    /// `shutdown(wait=True, cancel_futures=False)`. Calling it again is harmless.
    @available(*, noasync, message: "blocks the thread while the pool drains")
    func shutdown(wait: Bool = true, cancelFutures: Bool = false) {
        var actions: [PoolAction] = []
        lock.withLock { machine.shutdown(cancelFutures: cancelFutures, into: &actions) }
        perform(actions)
        wake()
        if wait, let manager = lock.withLock({ self.manager }), manager.ident != Threading.getIdent() {
            _ = try? manager.join()
        }
    }

    /// Stops now: tasks not started are cancelled, and every worker gets SIGTERM (its running
    /// task fails with `PoolError.workerDied`); returns without waiting (`shutdown(wait:)` waits).
    func terminate() {
        var actions: [PoolAction] = []
        lock.withLock { machine.terminate(now: mc_monotonic_ns(), into: &actions) }
        perform(actions)
        wake()
    }

    /// The workers alive now, in the order they started.
    var workers: [WorkerIdentity] { lock.withLock { machine.workers.map(\.identity) } }

    /// A snapshot for `description`: shutting down, workers, tasks queued (not given to a worker).
    var snapshot: (shuttingDown: Bool, workers: [WorkerIdentity], queued: Int) {
        lock.withLock { (machine.shuttingDown, machine.workers.map(\.identity), machine.queuedTasks) }
    }

    // MARK: Performing what the machine decided

    /// Performs `actions`, outside the lock (their callbacks may call the pool). `reply` is the
    /// frame a `deliver` hands to its job; `outboxes` holds what the manager has still to write
    /// (only the manager sends).
    func perform(_ actions: [PoolAction], reply: [UInt8] = [], outboxes: PoolManagerState? = nil) {
        perform(actions[...], reply: reply, outboxes: outboxes)
    }

    func perform(_ actions: ArraySlice<PoolAction>, reply: [UInt8] = [], outboxes: PoolManagerState? = nil) {
        for action in actions {
            switch action {
            case .send(let worker, let requests):
                guard let outboxes, let link = lock.withLock({ links[worker] }) else { continue }
                for request in requests { request.appendFrame(to: &outboxes.bytes[worker, default: []]) }
                flush(link, worker, outboxes)
            case .terminate(let worker):
                try? lock.withLock({ links[worker] })?.process.terminate()
            case .kill(let worker):
                try? lock.withLock({ links[worker] })?.process.kill()
            case .deliver(let job, let worker, let nanoseconds):
                count(delivered: job, reply: reply, nanoseconds: nanoseconds)
                job.finish(.success(reply), by: worker) // decoded by the job, which knows its output type
            case .fail(let job, let failure, let worker):
                let error = failure.error(for: job)
                note(error, of: job, by: worker)
                count(failed: job, failure)
                job.finish(.failure(error), by: worker)
            case .cancel(let job):
                count(job.count, \.cancelled, metrics?.cancelled)
                job.cancel()
            case .release(let worker):
                guard let link = lock.withLock({ links.removeValue(forKey: worker) }) else { continue }
                outboxes?.bytes[worker] = nil
                link.connection.close()
                link.replies.close()
                _ = try? link.process.close()
            case .ended(let report, let unexpected):
                metrics?.exited(report.reason)
                observation.log(unexpected ? .notice : .debug, "worker ended: \(report.reason)", worker: report.worker,
                                metadata: ["exit.code": .stringConvertible(report.exitCode)])
            case .retried(let job, let report, let attempt):
                count(job.count, \.retried, metrics?.retried)
                observation.log(.info, "task retried after its worker \(report.reason)", worker: report.worker,
                                metadata: ["task": .string(job.summary()), "task.index": .stringConvertible(job.index),
                                           "task.attempt": .stringConvertible(attempt)])
            }
        }
    }

    /// Logs a job's failure that the pool saw (not a task's own error, which is its caller's).
    private func note(_ error: any Error, of job: PoolJob, by worker: WorkerIdentity?) {
        guard observation.logger != nil, let error = error as? PoolError else { return }
        observation.log(.notice, "task failed: \(error)", worker: worker,
                        metadata: ["task": .string(job.summary()), "task.index": .stringConvertible(job.index)])
    }

    /// Writes what the worker's socket takes now of its outbox, never blocking (a worker busy
    /// sending a large reply is not reading; blocking here would deadlock both). The rest goes
    /// when the socket is writable again (the manager polls for it).
    private func flush(_ link: PoolWorkerLink, _ worker: PoolMachine.WorkerID,
                       _ outboxes: PoolManagerState) {
        guard let outbox = outboxes.bytes[worker], !outbox.isEmpty else { return }
        guard let written = try? link.connection.writeAvailable(outbox[...]) else {
            outboxes.bytes[worker] = [] // the worker is gone: its exit is seen, its jobs go back or fail
            return
        }
        outboxes.bytes[worker]?.removeFirst(written)
    }

    /// Set while the manager sleeps in `poll`: a submit writes to the wake pipe only then, so
    /// that a burst of submits costs the manager one wake-up, and goes out in batches.
    private let managerAsleep = Atomic<Bool>(false)

    func wake() {
        guard managerAsleep.exchange(false, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = withUnsafeBytes(of: &byte) { try? FileDescriptor(rawValue: wakeWrite).writeSome($0) } // EAGAIN: full, so a wake-up is pending
    }

    // MARK: The manager thread

    private func manage() {
        let outboxes = PoolManagerState()
        var actions: [PoolAction] = []
        actions.reserveCapacity(64)
        while true {
            let (plan, generation, watched) = lock.withLock {
                let plan = machine.plan(now: mc_monotonic_ns(), into: &actions)
                let watched = machine.workers.compactMap { worker in links[worker.id].map { (worker.id, $0, worker.listening) } }
                return (plan, machine.generation, watched)
            }
            perform(actions, outboxes: outboxes)
            actions.removeAll(keepingCapacity: true)
            if metrics != nil { recordGauges(outboxes, now: mc_monotonic_ns()) }
            let timeout: Int32
            switch plan {
            case .finished:
                drain(outboxes)
                return
            case .start(let count):
                for _ in 0..<count { if !startWorker(outboxes) { break } }
                continue // dispatch to the new workers first
            case .wait(let milliseconds):
                timeout = milliseconds
            }
            var entries = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for (worker, link, listening) in watched {
                // Its channel only while requests wait for room in it (it is only written).
                let pending = outboxes.bytes[worker].map { !$0.isEmpty } ?? false
                entries.append(pollfd(fd: pending ? link.connection.fileDescriptor : -1, events: Int16(POLLOUT), revents: 0))
                // Replies that failed are not watched (they may stay readable): the worker's exit is.
                entries.append(pollfd(fd: listening ? link.replies.fileDescriptor : -1, events: Int16(POLLIN), revents: 0))
                entries.append(pollfd(fd: link.exitDescriptor, events: Int16(POLLIN), revents: 0))
            }
            // The workers' output, read as it comes (a worker blocked on a full pipe would stall).
            let taps = outboxes.taps.values.flatMap { $0 }.filter { !$0.ended }
            for tap in taps { entries.append(pollfd(fd: tap.descriptor, events: Int16(POLLIN), revents: 0)) }
            // Announce the sleep, then look once more for what came meanwhile (a submit, a
            // cancel, a shutdown: one whose wake() came before the announcement wrote nothing).
            managerAsleep.store(true, ordering: .sequentiallyConsistent)
            let news = lock.withLock { machine.hasNews(since: generation) }
            // A worker whose exit no descriptor announces (no pidfd could be had) is looked at every 10 ms.
            let unwatched = watched.contains { $0.1.exitDescriptor < 0 }
            let milliseconds = unwatched ? (timeout < 0 ? 10 : min(timeout, 10)) : timeout
            let ready = news ? 0 : (try? Poll.wait(&entries, milliseconds: milliseconds)) ?? -1
            managerAsleep.store(false, ordering: .sequentiallyConsistent)
            if ready < 0 {
                drain(outboxes)
                return
            }
            if entries[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while (try? sink.withUnsafeMutableBytes { try FileDescriptor(rawValue: wakeRead).readAvailable(into: $0) }) ?? 0 > 0 {}
            }
            for (index, tap) in taps.enumerated() where entries[1 + 3 * watched.count + index].revents != 0 {
                tap.readAvailable()
            }
            for (index, (worker, link, _)) in watched.enumerated() {
                // A channel that failed (the worker ended) fails the flush, which drops the outbox.
                if entries[1 + 3 * index].revents != 0 { flush(link, worker, outboxes) }
                var exited = entries[3 + 3 * index].revents != 0
                if entries[2 + 3 * index].revents != 0 {
                    collectReplies(worker, link, outboxes)
                    if memory.perChild != nil, memory.outgrown(link.identity.pid) {
                        lock.withLock { machine.retire(worker, into: &actions) }
                    }
                    if !exited, link.exitDescriptor >= 0, !lock.withLock({ machine.isListening(worker) }) {
                        exited = awaitExit(of: link)
                    }
                }
                if exited || (link.exitDescriptor < 0 && (try? link.process.isAlive) != true) {
                    reap(worker, link, outboxes)
                }
            }
            lock.withLock { machine.tick(now: mc_monotonic_ns(), into: &actions) }
            perform(actions, outboxes: outboxes)
            actions.removeAll(keepingCapacity: true)
        }
    }

    /// Whether the worker whose channel just ended has exited, waiting for it a little: a
    /// process's files are closed before its exit is announced, microseconds later, and a
    /// worker killed while running a task ends its channel so. Reaped at once, its task fails
    /// before a replacement is started; seen otherwise, the task waited for that start (the
    /// spawn the manager waits for, about half a millisecond), one time in three.
    private func awaitExit(of link: PoolWorkerLink) -> Bool {
        var exit = [pollfd(fd: link.exitDescriptor, events: Int16(POLLIN), revents: 0)]
        return ((try? Poll.wait(&exit, milliseconds: 5)) ?? 0) > 0
    }

    /// Takes every reply that has arrived whole from `worker`, never waiting for more: read in
    /// batches, each batch fed to the machine under one lock, then performed frame by frame.
    func collectReplies(_ worker: PoolMachine.WorkerID, _ link: PoolWorkerLink,
                        _ outboxes: PoolManagerState) {
        // Only the manager stops the listening (`channelFailed`): asked once.
        guard lock.withLock({ machine.isListening(worker) }) else { return }
        var frames: [[UInt8]] = []
        var actions: [PoolAction] = []
        /// Where each frame's actions end in `actions`.
        var ends: [Int] = []
        while true {
            var failure: (any Error)?
            while frames.count < 256 {
                do {
                    guard let next = try link.replies.receiveAvailable() else { break }
                    frames.append(next)
                } catch {
                    failure = error
                    break
                }
            }
            if frames.isEmpty, failure == nil { return }
            let listening = lock.withLock { () -> Bool in
                for frame in frames {
                    do {
                        switch try WorkerMessage(frame: frame) {
                        case .reply(let id):
                            machine.replyArrived(from: worker, id: id, now: mc_monotonic_ns(), into: &actions)
                        case .initialized:
                            machine.initializerReported(by: worker, nil, now: mc_monotonic_ns(), into: &actions)
                        case .initializerFailed(let report):
                            machine.initializerReported(by: worker, Self.initializerError(report, pid: link.identity.pid),
                                                        now: mc_monotonic_ns(), into: &actions)
                        }
                    } catch {
                        failure = error
                        break
                    }
                    ends.append(actions.count)
                    // The machine found it broke the protocol: nothing more is believed.
                    guard machine.isListening(worker) else { return false }
                }
                if let failure {
                    machine.channelFailed(worker, failure, into: &actions)
                    return false
                }
                return true
            }
            var start = 0
            for (frame, end) in zip(frames, ends) {
                perform(actions[start ..< end], reply: frame, outboxes: outboxes)
                start = end
            }
            perform(actions[start...], outboxes: outboxes)
            if !listening || frames.count < 256 { return }
            frames.removeAll(keepingCapacity: true)
            actions.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
        }
    }

    /// What an initializer's report says, as the error its tasks fail with.
    private static func initializerError(_ report: WorkerReply?, pid: Int32) -> PoolError {
        switch report {
        case .failure(let type, let message)?, .codedFailure(let type, let message, _, _)?:
            .initializerFailed(pid: pid, type: type, message: message)
        case .unknownTask(let name)?: .initializerFailed(pid: pid, type: "", message: "no task type named \(name)")
        case .value?, nil: .initializerFailed(pid: pid, type: "", message: "an unreadable report")
        }
    }
}
