import MulticoreThreading

/// A `ProcessQueue` that counts unfinished items: each `get` is matched by a `taskDone`, and
/// `join` waits until every item put has been marked done, in any process.
/// Corresponds to Python's `multiprocessing.JoinableQueue`.
public final class ProcessJoinableQueue<Element: Codable & Sendable>: ProcessQueue<Element>, @unchecked Sendable { // adds no state
    /// Python: `multiprocessing.JoinableQueue(maxsize=0)`.
    public override init(maxsize: Int = 0, capacity: Int = 1 << 30) throws(SharedMemoryError) {
        try super.init(maxsize: maxsize, capacity: capacity)
    }

    public required init(from decoder: any Decoder) throws {
        try super.init(from: decoder)
    }

    /// Marks one item as processed. Python: `JoinableQueue.task_done()`.
    /// - Throws: `QueueError.taskDoneTooManyTimes` when called more times than items were put.
    public func taskDone() throws(QueueError) { try ring.taskDone() }

    /// Waits until every item put has been marked done, or `timeout` passes; returns whether
    /// they all were. Python: `JoinableQueue.join()` (which has no timeout).
    /// - Throws: `QueueError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func join(timeout: Duration? = nil) throws(QueueError) -> Bool {
        ring.join(deadline: try .after(timeout, orThrow: QueueError.timeoutTooLarge))
    }
}
