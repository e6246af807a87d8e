import MulticoreThreading
import Synchronization

/// A first-in, first-out queue shared by processes: put it in a task and the child puts and gets
/// on the same queue. Corresponds to Python's `multiprocessing.Queue(maxsize=0)`.
///
/// Unlike Python's, there is no feeder thread: `put` encodes the value and writes it into
/// shared memory before returning. So a value that cannot be encoded throws at `put` (Python
/// drops it in a background thread), and a process that put a lot can always exit and be
/// joined (Python deadlocks when the parent joins before it gets). What does not fit waits in
/// `put`: more than `maxsize` items, or more than `capacity` bytes (1 GiB by default, of which
/// only what is queued takes memory).
///
/// Sending the queue encodes its name; the process that created it must keep it while others
/// may still attach. Values cross as the wire format encodes them (`Codable`).
public class ProcessQueue<Element: Codable & Sendable>: Codable, @unchecked Sendable { // the shared state is in the ring, reached through atomics; `isClosed` is atomic
    let ring: SharedRing
    /// Closed in this process (`close()`); each process's handle is closed on its own, as in Python.
    private let isClosed = Atomic<Bool>(false)
    /// Whether an `Element`'s bytes in the format are its memory (fixed-width numbers): `put`
    /// and `get` then copy it into and out of the ring directly, with no coder and no array
    /// (asked once: the question is a lookup in the runtime's conformance tables).
    private let travelsAsMemory = Element.self is any WireTrivial.Type

    /// A queue holding at most `maxsize` items (0: no limit but memory) in at most `capacity`
    /// bytes of encoded messages. Python: `multiprocessing.Queue(maxsize=0)`.
    /// - Throws: `SharedMemoryError` when the system refuses the memory, or for a capacity
    ///   below 64 bytes.
    public init(maxsize: Int = 0, capacity: Int = 1 << 30) throws(SharedMemoryError) {
        ring = try SharedRing(maxsize: maxsize, capacity: capacity)
    }

    public required init(from decoder: any Decoder) throws {
        ring = try SharedRing(attach: String(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws { try ring.name.encode(to: encoder) }

    /// The name of the queue's shared memory block.
    public var name: String { ring.name }

    /// The size limit in items; 0 means none. Python: `Queue._maxsize`. Setting it changes it
    /// for every process at once: a smaller limit refuses puts from then on, a larger one lets
    /// the puts waiting for room go on (queue.Queue's test_shrinking_queue).
    public var maxsize: Int {
        get { ring.maxsize }
        set { ring.setMaxsize(newValue) }
    }

    /// The number of items in the queue (a snapshot). Python: `Queue.qsize()`.
    public var count: Int { ring.count }

    /// Whether the queue is empty (a snapshot). Python: `Queue.empty()`.
    public var isEmpty: Bool { ring.count == 0 }

    /// Whether the queue holds `maxsize` items (a snapshot). Python: `Queue.full()`.
    public var isFull: Bool { ring.maxsize > 0 && ring.count >= ring.maxsize }

    /// Adds `item`, waiting while the queue is full: forever, at most `timeout`, or (with
    /// `blocking: false`) not at all. Python: `Queue.put(obj, block=True, timeout=None)`.
    /// - Throws: an encoding error (nothing is put); `ConnectionError.messageTooLong` for an
    ///   item larger than the capacity; `QueueError.full`, `.negativeTimeout`;
    ///   `SharedMemoryError.noSpace` when /dev/shm cannot hold more (nothing is put).
    @available(*, noasync, message: "blocks the thread while the queue is full")
    public func put(_ item: Element, blocking: Bool = true, timeout: Duration? = nil) throws {
        try checkOpen()
        try checkQueueTimeout(timeout, blocking: blocking)
        let deadline: Deadline = blocking ? .after(timeout) : .now
        if travelsAsMemory {
            try withUnsafeBytes(of: item) { raw in try ring.put(raw, deadline: deadline) }
            return
        }
        let bytes = try WireEncoder().encode(item)
        guard bytes.count + 4 <= ring.usable else {
            throw ConnectionError.messageTooLong(length: bytes.count, maxLength: ring.usable - 4)
        }
        try bytes.withUnsafeBytes { raw in try ring.put(raw, deadline: deadline) }
    }

    /// Python: `Queue.put_nowait(obj)`.
    public func putNowait(_ item: Element) throws { try put(item, blocking: false) }

    /// Removes and returns the oldest item, waiting while the queue is empty: forever, at most
    /// `timeout`, or not at all. Python: `Queue.get(block=True, timeout=None)`.
    /// - Throws: `QueueError.empty`, `.negativeTimeout`; a decoding error when the item is not
    ///   an `Element` (it is consumed).
    @available(*, noasync, message: "blocks the thread while the queue is empty")
    public func get(blocking: Bool = true, timeout: Duration? = nil) throws -> Element {
        try checkOpen()
        try checkQueueTimeout(timeout, blocking: blocking)
        let deadline: Deadline = blocking ? .after(timeout) : .now
        if travelsAsMemory { return try getMemory(deadline: deadline) }
        let bytes = try ring.get(deadline: deadline)
        return try WireDecoder().decode(Element.self, from: bytes)
    }

    /// The oldest item, copied out of the ring as memory (`travelsAsMemory`).
    /// - Throws: `QueueError.empty`; `WireError.truncated` or `.trailingBytes` for a message of
    ///   another size (put as another type: it is consumed).
    private func getMemory(deadline: Deadline) throws -> Element {
        // No tuple or optional of `Element` here: this code is not specialized, and each would
        // make the runtime look up their type's metadata on every call.
        let size = MemoryLayout<Element>.size
        return try withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { buffer in
            let found = try ring.get(deadline: deadline) { found, copy -> Int in
                if found == size { copy(UnsafeMutableRawBufferPointer(buffer)) }
                return found
            }
            if found < size { throw WireError.truncated(offset: found, needed: size - found) }
            if found > size { throw WireError.trailingBytes(found - size) }
            return buffer.baseAddress!.move()
        }
    }

    /// Python: `Queue.get_nowait()`.
    public func getNowait() throws -> Element { try get(blocking: false) }

    /// Says this process will put and get no more: both throw `QueueError.closed` from now on
    /// (in this process only; others go on). What was put stays in the queue. Python:
    /// `Queue.close()`. Closing twice is harmless.
    public func close() { isClosed.store(true, ordering: .releasing) }

    /// Python's `Queue.join_thread()`, which waits for the feeder thread to flush what this
    /// process put. There is no feeder thread here (`put` writes before it returns), so once
    /// the queue is closed it returns at once.
    /// - Throws: `QueueError.notClosed` before `close()`, as Python asserts.
    public func joinThread() throws(QueueError) {
        guard isClosed.load(ordering: .acquiring) else { throw .notClosed }
    }

    private func checkOpen() throws(QueueError) {
        if isClosed.load(ordering: .acquiring) { throw .closed }
    }
}

