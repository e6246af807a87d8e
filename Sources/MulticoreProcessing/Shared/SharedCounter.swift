import CMulticore
import MulticoreThreading
import Synchronization

/// The counter under `SharedSemaphore`: a futex word holding the value, and a count of sleepers
/// so that a release makes a system call only when someone sleeps.
struct SharedCounter {
    let value: UnsafeMutablePointer<Atomic<UInt32>>
    let sleepers: UnsafeMutablePointer<Atomic<UInt32>>

    func tryDecrement() -> Bool {
        var current = value.pointee.load(ordering: .relaxed)
        while current > 0 {
            let (exchanged, found) = value.pointee.compareExchange(expected: current, desired: current - 1, ordering: .acquiring)
            if exchanged { return true }
            current = found
        }
        return false
    }

    /// Decrements the value once it is above zero; false when `deadline` passed first.
    func decrement(deadline: Deadline) -> Bool {
        while true {
            if tryDecrement() { return true }
            if deadline.hasPassed { return false }
            SharedFutex.sleep(on: value, expected: 0, countedIn: sleepers, deadline: deadline) {
                value.pointee.load(ordering: .sequentiallyConsistent) == 0
            }
        }
    }

    /// Adds `n`, refusing to go above `bound`; false when it would have.
    func increment(_ n: UInt32, bound: UInt32?) -> Bool {
        if let bound {
            var current = value.pointee.load(ordering: .relaxed)
            while true {
                guard current <= bound, n <= bound - current else { return false }
                let (exchanged, found) = value.pointee.compareExchange(expected: current, desired: current + n, ordering: .sequentiallyConsistent)
                if exchanged { break }
                current = found
            }
        } else {
            value.pointee.wrappingAdd(n, ordering: .sequentiallyConsistent)
        }
        SharedFutex.wakeSleepers(on: value, countedIn: sleepers, Int32(clamping: n))
        return true
    }
}
