import CMulticore
import MulticoreThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A lock shared by processes: put it in a task and every child that receives it locks the
/// same lock. Corresponds to Python's `multiprocessing.Lock`.
///
/// Any thread of any process may release it, as in Python. If a process dies holding it, the
/// next acquirer gets the lock within about 10 ms and is told so by `OwnerDiedError` (Python's
/// waiters wait forever).
///
/// Sending it encodes its name; the receiving process attaches to the same memory. The process
/// that created it keeps it alive: it must hold the lock object while children may still attach.
public final class SharedLock: Codable, Sendable {
    let region: SharedRegion
    private var state: SharedLockWord { SharedLockWord(word: region.word(0)) }
    /// The thread (kernel id) that acquired it last: what `Condition` checks for ownership.
    private var holderThread: UnsafeMutablePointer<Atomic<UInt32>> { region.word(4) }
    static let fieldsSize = 8

    /// Creates an unlocked lock in new shared memory. Python: `multiprocessing.Lock()`.
    /// - Throws: `SharedMemoryError` when the system refuses the memory.
    public init() throws(SharedMemoryError) {
        region = try SharedRegion(create: .lock, size: Self.fieldsSize)
    }

    /// Attaches to the lock a `SharedLock.encode(to:)` named.
    public init(from decoder: any Decoder) throws {
        region = try SharedRegion(attach: String(from: decoder), kind: .lock, size: Self.fieldsSize)
    }

    public func encode(to encoder: any Encoder) throws { try region.name.encode(to: encoder) }

    /// The name of the lock's shared memory block.
    public var name: String { region.name }

    /// Acquires the lock, waiting at most `timeout` (nil: as long as it takes); returns whether
    /// it was acquired. Corresponds to Python's `Lock.acquire(block=True, timeout=None)`.
    /// - Throws: `OwnerDiedError` when the previous holder died: the lock is then held by the
    ///   caller. `ThreadingError.timeoutOnNonBlockingCall`, `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws -> Bool {
        try state.acquire(as: mc_getpid(), blocking: blocking, timeout: timeout) {
            holderThread.pointee.store(UInt32(bitPattern: mc_gettid()), ordering: .relaxed)
        }
    }

    /// Releases the lock, from any thread of any process. Python: `Lock.release()`.
    /// - Throws: `ThreadingError.releaseUnlocked` when it is not locked.
    public func release() throws(ThreadingError) {
        holderThread.pointee.store(0, ordering: .relaxed)
        guard state.release() else { throw .releaseUnlocked }
    }

    /// Whether some thread of some process holds it. Python: `Lock.locked()`... and the pid of
    /// the process holding it is `ownerProcess`.
    public var locked: Bool { state.owner != nil }

    /// The pid of the process that holds it, nil when free.
    public var ownerProcess: Int32? { state.owner }

    /// Whether the calling thread acquired it (Python's `SemLock._is_mine()`).
    var isOwnedByCurrentThread: Bool {
        state.owner == mc_getpid() && holderThread.pointee.load(ordering: .relaxed) == UInt32(bitPattern: mc_gettid())
    }

    /// Runs `body` with the lock held. If the previous holder died, releases the lock and
    /// throws `OwnerDiedError` without running `body`.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R>(_ body: () throws -> R) throws -> R {
        try withSharedLock(acquire: { try acquire() }, release: { try? release() }, body)
    }
}

extension SharedLock: ConditionLock {
    package var isOwnedForCondition: Bool { isOwnedByCurrentThread }

    package func releaseSave() -> Int {
        try? release() // owned: checked by the condition first
        return 1
    }

    package func acquireRestore(_ level: Int) throws { try acquire() }
}
