/// Misuse of a `Pool` or of an `AsyncResult`, reported where Python raises `ValueError`.
public enum PoolStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A task given to a pool after `close()` or `terminate()`. Python: `ValueError("Pool not running")`.
    case notRunning
    /// `join()` before `close()` or `terminate()`. Python: `ValueError("Pool is still running")`.
    case stillRunning
    /// `successful()` asked of a result not ready yet. Python: `ValueError("... not ready")`.
    case notReady

    public var description: String {
        switch self {
        case .notRunning: "Pool not running"
        case .stillRunning: "Pool is still running"
        case .notReady: "the result is not ready"
        }
    }
}
