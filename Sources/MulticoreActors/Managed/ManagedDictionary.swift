import Distributed

/// Python's `manager.dict()`: a dictionary that lives in an actor host, shared by every process
/// holding a reference. Each call is one step, run alone (actor isolation); a read-then-write
/// of several calls is not, as in Python: hold a `ManagedLock` around it.
///
///     let scores: ManagedDictionary<String, Int> = try await manager.dict()
///     try await scores.set("ada", 3)              // scores["ada"] = 3
///     try await scores.get("ada")                 // scores.get("ada") -> 3
public distributed actor ManagedDictionary<Key: Codable & Hashable & Sendable, Value: Codable & Sendable>: HostedActorWithArgument {
    public typealias Argument = [Key: Value]
    private var storage: [Key: Value]

    /// The dictionary starting with `argument`'s entries.
    public init(argument: [Key: Value], actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
        storage = argument
    }

    /// The value for `key`, nil if none (`d.get(key)`).
    public distributed func get(_ key: Key) -> Value? { storage[key] }

    /// The value for `key`, or `defaultValue` if none (`d.get(key, default)`).
    public distributed func get(_ key: Key, default defaultValue: Value) -> Value { storage[key] ?? defaultValue }

    /// The value for `key` (`d[key]`).
    /// - Throws: `ManagedError.keyNotFound` if there is none.
    public distributed func value(for key: Key) throws -> Value {
        guard let value = storage[key] else { throw ManagedError.keyNotFound(String(describing: key)) }
        return value
    }

    /// Sets the value for `key` (`d[key] = value`).
    public distributed func set(_ key: Key, _ value: Value) { storage[key] = value }

    /// The value for `key`, set to `value` first if there is none (`d.setdefault(key, value)`).
    public distributed func setDefault(_ key: Key, _ value: Value) -> Value {
        if let existing = storage[key] { return existing }
        storage[key] = value
        return value
    }

    /// Sets every entry of `entries` (`d.update(entries)`).
    public distributed func update(_ entries: [Key: Value]) { storage.merge(entries) { _, new in new } }

    /// Removes `key` and returns its value (`d.pop(key)`).
    /// - Throws: `ManagedError.keyNotFound` if there is none.
    public distributed func pop(_ key: Key) throws -> Value {
        guard let value = storage.removeValue(forKey: key) else { throw ManagedError.keyNotFound(String(describing: key)) }
        return value
    }

    /// Removes `key` and returns its value, nil if none (`d.pop(key, None)`).
    public distributed func remove(_ key: Key) -> Value? { storage.removeValue(forKey: key) }

    /// Whether `key` has a value (`key in d`).
    public distributed func contains(_ key: Key) -> Bool { storage[key] != nil }

    /// The number of entries (`len(d)`).
    public distributed func count() -> Int { storage.count }

    /// The keys (`d.keys()`), in no order.
    public distributed func keys() -> [Key] { Array(storage.keys) }

    /// The values (`d.values()`), in no order.
    public distributed func values() -> [Value] { Array(storage.values) }

    /// A copy of the whole dictionary (`d.copy()`, `dict(d)`).
    public distributed func copy() -> [Key: Value] { storage }

    /// Removes every entry (`d.clear()`).
    public distributed func clear() { storage.removeAll() }
}
