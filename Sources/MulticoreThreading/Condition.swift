import DequeModule

/// A condition variable: threads wait until another thread notifies them, holding a shared lock
/// around the state they check. Corresponds to Python's `threading.Condition`.
///
/// The lock defaults to an `RLock`, which `wait` fully releases (whatever its recursion count)
/// and restores before returning, as Python does. Each waiter sleeps on a private lock of its
/// own, queued in arrival order, so `notify(n)` wakes exactly the `n` longest-waiting threads and
/// a wait never returns spuriously: `true` means notified, `false` means timed out.
public final class Condition: @unchecked Sendable { // `waiters` is guarded by the condition's lock
    enum Underlying: Sendable {
        case lock(Lock)
        case rlock(RLock)
    }

    let underlying: Underlying
    /// Guarded by the condition's lock, so the per-access exclusivity check (a runtime call on
    /// every read and write of a class property) is turned off.
    @exclusivity(unchecked) private var waiters: Deque<Lock> = []

    /// How many threads are waiting to be notified (for tests).
    var waitingCount: Int { withLock { waiters.count } }

    /// A condition over a new `RLock`. Corresponds to Python's `threading.Condition()`.
    public init() { underlying = .rlock(RLock()) }

    /// A condition over `lock`. Corresponds to Python's `threading.Condition(lock)`.
    public init(lock: Lock) { underlying = .lock(lock) }

    /// A condition over `lock`. Corresponds to Python's `threading.Condition(rlock)`.
    public init(lock: RLock) { underlying = .rlock(lock) }

    // MARK: The lock

    /// Acquires the underlying lock. Corresponds to Python's `Condition.acquire()`.
    @available(*, noasync, message: "blocks the thread")
    public func acquire() {
        switch underlying {
        case .lock(let lock): lock.acquire()
        case .rlock(let lock): lock.acquire()
        }
    }

    /// Acquires the underlying lock with Python's `acquire(blocking, timeout)` rules.
    @available(*, noasync, message: "blocks the thread")
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        switch underlying {
        case .lock(let lock): try lock.acquire(blocking: blocking, timeout: timeout)
        case .rlock(let lock): try lock.acquire(blocking: blocking, timeout: timeout)
        }
    }

    /// Releases the underlying lock. Corresponds to Python's `Condition.release()`.
    public func release() throws(ThreadingError) {
        switch underlying {
        case .lock(let lock): try lock.release()
        case .rlock(let lock): try lock.release()
        }
    }

    /// Runs `body` holding the lock. Corresponds to Python's `with condition:`.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        switch underlying {
        case .lock(let lock): try lock.withLock(body)
        case .rlock(let lock): try lock.withLock(body)
        }
    }

    /// The lock, as a condition uses it (`ConditionLock`).
    private var conditionLock: any ConditionLock {
        switch underlying {
        case .lock(let lock): lock
        case .rlock(let lock): lock
        }
    }

    private var isOwned: Bool { conditionLock.isOwnedForCondition }

    // MARK: Waiting and notifying

    /// How many threads are waiting (call with the lock held). Python: `len(Condition._waiters)`.
    var waiterCount: Int { waiters.count }

    /// Releases the lock, sleeps until notified or until `timeout` passes (nil: no limit), then
    /// reacquires the lock. Returns false if it timed out. Corresponds to Python's
    /// `Condition.wait(timeout=None)`.
    /// - Throws: `ThreadingError.waitWithoutLock` if the calling thread does not hold the lock;
    ///   `.negativeTimeout` for a negative timeout.
    @available(*, noasync, message: "blocks the thread")
    public func wait(timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        guard isOwned else { throw .waitWithoutLock }
        try checkTimeout(timeout)
        return wait(deadline: .after(timeout))
    }

    /// Waits with the lock held and already checked; the core of `wait` and `waitFor`.
    ///
    /// The calling thread's waiter lock is held while it is queued; `notify` releases it, which
    /// is what wakes the thread. A waiter that timed out may have been released by a `notify`
    /// just after (that notification counts for it, as in CPython): either way the lock is
    /// free or held by this thread when the next wait starts, and `tryAcquire` makes it held.
    @usableFromInline
    func wait(deadline: Deadline) -> Bool {
        let waiter = ThreadState.current.conditionWaiter
        _ = waiter.tryAcquire()
        waiters.append(waiter)
        let lock = conditionLock
        let saved = lock.releaseSave()
        let notified: Bool
        if deadline.isNever {
            waiter.acquire()
            notified = true
        } else {
            notified = waiter.acquireUntil(deadline)
        }
        try? lock.acquireRestore(saved) // a thread lock's never throws
        if !notified, let index = waiters.firstIndex(where: { $0 === waiter }) {
            waiters.remove(at: index)
        }
        return notified
    }

    /// Waits until `predicate` is true, or until `timeout` passes; returns the predicate's last
    /// value. The predicate is evaluated with the lock held. Corresponds to Python's
    /// `Condition.wait_for(predicate, timeout=None)`.
    /// - Throws: `ThreadingError.waitWithoutLock` if the calling thread does not hold the lock.
    @available(*, noasync, message: "blocks the thread")
    public func waitFor(timeout: Duration? = nil, _ predicate: () throws -> Bool) throws -> Bool {
        guard isOwned else { throw ThreadingError.waitWithoutLock }
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout)
        var result = try predicate()
        while !result {
            if deadline.hasPassed { break }
            _ = wait(deadline: deadline)
            result = try predicate()
        }
        return result
    }

    /// Wakes up to `n` waiting threads, longest-waiting first. Corresponds to Python's
    /// `Condition.notify(n=1)`.
    /// - Throws: `ThreadingError.notifyWithoutLock` if the calling thread does not hold the lock.
    public func notify(_ n: Int = 1) throws(ThreadingError) {
        guard isOwned else { throw .notifyWithoutLock }
        var left = n
        while left > 0, let waiter = waiters.popFirst() {
            waiter.releaseHeld()
            left -= 1
        }
    }

    /// `notify(1)` for callers that hold the lock by construction: skips the ownership check,
    /// and costs one branch when nobody waits.
    @usableFromInline
    func notifyOneHeld() {
        if let waiter = waiters.popFirst() { waiter.releaseHeld() }
    }

    /// `notifyAll()` for callers that hold the lock by construction.
    @usableFromInline
    func notifyAllHeld() {
        while let waiter = waiters.popFirst() { waiter.releaseHeld() }
    }

    /// Wakes every waiting thread. Corresponds to Python's `Condition.notify_all()`.
    /// - Throws: `ThreadingError.notifyWithoutLock` if the calling thread does not hold the lock.
    public func notifyAll() throws(ThreadingError) {
        try notify(Int.max)
    }
}

extension Lock {
    /// Acquires before `deadline`; false if it passed.
    func acquireUntil(_ deadline: Deadline) -> Bool {
        if tryAcquire() { return true }
        return acquireSlow(deadline: deadline)
    }
}
