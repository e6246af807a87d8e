import SystemPackage
/// Why a child process did not give a result, or misuse of its handle. Corresponds to the
/// errors of Python's `multiprocessing.Process`, and to what Python cannot report at all.
public enum ProcessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `start()` called a second time. Python: `AssertionError("cannot start a process twice")`.
    case alreadyStarted
    /// `join`, `result` or a signal before `start()`. Python: `AssertionError("can only join a started process")`.
    case notStarted
    /// `result()` or `close()` while the process still runs.
    /// Python: `ValueError("Cannot close a process while it is still running")`.
    case stillRunning
    /// Any use after `close()`. Python: `ValueError("process object is closed")`.
    case closed
    /// The system could not start the process (errno).
    case spawnFailed(errno: Errno)
    /// The child could not find the task's type (the executables differ).
    case taskNotFound(String)
    /// The task threw in the child: the error's type and description.
    case taskFailed(type: String, message: String)
    /// The child ended on a signal before it returned a result. Its report says which and why
    /// (`ExitReason`: a Swift trap with the runtime's own line, "Fatal error: Index out of
    /// range"; a crash; `terminate()` or `kill()`; another process) and carries the last 4 KiB of
    /// its standard error. Python: only `Process.exitcode`, -N.
    case crashed(ExitReport)
    /// The child exited with a code before returning a result (`exit`, or a check that failed in
    /// the worker); its report carries the last 4 KiB of its standard error.
    case exitedWithoutResult(ExitReport)
    /// The result could not be read or decoded.
    case unreadableResult(String)
    /// The fork start method was refused: this process has other threads, which a forked child
    /// would lack (a lock they held would stay held forever). Python 3.12 warns here.
    case forkWithThreads(count: Int)
    /// A worker process started a process while running `main`'s top-level code, before
    /// reaching `enterWorkerIfChild()`. Python: `RuntimeError("An attempt has been made to start
    /// a new process before the current process has finished its bootstrapping phase")`.
    case startedBeforeWorkerEntry
    /// A timeout above `Threading.timeoutMax`. Python: `OverflowError("timeout value is too large")`.
    case timeoutTooLarge
    /// `setStartMethod` called a second time without `force`.
    /// Python: `RuntimeError("context has already been set")`.
    case startMethodAlreadySet

    /// The message.
    public var description: String {
        switch self {
        case .alreadyStarted: "cannot start a process twice"
        case .notStarted: "the process has not been started"
        case .stillRunning: "the process is still running"
        case .closed: "process object is closed"
        case .spawnFailed(let errno): "could not spawn the process (\(errno), errno \(errno.rawValue))"
        case .taskNotFound(let name): "the child found no task type named \(name)"
        case .taskFailed(let type, let message): "the task threw \(type): \(message)"
        case .crashed(let report): "the process \(report.worker) \(report.reason)" + Self.lastWords(report)
        case .exitedWithoutResult(let report):
            "the process \(report.worker) \(report.reason) without a result" + Self.lastWords(report)
        case .unreadableResult(let reason): "the result could not be read: \(reason)"
        case .forkWithThreads(let count):
            "cannot fork: this process has \(count) threads, and a forked child would only have one; use spawn or forkserver"
        case .timeoutTooLarge: timeoutTooLargeMessage
        case .startedBeforeWorkerEntry:
            "a worker process tried to start a process before main reached enterWorkerIfChild(): every worker runs "
                + "main's top-level code up to that line again; start processes below it"
        case .startMethodAlreadySet: "context has already been set"
        }
    }

    /// "; its standard error ended with: …", when it said something there that the reason does
    /// not already quote (a trap's fatal-error line).
    private static func lastWords(_ report: ExitReport) -> String {
        if case .trapped(_, _?) = report.reason { return "" }
        let lines = report.standardError.split(separator: "\n", omittingEmptySubsequences: true)
        guard let last = lines.last else { return "" }
        return "; its standard error ended with: " + last
    }
}
