import MulticoreThreading
import Synchronization

/// A flag shared by processes that they can wait for. Corresponds to Python's
/// `multiprocessing.Event`.
public final class SharedEvent: Codable, Sendable {
    let region: SharedRegion
    private var flag: UnsafeMutablePointer<Atomic<UInt32>> { region.word(0) }
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
    public var isSet: Bool { flag.pointee.load(ordering: .acquiring) != 0 }

    /// Sets the flag and wakes every waiter, in every process. Python: `Event.set()`.
    public func set() {
        flag.pointee.store(1, ordering: .sequentiallyConsistent)
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) > 0 { SharedFutex.wake(flag, .max) }
    }

    /// Clears the flag. Python: `Event.clear()`.
    public func clear() { flag.pointee.store(0, ordering: .releasing) }

    /// Waits until the flag is set or `timeout` passes; returns whether it is set.
    /// Python: `Event.wait(timeout=None)`.
    /// - Throws: `ThreadingError.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout)
        let deadline = Deadline.after(timeout)
        while true {
            if isSet { return true }
            if deadline.hasPassed { return false }
            sleepers.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if flag.pointee.load(ordering: .sequentiallyConsistent) == 0 {
                _ = SharedFutex.wait(flag, expected: 0, deadline: deadline)
            }
            sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
