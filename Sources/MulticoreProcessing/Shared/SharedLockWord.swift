import CMulticore
import MulticoreThreading
import Synchronization

/// The lock algorithm under `SharedLock` and `SharedRLock`: a 32-bit futex word in shared
/// memory holding the owner's id (a pid or a thread id) shifted left by one, plus a bit that
/// says others may be waiting. 0 means free.
///
/// Because the word names its owner, a waiter can tell that the owner died: it sleeps in slices
/// of at most `livenessSlice`, and after each one checks that the owner still exists. If not,
/// it takes the lock over and reports `OwnerDiedError`.
struct SharedLockWord {
    enum Outcome: Equatable { case acquired, timedOut, ownerDied(Int32) }

    static let livenessSlice: Int64 = 10_000_000 // 10 ms
    private static let spinLimit = 100

    let word: UnsafeMutablePointer<Atomic<UInt32>>

    /// The owner's id, nil when free.
    var owner: Int32? {
        let value = word.pointee.load(ordering: .acquiring)
        return value == 0 ? nil : Int32(value >> 1)
    }

    func tryAcquire(as id: Int32) -> Bool {
        word.pointee.compareExchange(expected: 0, desired: UInt32(id) << 1, ordering: .acquiring).exchanged
    }

    func acquire(as id: Int32, deadline: Deadline) -> Outcome {
        if tryAcquire(as: id) { return .acquired }
        let mine = UInt32(id) << 1 | 1
        var spins = 0
        while true {
            var current = word.pointee.load(ordering: .relaxed)
            if current == 0 {
                // Taken as "maybe contended": this thread cannot know whether others sleep.
                if word.pointee.compareExchange(expected: 0, desired: mine, ordering: .acquiring).exchanged { return .acquired }
                continue
            }
            if spins < Self.spinLimit, current & 1 == 0 {
                spins += 1
                mc_cpu_relax()
                continue
            }
            if current & 1 == 0 {
                guard word.pointee.compareExchange(expected: current, desired: current | 1, ordering: .relaxed).exchanged else { continue }
                current |= 1
            }
            let now = mc_monotonic_ns()
            if !deadline.isNever, now >= deadline.nanoseconds { return .timedOut }
            let slice = Deadline(nanoseconds: deadline.isNever ? now + Self.livenessSlice
                                                               : min(deadline.nanoseconds, now + Self.livenessSlice))
            if !SharedFutex.wait(word, expected: current, deadline: slice) {
                let holder = word.pointee.load(ordering: .relaxed)
                if holder != 0, mc_process_exists(Int32(holder >> 1)) == 0,
                   word.pointee.compareExchange(expected: holder, desired: mine, ordering: .acquiring).exchanged {
                    return .ownerDied(Int32(holder >> 1))
                }
            }
        }
    }

    /// Python's `acquire(blocking, timeout)` on the word, for `id`: whether it was acquired.
    /// `took` runs once the word is held, before an `OwnerDiedError` is thrown (with it held).
    func acquire(as id: Int32, blocking: Bool, timeout: Duration?, took: () -> Void) throws -> Bool {
        try checkTimeout(timeout, blocking: blocking)
        let outcome = blocking ? acquire(as: id, deadline: .after(timeout)) : (tryAcquire(as: id) ? .acquired : .timedOut)
        switch outcome {
        case .timedOut:
            return false
        case .acquired:
            took()
            return true
        case .ownerDied(let owner):
            took()
            throw OwnerDiedError(owner: owner)
        }
    }

    /// Frees the word; false when it was free already.
    func release() -> Bool {
        let previous = word.pointee.exchange(0, ordering: .releasing)
        if previous & 1 != 0 { SharedFutex.wake(word, 1) }
        return previous != 0
    }
}

/// `withLock` of the shared locks: runs `body` between `acquire` and `release`. When the
/// previous holder died, releases the lock and rethrows `OwnerDiedError` without running `body`
/// (the caller that wants to repair uses `acquire` itself).
func withSharedLock<R>(acquire: () throws -> Void, release: () -> Void, _ body: () throws -> R) throws -> R {
    do {
        try acquire()
    } catch let error as OwnerDiedError {
        release()
        throw error
    }
    defer { release() }
    return try body()
}
