import MulticoreProcessing
import MulticoreThreading

/// Shutting a process pool down within a deadline: what a server does on SIGTERM (and what
/// `PoolService` does on a ServiceGroup's graceful shutdown).
extension ProcessPoolExecutor {
    /// Stops taking tasks, lets the running tasks and those already queued finish for up to
    /// `gracePeriod`, then stops the rest: each of their futures fails with
    /// `PoolShutdownError.gracePeriodExpired` (running ones have their worker stopped, SIGTERM
    /// then SIGKILL after `killGrace`). Returns once every worker has exited.
    /// Python has no counterpart: `shutdown(wait=True)` waits without a limit.
    /// - Parameter gracePeriod: zero or less stops every task at once; at least
    ///   `Threading.timeoutMax`, no limit.
    /// - Returns: whether every task finished within the grace period.
    /// - Warning: do not call it from a future's done callback or a `Pool` callback: they run on
    ///   the pool's manager thread, which this waits for.
    @available(*, noasync, message: "blocks the thread while the pool drains: await the async form")
    @discardableResult
    public func shutdown(gracePeriod: Duration) -> Bool {
        PoolDrain(supervisor, gracePeriod: gracePeriod).run()
    }

    /// `shutdown(gracePeriod:)` without holding a thread of the caller's. Cancelling the awaiting
    /// task ends the grace period at once (what a ServiceGroup's cancellation means); the call
    /// still returns only once the workers have exited.
    @discardableResult
    public func shutdown(gracePeriod: Duration) async -> Bool {
        await PoolDrain(supervisor, gracePeriod: gracePeriod).runAwaiting()
    }
}

extension Pool {
    /// `close()`, then the tasks running and queued have up to `gracePeriod` to finish; what is
    /// left then is stopped (`terminate()`), each of its results failing with
    /// `PoolShutdownError.gracePeriodExpired`. Returns once every worker has exited.
    /// See `ProcessPoolExecutor.shutdown(gracePeriod:)`.
    /// - Returns: whether every task finished within the grace period.
    @available(*, noasync, message: "blocks the thread while the pool drains: await the async form")
    @discardableResult
    public func shutdown(gracePeriod: Duration) -> Bool {
        close()
        return ended(finished: executor.shutdown(gracePeriod: gracePeriod))
    }

    /// `shutdown(gracePeriod:)` without holding a thread of the caller's; cancelling the
    /// awaiting task ends the grace period at once.
    @discardableResult
    public func shutdown(gracePeriod: Duration) async -> Bool {
        close()
        return ended(finished: await executor.shutdown(gracePeriod: gracePeriod))
    }

    /// A pool whose grace period ended had the rest stopped: it says TERMINATE, as Python's would.
    private func ended(finished: Bool) -> Bool {
        if !finished { terminate() }
        return finished
    }
}

/// One shutdown of a process pool with a grace period. A helper thread waits for the pool to
/// drain (`shutdown(wait: true)` has no deadline); the drain waits for that thread's word, for
/// the grace period to pass, or for `expire`, whichever comes first.
final class PoolDrain: Sendable {
    private let supervisor: PoolSupervisor
    private let gracePeriod: Duration
    /// true: the pool drained by itself; false: the grace period is to end now (`expire`).
    private let news = SimpleQueue<Bool>()

    init(_ supervisor: PoolSupervisor, gracePeriod: Duration) {
        self.supervisor = supervisor
        self.gracePeriod = min(max(gracePeriod, .zero), Threading.timeoutMax)
    }

    /// Ends the grace period now: what is left is stopped.
    func expire() { news.put(false) }

    /// Blocks the thread while the pool drains (`runAwaiting` calls it from async code only when
    /// no thread can be started, to stop everything at once).
    func run() -> Bool {
        supervisor.shutdown(wait: false) // no new tasks from here on
        let waiter = JoinableThread(name: "mc-pool-drain", daemon: true) { [supervisor, news] in
            supervisor.shutdown(wait: true)
            news.put(true)
        }
        guard (try? waiter.start()) != nil else {
            // No thread, so no waiting with a deadline: the rest is stopped at once.
            let finished = stopTheRest()
            supervisor.shutdown(wait: true)
            return finished
        }
        let limit = gracePeriod >= Threading.timeoutMax ? nil : gracePeriod
        if (try? news.get(timeout: limit)) == true { return true }
        let finished = stopTheRest()
        _ = try? waiter.join() // bounded: every worker has SIGTERM now, and SIGKILL after `killGrace`
        return finished
    }

    /// `run` on a thread of its own; cancelling the awaiting task calls `expire`.
    func runAwaiting() async -> Bool {
        let outcome = Future<Bool>()
        _ = try? outcome.setRunningOrNotifyCancel()
        outcome.setInterruptHandler { [self] in expire() }
        let thread = JoinableThread(name: "mc-pool-drain", daemon: true) { [self] in try? outcome.setResult(run()) }
        guard (try? thread.start()) != nil else {
            expire() // no thread to wait on: stop it all now, blocking for at most `killGrace`
            return run()
        }
        // Cancellation does not end this wait: it ends the grace period, and the pool's end follows.
        return (try? await outcome.value) ?? false
    }

    /// Fails every task not finished with `PoolShutdownError.gracePeriodExpired` and stops the
    /// workers; returns whether there was none.
    private func stopTheRest() -> Bool {
        let unfinished = supervisor.lock.withLock {
            let machine = supervisor.machine
            return machine.pending.map(\.id) + machine.workers.flatMap { worker in
                worker.jobs.lazy.map(\.id).filter { !worker.abandoned.contains($0) }
            }
        }
        supervisor.interrupt(unfinished, failingWith: PoolShutdownError.gracePeriodExpired(gracePeriod))
        supervisor.terminate()
        return unfinished.isEmpty
    }
}
