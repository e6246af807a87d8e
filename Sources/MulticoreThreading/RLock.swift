import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A reentrant lock: the thread that holds it may acquire it again, and must release it as many
/// times. Corresponds to Python's `threading.RLock`.
///
/// Only the owner may release it; any other thread's release throws.
public final class RLock: @unchecked Sendable { // `count` is touched only by the owner; `owner` is atomic
    private let lock = Lock()
    /// The owning thread's `pthread_self()`, 0 when free. Only the owner ever stores its own id,
    /// so a thread that reads its own id here knows it owns the lock.
    private let ownerID = Atomic<UInt>(0)
    private var count = 0

    /// Creates an unlocked reentrant lock. Corresponds to Python's `threading.RLock()`.
    public init() {}

    @inline(__always) static var currentID: UInt { UInt(pthread_self()) }

    /// Blocks until the calling thread holds the lock, then adds one level of recursion.
    /// Corresponds to Python's `RLock.acquire()`.
    @available(*, noasync, message: "blocks the thread")
    public func acquire() {
        let me = Self.currentID
        if ownerID.load(ordering: .relaxed) == me { count += 1; return }
        lock.acquire()
        ownerID.store(me, ordering: .relaxed)
        count = 1
    }

    /// Acquires the lock, waiting at most `timeout` (nil: forever); returns whether it did.
    /// Corresponds to Python's `RLock.acquire(blocking=True, timeout=-1)`.
    /// - Throws: `ThreadingError.timeoutOnNonBlockingCall` or `.negativeTimeout`, as Python does.
    @available(*, noasync, message: "blocks the thread")
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout, blocking: blocking)
        let me = Self.currentID
        if ownerID.load(ordering: .relaxed) == me { count += 1; return true }
        guard try lock.acquire(blocking: blocking, timeout: timeout) else { return false }
        ownerID.store(me, ordering: .relaxed)
        count = 1
        return true
    }

    /// Removes one level of recursion; the lock is free when the count reaches zero.
    /// Corresponds to Python's `RLock.release()`.
    /// - Throws: `ThreadingError.releaseNotOwned` when the calling thread does not hold it.
    public func release() throws(ThreadingError) {
        guard ownerID.load(ordering: .relaxed) == Self.currentID else { throw .releaseNotOwned }
        count -= 1
        if count == 0 {
            ownerID.store(0, ordering: .relaxed)
            lock.releaseHeld()
        }
    }

    /// Whether some thread holds the lock. Corresponds to Python's `RLock.locked()` (3.14).
    public var locked: Bool { lock.locked }

    /// Whether the calling thread holds the lock. Corresponds to Python's `RLock._is_owned()`.
    public var isOwnedByCurrentThread: Bool { ownerID.load(ordering: .relaxed) == Self.currentID }

    /// The `ident` of the owning thread, nil when free. Corresponds to Python's `RLock._owner`.
    public var owner: UInt? {
        let id = ownerID.load(ordering: .relaxed)
        return id == 0 ? nil : id
    }

    /// How many times the calling thread holds the lock (0 if it does not).
    /// Corresponds to Python's `RLock._recursion_count()`.
    public var recursionCount: Int { isOwnedByCurrentThread ? count : 0 }

    /// Runs `body` with the lock held once more, releasing that level when it returns or throws.
    /// Corresponds to Python's `with rlock:`.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer { try? release() } // fails only if `body` released this level itself
        return try body()
    }

}

extension RLock: ConditionLock {
    package var isOwnedForCondition: Bool { isOwnedByCurrentThread }

    /// Releases every level at once and returns the count to restore later.
    package func releaseSave() -> Int {
        let saved = count
        count = 0
        ownerID.store(0, ordering: .relaxed)
        lock.releaseHeld()
        return saved
    }

    package func acquireRestore(_ saved: Int) {
        lock.acquire()
        ownerID.store(Self.currentID, ordering: .relaxed)
        count = saved
    }
}
