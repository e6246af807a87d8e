/// A flag that threads wait on until another sets it. Corresponds to Python's `threading.Event`.
public final class Event: @unchecked Sendable { // `flag` is guarded by `condition`'s lock
    private let condition = Condition(lock: Lock())
    private var flag = false

    /// Creates a cleared event. Corresponds to Python's `threading.Event()`.
    public init() {}

    /// Whether the flag is set. Corresponds to Python's `Event.is_set()`.
    public var isSet: Bool { condition.withLock { flag } }

    /// Sets the flag and wakes every waiter. Corresponds to Python's `Event.set()`.
    public func set() {
        condition.withLock {
            flag = true
            try! condition.notifyAll() // cannot throw: the lock is held
        }
    }

    /// How many threads are asleep in `wait` (for tests).
    var waitingCount: Int { condition.waitingCount }

    /// Clears the flag. Corresponds to Python's `Event.clear()`.
    public func clear() {
        condition.withLock { flag = false }
    }

    /// Blocks until the flag is set or `timeout` passes (nil: no limit); returns true if the
    /// flag was set while it waited, even if it was cleared again before this thread woke (a
    /// `set()` then `clear()` releases every waiter), false if it timed out.
    /// Corresponds to Python's `Event.wait(timeout=None)` (gh-57711: the result of the notified
    /// wait, not a second look at the flag).
    /// - Throws: `ThreadingError.negativeTimeout` for a negative timeout.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout)
        return condition.withLock {
            if flag { return true }
            // Only `set()` notifies, and a condition's wait never returns spuriously: notified
            // means the flag was set since this thread went to sleep.
            return condition.wait(deadline: deadline)
        }
    }
}
