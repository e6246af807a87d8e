/// A counter that `acquire` decrements, blocking while it is zero, and `release` increments.
/// Corresponds to Python's `threading.Semaphore`. Not named `Semaphore`: Glibc (and so
/// Foundation) has a `Semaphore` type, and the two could not both be used unqualified.
///
/// Built as Python builds it: a `Condition` over a `Lock`, plus the value.
public class CountingSemaphore: @unchecked Sendable { // `value` is guarded by `condition`'s lock
    private let condition = Condition(lock: Lock())
    private var value: Int
    /// The ceiling of a `BoundedSemaphore`; nil for a plain semaphore.
    private let bound: Int?

    /// Creates a semaphore with the given initial value. Corresponds to Python's
    /// `threading.Semaphore(value=1)`.
    /// - Throws: `ThreadingError.negativeSemaphoreValue` for a negative value.
    public convenience init(value: Int = 1) throws(ThreadingError) {
        try self.init(value: value, bound: nil)
    }

    init(value: Int, bound: Int?) throws(ThreadingError) {
        guard value >= 0 else { throw .negativeSemaphoreValue }
        self.value = value
        self.bound = bound
    }

    /// Decrements the value, blocking while it is zero. Corresponds to Python's
    /// `Semaphore.acquire()`.
    @available(*, noasync, message: "blocks the thread")
    public func acquire() {
        _ = try! acquire(blocking: true, timeout: nil) // cannot throw without a timeout
    }

    /// Decrements the value, waiting at most `timeout` (nil: forever) while it is zero; returns
    /// whether it did. Corresponds to Python's `Semaphore.acquire(blocking=True, timeout=None)`.
    /// - Throws: `ThreadingError.timeoutOnNonBlockingCall` or `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout, blocking: blocking)
        let deadline = Deadline.after(timeout)
        return condition.withLock {
            while value == 0 {
                if !blocking || deadline.hasPassed { return false }
                _ = condition.wait(deadline: deadline)
            }
            value -= 1
            return true
        }
    }

    /// Increments the value by `n`, waking up to `n` waiting threads. Corresponds to Python's
    /// `Semaphore.release(n=1)`.
    /// - Throws: `ThreadingError.releaseCountBelowOne` for n < 1;
    ///   `.semaphoreOverReleased` when a `BoundedSemaphore` would pass its initial value.
    public func release(_ n: Int = 1) throws(ThreadingError) {
        guard n >= 1 else { throw .releaseCountBelowOne }
        try condition.withLock { () throws(ThreadingError) in
            if let bound, value + n > bound { throw .semaphoreOverReleased }
            value += n
            try condition.notify(n)
        }
    }

    /// The current value (informational: it may change at once). Python: `Semaphore._value`.
    public var currentValue: Int { condition.withLock { value } }

    /// Runs `body` holding one unit of the semaphore. Corresponds to Python's `with semaphore:`.
    @available(*, noasync, message: "blocks the thread")
    public func withAcquired<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer { try? release() } // a unit this call took: cannot over-release
        return try body()
    }
}

/// A semaphore that refuses to be released above its initial value, catching releases that
/// have no matching acquire. Corresponds to Python's `threading.BoundedSemaphore`.
public final class BoundedSemaphore: CountingSemaphore, @unchecked Sendable { // adds no state
    /// Corresponds to Python's `threading.BoundedSemaphore(value=1)`.
    /// - Throws: `ThreadingError.negativeSemaphoreValue` for a negative value.
    public init(value: Int = 1) throws(ThreadingError) {
        try super.init(value: value, bound: value)
    }
}
