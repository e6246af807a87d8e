import MulticoreProcessing

/// Python's `multiprocessing.Manager()`: one actor host that makes the ready-made shared
/// objects, each a distributed actor living in that host.
///
///     let manager = try await ActorManager()              // with Manager() as manager:
///     let scores: ManagedDictionary<String, Int> = try await manager.dict()   // manager.dict()
///     let lock = try await manager.lock()                 // manager.Lock()
///     await manager.shutdown()
///
/// The objects live until released (`release()`) or until the manager's host shuts down (its
/// `shutdown()`, or the manager being let go of); calls on them then throw
/// `ActorHostError.hostShutDown`. A reference can be passed to an actor of another host, which
/// calls it through the program.
public final class ActorManager: Sendable {
    /// The host the objects live in.
    public let host: ActorHost

    /// Starts the manager's host.
    /// - Throws: what `ActorHost.init` throws.
    public init(startMethod: StartMethod = .spawn, name: String? = nil) async throws {
        host = try await ActorHost(startMethod: startMethod, name: name)
    }

    /// A shared dictionary starting with `initial` (`manager.dict(initial)`).
    public func dict<Key, Value>(_ initial: [Key: Value] = [:]) async throws -> ManagedDictionary<Key, Value> {
        try await host.spawn(ManagedDictionary<Key, Value>.self, argument: initial)
    }

    /// A shared list starting with `initial` (`manager.list(initial)`).
    public func list<Element>(_ initial: [Element] = []) async throws -> ManagedList<Element> {
        try await host.spawn(ManagedList<Element>.self, argument: initial)
    }

    /// A shared value starting as `initial` (`manager.Value(typecode, initial)`).
    public func value<Wrapped>(_ initial: Wrapped) async throws -> ManagedValue<Wrapped> {
        try await host.spawn(ManagedValue<Wrapped>.self, argument: initial)
    }

    /// A shared queue of at most `maxSize` items, 0 for no bound (`manager.Queue(maxsize)`).
    /// - Throws: `ManagedError.negativeMaxSize`; what `ActorHost.spawn` throws.
    public func queue<Element>(of type: Element.Type = Element.self, maxSize: Int = 0) async throws -> ManagedQueue<Element> {
        guard maxSize >= 0 else { throw ManagedError.negativeMaxSize(maxSize) }
        return try await host.spawn(ManagedQueue<Element>.self, argument: maxSize)
    }

    /// A shared lock (`manager.Lock()`).
    public func lock() async throws -> ManagedLock {
        try await host.spawn(ManagedLock.self)
    }

    /// A shared event (`manager.Event()`).
    public func event() async throws -> ManagedEvent {
        try await host.spawn(ManagedEvent.self)
    }

    /// Shuts the host down, with every object in it (`manager.shutdown()`).
    public func shutdown() async {
        await host.shutdown()
    }
}
