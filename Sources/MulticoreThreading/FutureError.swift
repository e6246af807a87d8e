/// Why a `Future` gave no result. Corresponds to `concurrent.futures.CancelledError`,
/// `TimeoutError` and `InvalidStateError`.
public enum FutureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The future was cancelled before it ran. Python: `concurrent.futures.CancelledError`.
    case cancelled
    /// The result did not arrive within the timeout. Python: `TimeoutError`.
    case timeout
    /// `asCompleted` or a `map` ran out of time with this many futures unfinished.
    /// Python: `TimeoutError("N (of M) futures unfinished")`.
    case unfinished(Int, of: Int)
    /// A result set on a future that is already done, or a future driven out of order.
    /// Python: `concurrent.futures.InvalidStateError`.
    case invalidState(String)
    /// A timeout above `Threading.timeoutMax`. Python: `OverflowError("timeout value is too large")`.
    case timeoutTooLarge

    /// The message, in Python's words where Python has one.
    public var description: String {
        switch self {
        case .cancelled: "the future was cancelled"
        case .timeout: "the future did not finish in time"
        case .unfinished(let n, let total): "\(n) (of \(total)) futures unfinished"
        case .invalidState(let message): message
        case .timeoutTooLarge: timeoutTooLargeMessage
        }
    }
}
