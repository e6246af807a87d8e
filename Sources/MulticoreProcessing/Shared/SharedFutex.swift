import MulticoreSystem
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
        return Futex.wait(raw, expected: expected, deadlineNanoseconds: deadline.nanoseconds, shared: true)
    }

    static func wake(_ word: UnsafeMutablePointer<Atomic<UInt32>>, _ count: Int32) {
        let raw = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        Futex.wake(raw, count: count, shared: true)
    }
}
