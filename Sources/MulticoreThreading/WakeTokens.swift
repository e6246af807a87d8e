import Synchronization

/// Tokens that threads wait for and others hand out: a counting semaphore on one futex word,
/// for a thread pool's idle workers.
///
/// Unlike `CountingSemaphore` (Python's: a `Condition` over a `Lock`), handing a token out takes
/// no lock, so the pool hands it out after releasing its own lock: the woken thread does not wake
/// into a lock still held (and go back to sleep on it). Handing one out makes a system call only
/// when a thread sleeps.
final class WakeTokens: @unchecked Sendable { // its state is two atomics
    /// Tokens handed out and not yet taken; threads sleep on it while it is 0.
    private let tokens = FutexWord(0)
    /// Threads asleep or about to sleep on `tokens`.
    private let sleepers = Atomic<UInt32>(0)

    /// Hands out `count` tokens, waking up to as many waiting threads.
    func post(_ count: Int = 1) {
        guard count > 0 else { return }
        tokens.atomic.pointee.wrappingAdd(UInt32(clamping: count), ordering: .sequentiallyConsistent)
        // Sequentially consistent on both sides: either this sees the sleeper, or the sleeper
        // sees the token before it sleeps (and the futex itself refuses to sleep on a changed word).
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 { tokens.wake(Int32(clamping: count)) }
    }

    /// Takes a token, sleeping until there is one.
    func wait() {
        while true {
            var current = tokens.loadAcquiring()
            while current > 0 {
                if tokens.compareExchangeAcquiring(expected: current, desired: current - 1) { return }
                current = tokens.loadAcquiring()
            }
            sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if tokens.atomic.pointee.load(ordering: .sequentiallyConsistent) == 0 {
                _ = tokens.wait(expected: 0, deadline: .never)
            }
            sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }
}
