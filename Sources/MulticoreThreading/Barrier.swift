/// A meeting point for a fixed number of threads: each `wait` blocks until `parties` threads
/// have called it, then all are released together and the barrier is ready for the next cycle.
/// Corresponds to Python's `threading.Barrier`, with its states (see `BarrierPhase`).
public final class Barrier: @unchecked Sendable { // all state is guarded by `condition`'s lock
    private let condition = Condition(lock: Lock())
    private let action: (@Sendable () throws -> Void)?
    private let defaultTimeout: Duration?
    private let cycle: Cycle

    /// The phase and count, kept in memory.
    private final class Cycle: BarrierStorage {
        let condition: Condition
        let parties: Int
        var phase = BarrierPhase.filling
        var count = 0

        init(condition: Condition, parties: Int) {
            self.condition = condition
            self.parties = parties
        }

        func waitForChange(until deadline: Deadline) { _ = condition.wait(deadline: deadline) }
        func notifyAll() { condition.notifyAllHeld() }
    }

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
        cycle = Cycle(condition: condition, parties: parties)
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
        return try condition.withLock { try cycle.passThrough(deadline: deadline, action: action) }
    }

    /// Returns the barrier to its initial state; threads waiting in it get `BrokenBarrierError`.
    /// Corresponds to Python's `Barrier.reset()`.
    public func reset() {
        condition.withLock { try? cycle.resetCycle() }
    }

    /// Breaks the barrier: current and future waits throw `BrokenBarrierError` until `reset()`.
    /// Corresponds to Python's `Barrier.abort()`.
    public func abort() {
        condition.withLock { cycle.breakBarrier() }
    }

    /// The number of threads waiting in the current cycle. Python: `Barrier.n_waiting`.
    public var waitingCount: Int { condition.withLock { cycle.waitingCount } }

    /// Whether the barrier is broken. Python: `Barrier.broken`.
    public var isBroken: Bool { condition.withLock { cycle.phase == .broken } }
}
