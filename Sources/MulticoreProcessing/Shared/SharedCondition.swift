import CMulticore
import MulticoreThreading
import Synchronization

/// A condition variable shared by processes, over a `SharedRLock` (the default) or a
/// `SharedLock`. Corresponds to Python's `multiprocessing.Condition`, and uses its algorithm:
/// three shared counters (sleepers, woken, wake-ups), so that `notify(n)` wakes exactly n
/// sleepers (fewer if fewer sleep) and returns once they are awake.
public final class SharedCondition: Codable, Sendable {
    enum Underlying: Sendable {
        case lock(SharedLock)
        case rlock(SharedRLock)
    }

    let region: SharedRegion
    let underlying: Underlying
    private var sleeping: SharedCounter { SharedCounter(value: region.word(0), sleepers: region.word(4)) }
    private var woken: SharedCounter { SharedCounter(value: region.word(8), sleepers: region.word(12)) }
    private var wakeups: SharedCounter { SharedCounter(value: region.word(16), sleepers: region.word(20)) }
    static let fieldsSize = 24

    /// A condition over a new `SharedRLock`. Python: `multiprocessing.Condition()`.
    public convenience init() throws(SharedMemoryError) {
        try self.init(underlying: .rlock(SharedRLock()))
    }

    /// A condition over `lock`. Python: `multiprocessing.Condition(lock)`.
    public convenience init(lock: SharedLock) throws(SharedMemoryError) {
        try self.init(underlying: .lock(lock))
    }

    /// A condition over `lock`. Python: `multiprocessing.Condition(lock)`.
    public convenience init(lock: SharedRLock) throws(SharedMemoryError) {
        try self.init(underlying: .rlock(lock))
    }

    private init(underlying: Underlying) throws(SharedMemoryError) {
        self.underlying = underlying
        region = try SharedRegion(create: .condition, size: Self.fieldsSize)
    }

    private enum CodingKeys: String, CodingKey { case name, lock, rlock }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        region = try SharedRegion(attach: container.decode(String.self, forKey: .name), kind: .condition, size: Self.fieldsSize)
        // Both keys are always read: a positional format has no way to skip one.
        let lock = try container.decodeIfPresent(SharedLock.self, forKey: .lock)
        let rlock = try container.decodeIfPresent(SharedRLock.self, forKey: .rlock)
        if let lock {
            underlying = .lock(lock)
        } else if let rlock {
            underlying = .rlock(rlock)
        } else {
            throw DecodingError.valueNotFound(SharedRLock.self, .init(codingPath: container.codingPath, debugDescription: "a condition without a lock"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(region.name, forKey: .name)
        switch underlying {
        case .lock(let lock):
            try container.encodeIfPresent(lock, forKey: .lock)
            try container.encodeIfPresent(nil as SharedRLock?, forKey: .rlock)
        case .rlock(let lock):
            try container.encodeIfPresent(nil as SharedLock?, forKey: .lock)
            try container.encodeIfPresent(lock, forKey: .rlock)
        }
    }

    // MARK: The lock

    /// Acquires the underlying lock. Python: `Condition.acquire()`.
    /// - Throws: `OwnerDiedError` (the lock is then held); `ThreadingError` for bad timeouts.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws -> Bool {
        switch underlying {
        case .lock(let lock): try lock.acquire(blocking: blocking, timeout: timeout)
        case .rlock(let lock): try lock.acquire(blocking: blocking, timeout: timeout)
        }
    }

    /// Releases the underlying lock. Python: `Condition.release()`.
    public func release() throws(ThreadingError) {
        switch underlying {
        case .lock(let lock): try lock.release()
        case .rlock(let lock): try lock.release()
        }
    }

    /// Runs `body` with the lock held. Throws `OwnerDiedError`, without running `body`, when the
    /// previous holder died.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R>(_ body: () throws -> R) throws -> R {
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

    // MARK: Waiting

    /// Releases the lock (every level of a reentrant one), waits for a notification or the
    /// timeout, and takes the lock back; returns false when it timed out.
    /// Python: `Condition.wait(timeout=None)`.
    /// - Throws: `ThreadingError.waitWithoutLock`, `.negativeTimeout`; `OwnerDiedError` when
    ///   taking the lock back found its holder dead (the lock is then held).
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Bool {
        guard isOwned else { throw ThreadingError.waitWithoutLock }
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout)
        _ = sleeping.increment(1, bound: nil)
        let lock = conditionLock
        let level = lock.releaseSave()
        let notified = wakeups.decrement(deadline: deadline)
        _ = woken.increment(1, bound: nil)
        try lock.acquireRestore(level)
        return notified
    }

    /// Waits until `predicate` holds or the timeout passes; returns the predicate's last value.
    /// Python: `Condition.wait_for(predicate, timeout=None)`.
    @available(*, noasync, message: "blocks the thread")
    public func waitFor(timeout: Duration? = nil, _ predicate: () throws -> Bool) throws -> Bool {
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout)
        var result = try predicate()
        while !result {
            let left = deadline.remaining
            if let left, left <= .zero { break }
            try wait(timeout: left)
            result = try predicate()
        }
        return result
    }

    /// Wakes up to `n` waiters, in any process, and returns once they are awake.
    /// Python: `Condition.notify(n=1)`.
    /// - Throws: `ThreadingError.notifyWithoutLock`.
    @available(*, noasync, message: "waits for the woken waiters")
    public func notify(_ n: Int = 1) throws(ThreadingError) {
        guard isOwned else { throw .notifyWithoutLock }
        // Account for waiters that timed out since the last notify: each left a "woken" mark
        // without having been counted out of "sleeping".
        while woken.tryDecrement() { _ = sleeping.tryDecrement() }
        var woke = 0
        while woke < n, sleeping.tryDecrement() {
            _ = wakeups.increment(1, bound: nil)
            woke += 1
        }
        guard woke > 0 else { return }
        for _ in 0..<woke { _ = woken.decrement(deadline: .never) }
        // A waiter that timed out while being woken left its wake-up unused: take it back.
        while wakeups.tryDecrement() {}
    }

    /// How many waiters sleep now (for tests): sleepers counted minus those that left.
    var sleeperCount: Int {
        Int(sleeping.value.pointee.load(ordering: .relaxed)) - Int(woken.value.pointee.load(ordering: .relaxed))
    }

    /// Wakes every waiter. Python: `Condition.notify_all()`.
    @available(*, noasync, message: "waits for the woken waiters")
    public func notifyAll() throws(ThreadingError) { try notify(Int.max) }
}
