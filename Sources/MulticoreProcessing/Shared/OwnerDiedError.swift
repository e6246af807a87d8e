/// A process that held a shared lock died without releasing it. The lock is now held by the
/// caller that received this error: the data it protected may be half updated, so the caller
/// repairs it (or gives up) and then releases the lock. Python has no counterpart: there, the
/// other processes wait forever.
public struct OwnerDiedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The pid (or, for a `SharedRLock`, the thread id) of the holder that died.
    public let owner: Int32
    public init(owner: Int32) { self.owner = owner }
    public var description: String {
        "the previous owner of the lock (\(owner)) died while holding it; the lock is now held by the caller"
    }
}
