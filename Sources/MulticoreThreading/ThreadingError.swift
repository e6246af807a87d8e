import SystemPackage
/// Misuse of a thread or a synchronization primitive, reported where Python raises
/// `RuntimeError` or `ValueError`.
///
/// Each case's `description` is Python's own message, so a Python programmer recognises it.
public enum ThreadingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `start()` called a second time. Python: `RuntimeError("threads can only be started once")`.
    case alreadyStarted
    /// `join()` before `start()`. Python: `RuntimeError("cannot join thread before it is started")`.
    case joinBeforeStart
    /// A thread joined itself. Python: `RuntimeError("cannot join current thread")`.
    case joinCurrentThread
    /// A thread that Multicore did not start cannot be joined. Python: `_DummyThread.join`.
    case joinDummyThread
    /// The daemon flag set after `start()`. Python: `RuntimeError("cannot set daemon status of active thread")`.
    case daemonAfterStart
    /// The system refused a new thread (`pthread_create` returned this errno).
    /// Python: `RuntimeError("can't start new thread")`.
    case cannotStartThread(errno: Errno)
    /// `Lock.release()` of an unlocked lock. Python: `RuntimeError("release unlocked lock")`.
    case releaseUnlocked
    /// `RLock.release()` by a thread that does not own it.
    /// Python: `RuntimeError("cannot release un-acquired lock")`.
    case releaseNotOwned
    /// `Condition.wait` without holding its lock. Python: `RuntimeError("cannot wait on un-acquired lock")`.
    case waitWithoutLock
    /// `Condition.notify` without holding its lock. Python: `RuntimeError("cannot notify on un-acquired lock")`.
    case notifyWithoutLock
    /// A timeout given to a non-blocking call.
    /// Python: `ValueError("can't specify a timeout for a non-blocking call")`.
    case timeoutOnNonBlockingCall
    /// A negative timeout. Python: `ValueError("timeout value must be a non-negative number")`.
    case negativeTimeout
    /// A timeout above `Threading.timeoutMax`. Python: `OverflowError("timeout value is too large")`.
    case timeoutTooLarge
    /// A semaphore created with a negative value. Python: `ValueError("semaphore initial value must be >= 0")`.
    case negativeSemaphoreValue
    /// `release(n)` with n < 1. Python: `ValueError("n must be one or more")`.
    case releaseCountBelowOne
    /// A bounded semaphore released above its initial value.
    /// Python: `ValueError("Semaphore released too many times")`.
    case semaphoreOverReleased
    /// A barrier with fewer than one party. Python: `ValueError("parties must be >= 1")`.
    case invalidParties
    /// A stack size the system refuses (below 32 KiB). Python: `ValueError("size not valid: N bytes")`.
    case invalidStackSize(Int)
    /// `ValueThread.value()` asked before the thread finished.
    case notFinished

    /// The message, in Python's words where Python has one.
    public var description: String {
        switch self {
        case .alreadyStarted: "threads can only be started once"
        case .joinBeforeStart: "cannot join thread before it is started"
        case .joinCurrentThread: "cannot join current thread"
        case .joinDummyThread: "cannot join a dummy thread (one that Multicore did not start)"
        case .daemonAfterStart: "cannot set daemon status of active thread"
        case .cannotStartThread(let errno): "can't start new thread (pthread_create: \(errno), errno \(errno.rawValue))"
        case .releaseUnlocked: "release unlocked lock"
        case .releaseNotOwned: "cannot release un-acquired lock"
        case .waitWithoutLock: "cannot wait on un-acquired lock"
        case .notifyWithoutLock: "cannot notify on un-acquired lock"
        case .timeoutOnNonBlockingCall: "can't specify a timeout for a non-blocking call"
        case .negativeTimeout: "timeout value must be a non-negative number"
        case .timeoutTooLarge: timeoutTooLargeMessage
        case .negativeSemaphoreValue: "semaphore initial value must be >= 0"
        case .releaseCountBelowOne: "n must be one or more"
        case .semaphoreOverReleased: "Semaphore released too many times"
        case .invalidParties: "parties must be >= 1"
        case .invalidStackSize(let size): "size not valid: \(size) bytes"
        case .notFinished: "the thread has not finished"
        }
    }
}

/// A barrier was broken: reset or aborted while threads waited, a wait timed out, or its
/// action threw. Corresponds to Python's `threading.BrokenBarrierError`.
public struct BrokenBarrierError: Error, Equatable, Sendable, CustomStringConvertible {
    public init() {}
    /// The message, in Python's words where Python has one.
    public var description: String { "the barrier is broken" }
}
