/// How a call on a ready-made managed object (`ManagedDictionary`, `ManagedList`,
/// `ManagedQueue`, `ManagedLock`...) fails for a reason of the object: Python's `KeyError`,
/// `IndexError`, `queue.Empty`, `queue.Full` and `RuntimeError`s, typed. It crosses between
/// processes as itself.
public enum ManagedError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    /// The dictionary has no such key (Python's `KeyError`); the key as `String(describing:)` shows it.
    case keyNotFound(String)
    /// The list has no element at `index` (Python's `IndexError`); it had `count`.
    case indexOutOfRange(index: Int, count: Int)
    /// The queue stayed empty until the get's timeout, or a `getNowait()` found it empty (`queue.Empty`).
    case empty
    /// The queue stayed full until the put's timeout, or a `putNowait(_:)` found it full (`queue.Full`).
    case full
    /// `release()` on a lock that nobody holds (Python's `RuntimeError: release unlocked lock`).
    case lockNotHeld
    /// `withLock(timeout:_:)` did not get the lock within its timeout.
    case lockTimedOut
    /// `taskDone()` called more times than items were put (Python's `ValueError`).
    case taskDoneTooManyTimes
    /// A queue made with a negative `maxSize`.
    case negativeMaxSize(Int)

    public var description: String {
        switch self {
        case .keyNotFound(let key): "no key \(key) in the managed dictionary"
        case .indexOutOfRange(let index, let count): "index \(index) is out of range of the managed list of \(count)"
        case .empty: "the managed queue is empty"
        case .full: "the managed queue is full"
        case .lockNotHeld: "the managed lock was released while nobody held it"
        case .lockTimedOut: "the managed lock was not acquired within the timeout"
        case .taskDoneTooManyTimes: "taskDone() was called more times than items were put in the managed queue"
        case .negativeMaxSize(let size): "a managed queue cannot have a maxSize of \(size); 0 means unbounded"
        }
    }
}
