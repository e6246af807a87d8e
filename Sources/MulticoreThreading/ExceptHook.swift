import MulticoreSystem
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What the uncaught-error hook receives. Corresponds to the argument of Python's
/// `threading.excepthook` (`exc_type`, `exc_value`, `thread`).
public struct ExceptHookArguments: Sendable {
    /// The error that the thread's `run()` threw.
    public let error: any Error
    /// The thread it escaped from.
    public let thread: JoinableThread
}

extension Threading {
    private static let hook = Locked<@Sendable (ExceptHookArguments) -> Void>(defaultExcepthook)

    /// Called with every error that escapes a thread's `run()`. Its default,
    /// `Threading.defaultExcepthook`, prints "Exception in thread NAME:" and the error to standard
    /// error. Corresponds to Python's `threading.excepthook`.
    ///
    /// The error is also kept on the thread (`JoinableThread.error`), which Python loses.
    public static var excepthook: @Sendable (ExceptHookArguments) -> Void {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// The original hook. Corresponds to Python's `threading.__excepthook__`.
    public static let defaultExcepthook: @Sendable (ExceptHookArguments) -> Void = { arguments in
        let text = "Exception in thread \(arguments.thread.name):\n\(type(of: arguments.error)): \(arguments.error)\n"
        writeToStandardError(text)
    }
}

/// Writes the whole of `text` to file descriptor 2, without Foundation and without `stderr`
/// (a C global that Swift 6 does not consider concurrency-safe).
func writeToStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { buffer in try? FileDescriptor.standardError.writeAll(buffer) }
}
