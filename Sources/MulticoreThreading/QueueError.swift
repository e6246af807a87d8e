/// Why a queue operation did not happen. Corresponds to Python's `queue.Full`, `queue.Empty`,
/// `queue.ShutDown` and the `ValueError`s of `queue.Queue`.
public enum QueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A non-blocking or timed `put` found the queue full. Python: `queue.Full`.
    case full
    /// A non-blocking or timed `get` found the queue empty. Python: `queue.Empty`.
    case empty
    /// The queue was shut down: no more puts, and no more gets once it is empty.
    /// Python: `queue.ShutDown`.
    case shutDown
    /// `taskDone()` called more times than items were put.
    /// Python: `ValueError("task_done() called too many times")`.
    case taskDoneTooManyTimes
    /// A negative timeout. Python: `ValueError("'timeout' must be a non-negative number")`.
    case negativeTimeout
    /// A put or get on a process queue after this process closed it.
    /// Python: `ValueError("Queue ... is closed")`.
    case closed
    /// `joinThread()` before `close()`. Python: `AssertionError("Queue ... not closed")`.
    case notClosed
    /// A timeout above `Threading.timeoutMax`. Python: `OverflowError("timeout value is too large")`.
    case timeoutTooLarge

    /// The message, in Python's words where Python has one.
    public var description: String {
        switch self {
        case .full: "the queue is full"
        case .empty: "the queue is empty"
        case .shutDown: "the queue is shut down"
        case .taskDoneTooManyTimes: "task_done() called too many times"
        case .negativeTimeout: "'timeout' must be a non-negative number"
        case .closed: "Queue is closed"
        case .notClosed: "Queue not closed: call close() before joinThread()"
        case .timeoutTooLarge: timeoutTooLargeMessage
        }
    }
}
