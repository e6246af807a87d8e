import Distributed

/// Python's `manager.Lock()`: a lock that lives in an actor host, shared by every process
/// holding a reference. An acquire on a held lock waits inside the host without holding it up
/// (the host serves its other calls meanwhile); waiters get the lock in the order they came.
///
///     let lock = try await manager.lock()
///     try await lock.withLock(timeout: .seconds(5)) {     // with lock:
///         try await total.set(try await total.get() + 1)  //     total.value += 1
///     }
///
/// **Who holds it.** As Python's `Lock` (not `RLock`), the lock is held, not owned: whoever
/// acquired it, any caller may release it (`unlock()`: `release()` is every hosted actor's
/// own, which ends the actor's life), and a release of a lock nobody holds throws
/// `ManagedError.lockNotHeld`. A lock stays held until released: if the task or process that
/// holds it goes away without releasing it (a host of its caller killed, a caller cancelled after
/// the grant was on its way to it), it stays held. Hold it through `withLock(timeout:_:)`, which
/// releases on every way out, and give every acquire a timeout. An acquire cancelled while it
/// waits leaves the line and takes nothing. If the lock's own host dies, the lock is gone:
/// every call on it throws `ActorHostError.hostDied`.
public distributed actor ManagedLock: HostedActor {
    private var held = false
    private let acquirers = WaitList<Void, Void>()

    public init(actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
    }

    /// Takes the lock, waiting up to `timeout` while it is held; a nil timeout waits until it
    /// is released. Returns whether it was taken (`lock.acquire(timeout=timeout)`).
    public distributed func acquire(timeout: Duration? = nil) async -> Bool {
        if tryTake() { return true }
        // A release hands the lock to the first waiter: it stays held, now by this caller.
        guard await acquirers.wait(carrying: (), timeout: timeout) != nil else { return false }
        guard !Task.isCancelled else {
            // The caller is gone: the lock goes on to the next.
            handOver()
            return false
        }
        return true
    }

    /// Takes the lock if nobody holds it (`lock.acquire(blocking=False)`).
    public distributed func tryAcquire() -> Bool { tryTake() }

    /// Releases the lock: the first caller waiting for it gets it (Python's `lock.release()`;
    /// `release()` is every hosted actor's own, which ends the actor's life).
    /// - Throws: `ManagedError.lockNotHeld` when nobody holds it.
    public distributed func unlock() throws {
        guard held else { throw ManagedError.lockNotHeld }
        handOver()
    }

    /// Whether somebody holds the lock (`lock.locked()`).
    public distributed func isLocked() -> Bool { held }

    /// How many acquires wait, for tests.
    distributed func waitingCount() -> Int { acquirers.count }

    private func tryTake() -> Bool {
        guard !held else { return false }
        held = true
        return true
    }

    /// The lock goes to the first waiter, or is free.
    private func handOver() {
        if acquirers.wakeFirst(with: ()) == nil { held = false }
    }
}

extension ManagedLock {
    /// Runs `body` holding the lock, and releases it however `body` ends (`with lock:`).
    /// - Throws: `ManagedError.lockTimedOut` when the lock was not acquired within `timeout`;
    ///   what `body` throws; the actor system's errors (a dead host).
    public nonisolated func withLock<Result: Sendable>(timeout: Duration? = nil,
                                                       _ body: () async throws -> Result) async throws -> Result {
        guard try await acquire(timeout: timeout) else { throw ManagedError.lockTimedOut }
        let result: Result
        do {
            result = try await body()
        } catch {
            try? await unlock()
            throw error
        }
        try await unlock()
        return result
    }
}
