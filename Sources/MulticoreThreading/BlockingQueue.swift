/// A multi-producer, multi-consumer queue with an optional size limit, task accounting
/// (`taskDone` and `join`) and shutdown. Corresponds to Python's `queue.Queue`; use it through
/// `Queue`, `LifoQueue` or `PriorityQueue`, which fix the order.
///
/// Built as Python builds it: one `Lock` and three `Condition`s over it (not empty, not full,
/// all tasks done).
public final class BlockingQueue<Buffer: QueueBuffer>: @unchecked Sendable where Buffer.Element: Sendable { // all state is guarded by `mutex`
    /// The type of the items.
    public typealias Element = Buffer.Element

    @usableFromInline let mutex = Lock()
    @usableFromInline let notEmpty: Condition
    @usableFromInline let notFull: Condition
    @usableFromInline let allTasksDone: Condition
    // Guarded by `mutex`: the runtime exclusivity checks on these class properties would cost
    // two runtime calls per access on the hottest path, for nothing.
    @usableFromInline @exclusivity(unchecked) var buffer = Buffer()
    @usableFromInline @exclusivity(unchecked) var unfinishedTasks = 0
    @usableFromInline @exclusivity(unchecked) var isShutdown = false

    @usableFromInline @exclusivity(unchecked) var limit: Int

    /// The size limit; 0 or less means unbounded. Python: `Queue.maxsize`, which may be changed
    /// while the queue is in use (test_shrinking_queue): a smaller limit refuses puts at once,
    /// a larger one wakes the puts waiting for room.
    public var maxsize: Int {
        get { mutex.withLock { limit } }
        set {
            mutex.withLock {
                limit = newValue
                notFull.notifyAllHeld()
            }
        }
    }

    /// Creates a queue holding at most `maxsize` items (0 or less: no limit).
    /// Corresponds to Python's `queue.Queue(maxsize=0)`.
    public init(maxsize: Int = 0) {
        limit = maxsize
        notEmpty = Condition(lock: mutex)
        notFull = Condition(lock: mutex)
        allTasksDone = Condition(lock: mutex)
    }

    // MARK: Put and get

    /// Adds `item`, waiting for a free slot while the queue is full: forever, at most `timeout`,
    /// or (with `blocking: false`) not at all. Corresponds to Python's
    /// `Queue.put(item, block=True, timeout=None)`.
    /// - Throws: `QueueError.full` when no slot came free in time; `.shutDown` once the queue
    ///   is shut down (also while waiting); `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @inlinable
    public func put(_ item: Element, blocking: Bool = true, timeout: Duration? = nil) throws(QueueError) {
        try checkQueueTimeout(timeout, blocking: blocking)
        let deadline = Deadline.after(blocking ? timeout : .zero)
        try mutex.withLock { () throws(QueueError) in
            if isShutdown { throw .shutDown }
            if limit > 0 {
                while limit > 0 && buffer.count >= limit {
                    if deadline.hasPassed { throw .full }
                    _ = notFull.wait(deadline: deadline)
                    if isShutdown { throw .shutDown }
                }
            }
            buffer.put(item)
            unfinishedTasks += 1
            notEmpty.notifyOneHeld()
        }
    }

    /// Adds `item` only if there is room now. Corresponds to Python's `Queue.put_nowait(item)`.
    /// - Throws: `QueueError.full` or `.shutDown`.
    public func putNowait(_ item: Element) throws(QueueError) {
        try put(item, blocking: false)
    }

    /// Removes and returns the next item, waiting while the queue is empty: forever, at most
    /// `timeout`, or (with `blocking: false`) not at all. Corresponds to Python's
    /// `Queue.get(block=True, timeout=None)`.
    /// - Throws: `QueueError.empty` when nothing arrived in time; `.shutDown` when the queue is
    ///   shut down and empty; `.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @inlinable
    public func get(blocking: Bool = true, timeout: Duration? = nil) throws(QueueError) -> Element {
        try checkQueueTimeout(timeout, blocking: blocking)
        let deadline = Deadline.after(blocking ? timeout : .zero)
        return try mutex.withLock { () throws(QueueError) -> Element in
            while buffer.count == 0 {
                if isShutdown { throw .shutDown }
                if deadline.hasPassed { throw .empty }
                _ = notEmpty.wait(deadline: deadline)
            }
            let item = buffer.get()
            notFull.notifyOneHeld()
            return item
        }
    }

    /// Removes and returns an item only if one is there now. Corresponds to Python's
    /// `Queue.get_nowait()`.
    /// - Throws: `QueueError.empty` or `.shutDown`.
    public func getNowait() throws(QueueError) -> Element {
        try get(blocking: false)
    }

    // MARK: Size

    /// The number of items (informational: it may change at once). Python: `Queue.qsize()`.
    public var qsize: Int { mutex.withLock { buffer.count } }

    /// Whether the queue holds no item. Python: `Queue.empty()`.
    public var isEmpty: Bool { mutex.withLock { buffer.count == 0 } }

    /// Whether the queue is at its size limit. Python: `Queue.full()`.
    public var isFull: Bool { mutex.withLock { limit > 0 && buffer.count >= limit } }

    // MARK: Tasks

    /// Marks one item taken by `get` as processed; when every item put has been processed,
    /// `join` returns. Corresponds to Python's `Queue.task_done()`.
    /// - Throws: `QueueError.taskDoneTooManyTimes` when called more often than items were put.
    public func taskDone() throws(QueueError) {
        try mutex.withLock { () throws(QueueError) in
            guard unfinishedTasks > 0 else { throw .taskDoneTooManyTimes }
            unfinishedTasks -= 1
            if unfinishedTasks == 0 { try? allTasksDone.notifyAll() } // the lock is held
        }
    }

    /// Blocks until every item put has been marked done with `taskDone`, or until `timeout`
    /// passes; returns whether all were done. Corresponds to Python's `Queue.join()`, which has
    /// no timeout. A negative timeout counts as zero.
    /// - Throws: `QueueError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func join(timeout: Duration? = nil) throws(QueueError) -> Bool {
        let deadline = try Deadline.after(timeout.map { max($0, .zero) }, orThrow: QueueError.timeoutTooLarge)
        return mutex.withLock {
            while unfinishedTasks > 0 {
                if deadline.hasPassed { return false }
                _ = allTasksDone.wait(deadline: deadline)
            }
            return true
        }
    }

    /// The number of items put and not yet marked done. Python: `Queue.unfinished_tasks`.
    public var unfinishedTaskCount: Int { mutex.withLock { unfinishedTasks } }

    // MARK: Shutdown

    /// Shuts the queue down: `put` throws `QueueError.shutDown` from now on, and `get` throws it
    /// once the queue is empty; blocked callers wake up. With `immediate`, the items still
    /// queued are dropped (each counted as done) and `join` returns at once.
    /// Corresponds to Python 3.13's `Queue.shutdown(immediate=False)`.
    public func shutdown(immediate: Bool = false) {
        mutex.withLock {
            isShutdown = true
            if immediate {
                let dropped = buffer.count
                buffer.removeAll()
                unfinishedTasks = max(0, unfinishedTasks - dropped)
                allTasksDone.notifyAllHeld()
            }
            notEmpty.notifyAllHeld()
            notFull.notifyAllHeld()
        }
    }

    /// Whether `shutdown` was called. Python: `Queue.is_shutdown`.
    public var isShutDown: Bool { mutex.withLock { isShutdown } }
}
