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

    /// The sleeper-counted wait every shared primitive uses: counted in `sleepers` first, then
    /// `stillBlocked` asked once more, then asleep while `word` holds `expected` (until woken or
    /// `deadline`). A waker that changed the state either sees the count (and wakes this one,
    /// `wakeSleepers`) or changed it before the second look: no wake-up is lost, and a waker
    /// that sees no sleeper makes no system call.
    static func sleep(on word: UnsafeMutablePointer<Atomic<UInt32>>, expected: UInt32,
                      countedIn sleepers: UnsafeMutablePointer<Atomic<UInt32>>, deadline: Deadline,
                      while stillBlocked: () -> Bool = { true }) {
        sleepers.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if stillBlocked() { _ = wait(word, expected: expected, deadline: deadline) }
        sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Wakes up to `count` of the sleepers on `word`, if `sleepers` counts any.
    static func wakeSleepers(on word: UnsafeMutablePointer<Atomic<UInt32>>,
                             countedIn sleepers: UnsafeMutablePointer<Atomic<UInt32>>, _ count: Int32) {
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) > 0 { wake(word, count) }
    }
}
