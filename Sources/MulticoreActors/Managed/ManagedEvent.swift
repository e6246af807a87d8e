import Distributed

/// Python's `manager.Event()`: a flag that lives in an actor host, shared by every process
/// holding a reference. `wait` on a clear flag waits inside the host without holding it up;
/// `set()` wakes every waiter.
///
///     let ready = try await manager.event()
///     try await ready.set()                               // ready.set()
///     _ = try await ready.wait(timeout: .seconds(5))      // ready.wait(timeout=5)
public distributed actor ManagedEvent: HostedActor {
    private var flag = false
    private let waiters = WaitList<Void, Void>()

    public init(actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
    }

    /// Sets the flag and wakes every waiter (`event.set()`).
    public distributed func set() {
        flag = true
        waiters.wakeAll(with: ())
    }

    /// Clears the flag (`event.clear()`).
    public distributed func clear() { flag = false }

    /// Whether the flag is set (`event.is_set()`).
    public distributed func isSet() -> Bool { flag }

    /// Waits until the flag is set, up to `timeout` (nil: no limit). Returns whether it was set
    /// (`event.wait(timeout)`).
    public distributed func wait(timeout: Duration? = nil) async -> Bool {
        if flag { return true }
        return await waiters.wait(carrying: (), timeout: timeout) != nil
    }

    /// How many calls wait, for tests.
    distributed func waitingCount() -> Int { waiters.count }
}
