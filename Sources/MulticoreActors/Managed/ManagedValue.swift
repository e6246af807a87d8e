import Distributed

/// Python's `manager.Value(typecode, value)`: one value that lives in an actor host, shared by
/// every process holding a reference. `get()` and `set(_:)` are each one step; a read-modify-write
/// of the two is not (as `v.value += 1` in Python): hold a `ManagedLock` around it, or use
/// `exchange(_:)` for a swap.
public distributed actor ManagedValue<Wrapped: Codable & Sendable>: HostedActorWithArgument {
    public typealias Argument = Wrapped
    private var storage: Wrapped

    /// The value starting as `argument`.
    public init(argument: Wrapped, actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
        storage = argument
    }

    /// The value (`v.value`).
    public distributed func get() -> Wrapped { storage }

    /// Sets the value (`v.value = newValue`).
    public distributed func set(_ newValue: Wrapped) { storage = newValue }

    /// Sets the value and returns the one it replaced, in one step.
    public distributed func exchange(_ newValue: Wrapped) -> Wrapped {
        defer { storage = newValue }
        return storage
    }
}
