/// One trivially copyable value in shared memory. Corresponds to Python's
/// `multiprocessing.Value(typecode, value, lock=True)`.
///
/// With a lock (the default, a `SharedRLock`), reading and writing `value` take it; to update
/// it from its old value without a race, use `withLock` (Python: `with v.get_lock(): v.value += 1`).
public final class SharedValue<Wrapped: BitwiseCopyable>: Codable, Sendable {
    private let storage: SharedArray<Wrapped>
    /// The storage's lock and its one element, kept here for `withLock`, whose every step counts.
    private let valueLock: SharedRLock?
    /// In the shared memory `storage` keeps mapped; written under `valueLock` when there is one.
    nonisolated(unsafe) private let element: UnsafeMutablePointer<Wrapped>

    /// Python: `multiprocessing.Value(typecode, initial, lock=True)`.
    public init(_ initial: Wrapped, lock: Bool = true) throws(SharedMemoryError) {
        storage = try SharedArray(repeating: initial, count: 1, lock: lock)
        valueLock = storage.lock
        element = storage.elements
    }

    public init(from decoder: any Decoder) throws {
        storage = try SharedArray(from: decoder)
        guard storage.count == 1 else {
            throw SharedMemoryError.incompatible(name: storage.name, reason: "it holds an array, not a value")
        }
        valueLock = storage.lock
        element = storage.elements
    }

    public func encode(to encoder: any Encoder) throws { try storage.encode(to: encoder) }

    /// The name of the value's shared memory block.
    public var name: String { storage.name }

    /// The value's lock, if it has one. Python: `Value.get_lock()`.
    public var lock: SharedRLock? { storage.lock }

    /// The value, read or written under the lock when there is one. Python: `Value.value`.
    public var value: Wrapped {
        get { storage[0] }
        set { storage[0] = newValue }
    }

    /// Runs `body` on the value with the lock held: a read-modify-write that no other process
    /// interleaves with. Python: `with v.get_lock(): v.value += 1`.
    /// - Throws: `OwnerDiedError` when the lock's holder died; what `body` throws.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R>(_ body: (inout Wrapped) throws -> R) throws -> R {
        guard let lock = valueLock else { return try body(&element.pointee) }
        // The lock taken here, not through SharedArray's and SharedRLock's `withLock`: an
        // increment between processes costs little more than the lock word, and each layer of
        // closures around it cost as much again.
        do {
            try lock.acquire()
        } catch let error as OwnerDiedError {
            try? lock.release()
            throw error
        }
        defer { try? lock.release() }
        return try body(&element.pointee)
    }
}
