import CMulticore

/// A primitive lock: one holder at a time, released by any thread. Corresponds to Python's
/// `threading.Lock`.
///
/// Unlike `Synchronization.Mutex` or `NSLock`, a `Lock` is not owned: a thread other than the one
/// that acquired it may release it, as in Python. Releasing it while unlocked throws.
///
/// The lock is one futex word with three states (Drepper, "Futexes Are Tricky", mutex 2):
/// 0 unlocked, 1 locked, 2 locked with possible sleepers. An uncontended acquire and release
/// are one compare-exchange and one exchange; only a release that saw 2 enters the kernel.
public final class Lock: @unchecked Sendable { // all state is the atomic futex word
    @usableFromInline let word = FutexWord(0)

    /// Creates an unlocked lock. Corresponds to Python's `threading.Lock()`.
    public init() {}

    /// Blocks until the lock is acquired. Corresponds to Python's `Lock.acquire()`.
    @available(*, noasync, message: "blocks the thread")
    @inlinable
    public func acquire() {
        if word.compareExchangeAcquiring(expected: 0, desired: 1) { return }
        _ = acquireSlow(deadline: .never)
    }

    /// Acquires the lock, waiting at most `timeout` (nil: forever), and returns whether it did.
    /// With `blocking: false` it only tries once.
    /// Corresponds to Python's `Lock.acquire(blocking=True, timeout=-1)`.
    /// - Throws: `ThreadingError.timeoutOnNonBlockingCall` for a timeout with `blocking: false`,
    ///   `ThreadingError.negativeTimeout` for a negative timeout.
    @available(*, noasync, message: "blocks the thread")
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout, blocking: blocking)
        if word.compareExchangeAcquiring(expected: 0, desired: 1) { return true }
        if !blocking { return false }
        return acquireSlow(deadline: .after(timeout))
    }

    /// How many times a contended acquire checks the lock before it sleeps.
    static let spinLimit = 100

    /// Tries once without blocking. Corresponds to Python's `Lock.acquire(blocking=False)`.
    public func tryAcquire() -> Bool {
        word.compareExchangeAcquiring(expected: 0, desired: 1)
    }

    @usableFromInline @inline(never)
    func acquireSlow(deadline: Deadline) -> Bool {
        // Critical sections are usually short: spin a little while the holder runs, as Rust's
        // and WebKit's locks do, since sleeping and being woken costs tens of microseconds here.
        // Stop spinning as soon as someone sleeps (state 2): then the lock is handed over by wake-up.
        for _ in 0..<Self.spinLimit {
            let state = word.loadRelaxed()
            if state == 0, word.compareExchangeAcquiring(expected: 0, desired: 1) { return true }
            if state == 2 { break }
            mc_cpu_relax()
        }
        // Mark the lock contended (2) so that its release wakes a sleeper, then sleep while it
        // stays held. Taking it from 0 with 2 is correct: at worst one release wakes nobody.
        while word.exchangeAcquiring(2) != 0 {
            if !word.wait(expected: 2, deadline: deadline) {
                // Timed out: one last try, as the lock may have come free just now.
                return word.compareExchangeAcquiring(expected: 0, desired: 2)
            }
        }
        return true
    }

    /// Releases the lock; any thread may release it. Corresponds to Python's `Lock.release()`.
    /// - Throws: `ThreadingError.releaseUnlocked` if the lock is not held.
    @inlinable
    public func release() throws(ThreadingError) {
        let previous = word.exchangeReleasing(0)
        if previous == 1 { return }
        if previous == 0 { throw .releaseUnlocked }
        word.wake(1)
    }

    /// Whether the lock is held by some thread. Corresponds to Python's `Lock.locked()`.
    public var locked: Bool { word.loadRelaxed() != 0 }

    /// Whether the lock is held and a thread may be asleep waiting for it (for tests that must
    /// see a thread blocked on it).
    package var isContended: Bool { word.loadRelaxed() == 2 }

    /// Runs `body` with the lock held and releases it when `body` returns or throws.
    /// Corresponds to Python's `with lock:`.
    @available(*, noasync, message: "blocks the thread")
    @inlinable
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer { releaseHeld() }
        return try body()
    }

    /// Releases a lock this code knows it holds (after its own acquire).
    @inlinable
    func releaseHeld() {
        if word.exchangeReleasing(0) == 2 { word.wake(1) }
    }
}
