import CMulticore
import MulticoreThreading
import Synchronization

/// A semaphore shared by processes. Corresponds to Python's `multiprocessing.Semaphore`
/// (and `BoundedSemaphore` when created with `bounded: true`).
///
/// Sending it encodes its name; the process that created it must keep it while others attach.
public class SharedSemaphore: Codable, @unchecked Sendable { // all state is in shared memory, reached through atomics
    let region: SharedRegion
    var counter: SharedCounter { SharedCounter(value: region.word(0), sleepers: region.word(4)) }
    /// The bound (the initial value) of a bounded semaphore, or UInt32.max.
    private var bound: UInt32? {
        let stored = region.word(8).pointee.load(ordering: .relaxed)
        return stored == .max ? nil : stored
    }
    static let fieldsSize = 12

    /// Creates a semaphore holding `value`. Python: `multiprocessing.Semaphore(value=1)`.
    /// - Throws: `ThreadingError.negativeSemaphoreValue`; `SharedMemoryError`.
    public convenience init(value: Int = 1) throws {
        try self.init(value: value, bounded: false)
    }

    init(value: Int, bounded: Bool) throws {
        guard value >= 0 else { throw ThreadingError.negativeSemaphoreValue }
        guard value < Int(UInt32.max) else { throw SharedMemoryError.invalidSize(value) }
        region = try SharedRegion(create: .semaphore, size: Self.fieldsSize)
        region.word(0).pointee.store(UInt32(value), ordering: .relaxed)
        region.word(8).pointee.store(bounded ? UInt32(value) : .max, ordering: .releasing)
    }

    public required init(from decoder: any Decoder) throws {
        region = try SharedRegion(attach: String(from: decoder), kind: .semaphore, size: Self.fieldsSize)
    }

    public func encode(to encoder: any Encoder) throws { try region.name.encode(to: encoder) }

    /// The name of the semaphore's shared memory block.
    public var name: String { region.name }

    /// Decrements the value, waiting at most `timeout` (nil: as long as it takes) while it is
    /// zero; returns whether it did. Python: `Semaphore.acquire(block=True, timeout=None)`.
    /// - Throws: `ThreadingError.timeoutOnNonBlockingCall`, `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func acquire(blocking: Bool = true, timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        try checkTimeout(timeout, blocking: blocking)
        if !blocking { return counter.tryDecrement() }
        return counter.decrement(deadline: .after(timeout))
    }

    /// Adds `n` to the value, waking as many waiters. Python: `Semaphore.release(n=1)`.
    /// - Throws: `ThreadingError.releaseCountBelowOne`; `.semaphoreOverReleased` for a bounded
    ///   semaphore released above its initial value.
    public func release(_ n: Int = 1) throws(ThreadingError) {
        guard n >= 1 else { throw .releaseCountBelowOne }
        guard counter.increment(UInt32(clamping: n), bound: bound) else { throw .semaphoreOverReleased }
    }

    /// The current value. Python: `Semaphore.get_value()`.
    public var currentValue: Int { Int(counter.value.pointee.load(ordering: .relaxed)) }
}

/// A semaphore shared by processes that cannot be released above its initial value.
/// Corresponds to Python's `multiprocessing.BoundedSemaphore`.
public final class SharedBoundedSemaphore: SharedSemaphore, @unchecked Sendable { // adds no state
    /// Python: `multiprocessing.BoundedSemaphore(value=1)`.
    public init(value: Int = 1) throws {
        try super.init(value: value, bounded: true)
    }

    public required init(from decoder: any Decoder) throws {
        try super.init(from: decoder)
    }
}
