import DequeModule

/// An unbounded FIFO queue without task accounting: `put` never blocks.
/// Corresponds to Python's `queue.SimpleQueue`.
public final class SimpleQueue<Element: Sendable>: @unchecked Sendable { // `items` is guarded by `mutex`
    private let mutex = Lock()
    private let notEmpty: Condition
    private var items = Deque<Element>()

    /// Corresponds to Python's `queue.SimpleQueue()`.
    public init() { notEmpty = Condition(lock: mutex) }

    /// Adds `item`; never blocks. Corresponds to Python's `SimpleQueue.put(item)`.
    public func put(_ item: Element) {
        mutex.withLock {
            items.append(item)
            notEmpty.notifyOneHeld()
        }
    }

    /// Removes and returns the next item, waiting while the queue is empty: forever, at most
    /// `timeout`, or (with `blocking: false`) not at all. Corresponds to Python's
    /// `SimpleQueue.get(block=True, timeout=None)`.
    /// - Throws: `QueueError.empty` when nothing arrived in time; `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    public func get(blocking: Bool = true, timeout: Duration? = nil) throws(QueueError) -> Element {
        try checkQueueTimeout(timeout, blocking: blocking)
        let deadline = Deadline.after(blocking ? timeout : .zero)
        return try mutex.withLock { () throws(QueueError) -> Element in
            while items.isEmpty {
                if deadline.hasPassed { throw .empty }
                _ = notEmpty.wait(deadline: deadline)
            }
            return items.removeFirst()
        }
    }

    /// Corresponds to Python's `SimpleQueue.get_nowait()`.
    /// - Throws: `QueueError.empty`.
    public func getNowait() throws(QueueError) -> Element { try get(blocking: false) }

    /// The number of items. Python: `SimpleQueue.qsize()`.
    public var qsize: Int { mutex.withLock { items.count } }

    /// Whether the queue is empty. Python: `SimpleQueue.empty()`.
    public var isEmpty: Bool { mutex.withLock { items.isEmpty } }
}
