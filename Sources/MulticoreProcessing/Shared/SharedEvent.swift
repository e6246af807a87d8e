import MulticoreThreading
import Synchronization

/// A flag shared by processes that they can wait for. Corresponds to Python's
/// `multiprocessing.Event`.
public final class SharedEvent: Codable, Sendable {
    let region: SharedRegion
    /// Bit 0: the flag. Bits 1-31: a generation, counted up by every `set()` that sets it, so a
    /// waiter woken after a `set()` then `clear()` still knows it was set (the futex word).
    private var state: UnsafeMutablePointer<Atomic<UInt32>> { region.word(0) }
    private var sleepers: UnsafeMutablePointer<Atomic<UInt32>> { region.word(4) }
    static let fieldsSize = 8

    /// Creates a cleared event. Python: `multiprocessing.Event()`.
    public init() throws(SharedMemoryError) {
        region = try SharedRegion(create: .event, size: Self.fieldsSize)
    }

    public init(from decoder: any Decoder) throws {
        region = try SharedRegion(attach: String(from: decoder), kind: .event, size: Self.fieldsSize)
    }

    public func encode(to encoder: any Encoder) throws { try region.name.encode(to: encoder) }

    /// The name of the event's shared memory block.
    public var name: String { region.name }

    /// Whether the flag is set. Python: `Event.is_set()`.
    public var isSet: Bool { state.pointee.load(ordering: .acquiring) & 1 != 0 }

    /// Sets the flag and wakes every waiter, in every process. Python: `Event.set()`.
    public func set() {
        var current = state.pointee.load(ordering: .relaxed)
        while current & 1 == 0 {
            let (exchanged, found) = state.pointee.compareExchange(
                expected: current, desired: (current &+ 2) | 1, ordering: .sequentiallyConsistent)
            if exchanged {
                SharedFutex.wakeSleepers(on: state, countedIn: sleepers, .max)
                return
            }
            current = found
        }
    }

    /// How many threads, in every process, are counted as asleep in `wait` (for tests).
    var sleeperCount: Int { Int(sleepers.pointee.load(ordering: .sequentiallyConsistent)) }

    /// Clears the flag. Python: `Event.clear()`.
    public func clear() { state.pointee.bitwiseAnd(~1, ordering: .releasing) }

    /// Waits until the flag is set or `timeout` passes; returns true if the flag was set while
    /// it waited, even if cleared again before this process woke (a `set()` then `clear()`
    /// releases every waiter), false if it timed out. Python: `Event.wait(timeout=None)`.
    /// - Throws: `ThreadingError.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout)
        let seen = state.pointee.load(ordering: .sequentiallyConsistent)
        if seen & 1 != 0 { return true }
        while true {
            if deadline.hasPassed { return false }
            // Counted as a sleeper before the word is compared again (by the futex): a `set()`
            // either sees the count and wakes this waiter, or changed the word first.
            SharedFutex.sleep(on: state, expected: seen, countedIn: sleepers, deadline: deadline)
            // Any change of the generation since `seen` is a `set()`: the flag was set.
            if state.pointee.load(ordering: .sequentiallyConsistent) >> 1 != seen >> 1 { return true }
        }
    }
}
