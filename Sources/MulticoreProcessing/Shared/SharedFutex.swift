import CMulticore
import MulticoreThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A futex word in shared memory: sleep while it holds a value, wake sleepers in any process.
enum SharedFutex {
    /// Sleeps while `word` holds `expected`, until woken or `deadline`; false when it timed out.
    static func wait(_ word: UnsafeMutablePointer<Atomic<UInt32>>, expected: UInt32, deadline: Deadline) -> Bool {
        let raw = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        return mc_shared_futex_wait(raw, expected, deadline.nanoseconds) != ETIMEDOUT
    }

    static func wake(_ word: UnsafeMutablePointer<Atomic<UInt32>>, _ count: Int32) {
        let raw = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        _ = mc_shared_futex_wake(raw, count)
    }
}
