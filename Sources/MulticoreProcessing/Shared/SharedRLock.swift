import CMulticore
import MulticoreThreading
import Synchronization

/// A reentrant lock shared by processes: the thread holding it may acquire it again, and must
/// release it as many times. Corresponds to Python's `multiprocessing.RLock`.
///
/// If the thread holding it dies, or its process does, the next acquirer gets it within about
/// 10 ms with `OwnerDiedError`.
public final class SharedRLock: Codable, Sendable {
    let region: SharedRegion
    /// The lock word holds the owning thread's kernel id (unique in the system).
    private var state: SharedLockWord { SharedLockWord(word: region.word(0)) }
    /// The recursion level; touched only by the owner.
    private var level: UnsafeMutablePointer<Atomic<UInt32>> { region.word(4) }
    static let fieldsSize = 8

    /// Creates an unlocked reentrant lock in new shared memory. Python: `multiprocessing.RLock()`.
    public init() throws(SharedMemoryError) {
        region = try SharedRegion(create: .rlock, size: Self.fieldsSize)
    }

    public init(from decoder: any Decoder) throws {
        region = try SharedRegion(attach: String(from: decoder), kind: .rlock, size: Self.fieldsSize)
    }

    public func encode(to encoder: any Encoder) throws { try region.name.encode(to: encoder) }

    /// The name of the lock's shared memory block.
    public var name: String { region.name }

    /// Acquires the lock (once more, if the calling thread holds it). Python: `RLock.acquire()`.
    /// - Throws: `OwnerDiedError` (the lock is then held once by the caller);
    ///   `ThreadingError.timeoutOnNonBlockingCall`, `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws -> Bool {
        if timeout != nil { try checkTimeout(timeout, blocking: blocking) } // nothing to check without one
        let me = mc_gettid()
        // Free: taken at once (the common case, worth no more than a compare-and-swap).
        if state.tryAcquire(as: me) {
            level.pointee.store(1, ordering: .relaxed)
            return true
        }
        if state.owner == me { // only the owner touches the level: no atomic read-modify-write
            level.pointee.store(level.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
            return true
        }
        return try state.acquire(as: me, blocking: blocking, timeout: timeout) {
            level.pointee.store(1, ordering: .relaxed)
        }
    }

    /// Releases one level. Python: `RLock.release()`.
    /// - Throws: `ThreadingError.releaseNotOwned` when the calling thread does not hold it.
    public func release() throws(ThreadingError) {
        guard state.owner == mc_gettid() else { throw .releaseNotOwned }
        let remaining = level.pointee.load(ordering: .relaxed) &- 1
        level.pointee.store(remaining, ordering: .relaxed)
        if remaining == 0 { _ = state.release() }
    }

    /// Whether any thread, in any process, holds it (a snapshot). Python 3.14: `RLock.locked()`.
    public var locked: Bool { state.owner != nil }

    /// Whether the calling thread holds it.
    public var isOwnedByCurrentThread: Bool { state.owner == mc_gettid() }

    /// How many times the calling thread holds it (0 when it does not).
    public var recursionCount: Int { isOwnedByCurrentThread ? Int(level.pointee.load(ordering: .relaxed)) : 0 }

    /// Releases every level the calling thread holds and returns how many (for `SharedCondition.wait`).
    package func releaseSave() -> Int {
        let count = recursionCount
        level.pointee.store(0, ordering: .relaxed)
        _ = state.release()
        return count
    }

    /// Acquires the lock and sets its level to `count`: how `SharedCondition.wait` takes it back.
    package func acquireRestore(_ count: Int) throws {
        defer { if state.owner == mc_gettid() { level.pointee.store(UInt32(count), ordering: .relaxed) } }
        try acquire()
    }

    /// Runs `body` with the lock held once more. If the previous holder died, releases the lock
    /// and throws `OwnerDiedError` without running `body`.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R>(_ body: () throws -> R) throws -> R {
        try withSharedLock(acquire: { try acquire() }, release: { try? release() }, body)
    }
}

extension SharedRLock: ConditionLock {
    package var isOwnedForCondition: Bool { isOwnedByCurrentThread }
}
