/// A meeting point for a fixed number of threads: each `wait` blocks until `parties` threads
/// have called it, then all are released together and the barrier is ready for the next cycle.
/// Corresponds to Python's `threading.Barrier`.
///
/// States, as in Python (where they are the integers 0, 1, -1, -2):
/// - `filling`: threads arrive; the last one runs the action and switches to `draining`.
/// - `draining`: the released threads leave; the last to leave switches back to `filling`.
///   New arrivals wait until then, so cycles never mix.
/// - `resetting`: `reset()` was called with threads inside; they leave with `BrokenBarrierError`
///   and the last to leave switches to `filling`.
/// - `broken`: a wait timed out, the action threw, or `abort()` was called; every wait throws
///   `BrokenBarrierError` until `reset()`.
public final class Barrier: @unchecked Sendable { // all state is guarded by `condition`'s lock
    enum State { case filling, draining, resetting, broken }

    private let condition = Condition(lock: Lock())
    private let action: (@Sendable () throws -> Void)?
    private let defaultTimeout: Duration?
    private var state = State.filling
    private var count = 0

    /// The number of threads required to pass the barrier. Python: `Barrier.parties`.
    public let parties: Int

    /// Creates a barrier for `parties` threads. `action`, if given, is run by one of the threads
    /// once all have arrived and before any is released; `timeout` is the default for `wait`.
    /// Corresponds to Python's `threading.Barrier(parties, action=None, timeout=None)`.
    /// - Throws: `ThreadingError.invalidParties` when `parties` < 1; `.negativeTimeout`.
    public init(parties: Int, timeout: Duration? = nil, action: (@Sendable () throws -> Void)? = nil) throws(ThreadingError) {
        guard parties >= 1 else { throw .invalidParties }
        try checkTimeout(timeout)
        self.parties = parties
        self.defaultTimeout = timeout
        self.action = action
    }

    /// Waits until all parties have arrived, and returns this thread's arrival index, from 0 to
    /// `parties - 1`, distinct within a cycle. Corresponds to Python's `Barrier.wait(timeout=None)`.
    /// - Parameter timeout: overrides the barrier's default timeout.
    /// - Throws: `BrokenBarrierError` when the barrier is or becomes broken, or is reset while
    ///   waiting; when this wait times out (the barrier is then broken for all); or the error the
    ///   action threw (the barrier is then broken). `ThreadingError.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Int {
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout ?? defaultTimeout)
        return try condition.withLock { () throws -> Int in
            try enter()
            let index = count
            count += 1
            defer {
                count -= 1
                exit()
            }
            if index + 1 == parties {
                try release()
            } else {
                try waitForRelease(deadline: deadline)
            }
            return index
        }
    }

    /// Blocks while the previous cycle drains or a reset completes.
    private func enter() throws(BrokenBarrierError) {
        while state == .draining || state == .resetting {
            _ = condition.wait(deadline: .never)
        }
        if state == .broken { throw BrokenBarrierError() }
    }

    /// The last arrival: run the action, then release everyone.
    private func release() throws {
        do {
            try action?()
            state = .draining
            try condition.notifyAll()
        } catch {
            breakBarrier()
            throw error
        }
    }

    private func waitForRelease(deadline: Deadline) throws(BrokenBarrierError) {
        while state == .filling {
            if deadline.hasPassed {
                breakBarrier()
                throw BrokenBarrierError()
            }
            _ = condition.wait(deadline: deadline)
        }
        if state == .broken || state == .resetting { throw BrokenBarrierError() }
    }

    /// The last thread to leave a draining or resetting barrier opens it for the next cycle.
    private func exit() {
        if count == 0, state == .draining || state == .resetting {
            state = .filling
            condition.notifyAllHeld()
        }
    }

    private func breakBarrier() {
        state = .broken
        condition.notifyAllHeld()
    }

    /// Returns the barrier to its initial state; threads waiting in it get `BrokenBarrierError`.
    /// Corresponds to Python's `Barrier.reset()`.
    public func reset() {
        condition.withLock {
            if count > 0 {
                if state == .filling || state == .broken { state = .resetting }
            } else {
                state = .filling
            }
            condition.notifyAllHeld()
        }
    }

    /// Breaks the barrier: current and future waits throw `BrokenBarrierError` until `reset()`.
    /// Corresponds to Python's `Barrier.abort()`.
    public func abort() {
        condition.withLock { breakBarrier() }
    }

    /// The number of threads waiting in the current cycle. Python: `Barrier.n_waiting`.
    public var waitingCount: Int { condition.withLock { state == .filling ? count : 0 } }

    /// Whether the barrier is broken. Python: `Barrier.broken`.
    public var isBroken: Bool { condition.withLock { state == .broken } }
}
