import DequeModule
import HeapModule

/// The storage a `BlockingQueue` keeps its items in, which decides the order they come out.
/// Corresponds to the `_init`, `_qsize`, `_put` and `_get` methods that Python's `queue.Queue`
/// subclasses override; conform to it for a queue with another order.
public protocol QueueBuffer<Element> {
    associatedtype Element
    /// An empty buffer.
    init()
    /// How many items it holds.
    var count: Int { get }
    /// Adds an item.
    mutating func put(_ item: Element)
    /// Removes and returns the next item; only called when `count > 0`.
    mutating func get() -> Element
    /// Removes every item.
    mutating func removeAll()
}

/// First in, first out: the order of Python's `queue.Queue`.
public struct FIFOBuffer<Element>: QueueBuffer {
    @usableFromInline var items = Deque<Element>()
    /// An empty buffer. Python: `Queue._init`.
    @inlinable public init() {}
    /// Python: `Queue._qsize`.
    @inlinable public var count: Int { items.count }
    /// Python: `Queue._put`.
    @inlinable public mutating func put(_ item: Element) { items.append(item) }
    /// Python: `Queue._get`.
    @inlinable public mutating func get() -> Element { items.removeFirst() }
    /// Drops every item (Python 3.13's `shutdown(immediate=True)` drains with `_get`).
    @inlinable public mutating func removeAll() { items.removeAll() }
}

/// Last in, first out: the order of Python's `queue.LifoQueue`.
public struct LIFOBuffer<Element>: QueueBuffer {
    @usableFromInline var items: [Element] = []
    /// An empty buffer. Python: `Queue._init`.
    @inlinable public init() {}
    /// Python: `Queue._qsize`.
    @inlinable public var count: Int { items.count }
    /// Python: `Queue._put`.
    @inlinable public mutating func put(_ item: Element) { items.append(item) }
    /// Python: `Queue._get`.
    @inlinable public mutating func get() -> Element { items.removeLast() }
    /// Drops every item (Python 3.13's `shutdown(immediate=True)` drains with `_get`).
    @inlinable public mutating func removeAll() { items.removeAll() }
}

/// Smallest first: the order of Python's `queue.PriorityQueue` (a binary heap, like `heapq`;
/// equal items come out in no particular order).
public struct PriorityBuffer<Element: Comparable>: QueueBuffer {
    @usableFromInline var items = Heap<Element>()
    /// An empty buffer. Python: `Queue._init`.
    @inlinable public init() {}
    /// Python: `Queue._qsize`.
    @inlinable public var count: Int { items.count }
    /// Python: `Queue._put`.
    @inlinable public mutating func put(_ item: Element) { items.insert(item) }
    /// Python: `Queue._get`.
    @inlinable public mutating func get() -> Element { items.removeMin() }
    /// Drops every item (Python 3.13's `shutdown(immediate=True)` drains with `_get`).
    @inlinable public mutating func removeAll() { items = Heap() }
}
