import Distributed

/// Python's `manager.list()`: a list that lives in an actor host, shared by every process
/// holding a reference. Indices are Python's: from 0, and a negative one counts from the end
/// (-1 is the last). Each call is one step, run alone (actor isolation).
///
///     let log: ManagedList<String> = try await manager.list()
///     try await log.append("started")             // Python: log.append("started")
///     try await log.get(-1)                       // Python: log[-1]
public distributed actor ManagedList<Element: Codable & Sendable>: HostedActorWithArgument {
    public typealias Argument = [Element]
    private var storage: [Element]

    /// The list starting with `argument`'s elements.
    public init(argument: [Element], actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
        storage = argument
    }

    /// Adds `element` at the end (`l.append(element)`).
    public distributed func append(_ element: Element) { storage.append(element) }

    /// Adds `elements` at the end, in order (`l.extend(elements)`).
    public distributed func extend(_ elements: [Element]) { storage.append(contentsOf: elements) }

    /// The element at `index` (`l[index]`).
    /// - Throws: `ManagedError.indexOutOfRange`.
    public distributed func get(_ index: Int) throws -> Element { storage[try position(index)] }

    /// Replaces the element at `index` (`l[index] = element`).
    /// - Throws: `ManagedError.indexOutOfRange`.
    public distributed func set(_ index: Int, _ element: Element) throws { storage[try position(index)] = element }

    /// Inserts `element` before `index` (`l.insert(index, element)`); as in Python, an index past
    /// either end inserts at that end.
    public distributed func insert(_ element: Element, at index: Int) {
        let from = index < 0 ? storage.count + index : index
        storage.insert(element, at: min(max(from, 0), storage.count))
    }

    /// Removes and returns the element at `index`, the last by default (`l.pop(index)`).
    /// - Throws: `ManagedError.indexOutOfRange` (an empty list included).
    public distributed func pop(_ index: Int = -1) throws -> Element { storage.remove(at: try position(index)) }

    /// The number of elements (`len(l)`).
    public distributed func count() -> Int { storage.count }

    /// A copy of the whole list (`list(l)`, `l[:]`).
    public distributed func elements() -> [Element] { storage }

    /// Removes every element (`l.clear()`).
    public distributed func clear() { storage.removeAll() }

    /// The array index of Python's `index`.
    private func position(_ index: Int) throws -> Int {
        let position = index < 0 ? storage.count + index : index
        guard storage.indices.contains(position) else { throw ManagedError.indexOutOfRange(index: index, count: storage.count) }
        return position
    }
}
