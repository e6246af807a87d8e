/// A queue shared by processes with no size limit, timeouts or counts.
/// Corresponds to Python's `multiprocessing.SimpleQueue`.
public final class ProcessSimpleQueue<Element: Codable & Sendable>: Codable, Sendable {
    private let queue: ProcessQueue<Element>

    /// Python: `multiprocessing.SimpleQueue()`.
    public init(capacity: Int = 1 << 30) throws(SharedMemoryError) {
        queue = try ProcessQueue(capacity: capacity)
    }

    public init(from decoder: any Decoder) throws { queue = try ProcessQueue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try queue.encode(to: encoder) }

    /// Python: `SimpleQueue.put(obj)`.
    /// - Throws: an encoding error (nothing is put); `ConnectionError.messageTooLong`.
    @available(*, noasync, message: "blocks the thread while the ring is full")
    public func put(_ item: Element) throws { try queue.put(item) }

    /// Python: `SimpleQueue.get()`.
    @available(*, noasync, message: "blocks the thread while the queue is empty")
    public func get() throws -> Element { try queue.get() }

    /// Python: `SimpleQueue.empty()`.
    public var isEmpty: Bool { queue.isEmpty }
}
