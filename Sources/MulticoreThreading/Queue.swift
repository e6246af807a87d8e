// Python's three queue classes: one `BlockingQueue` each, differing only in their order.

/// A FIFO queue. Corresponds to Python's `queue.Queue`.
public typealias Queue<Element: Sendable> = BlockingQueue<FIFOBuffer<Element>>

/// A LIFO queue (a stack). Corresponds to Python's `queue.LifoQueue`.
public typealias LifoQueue<Element: Sendable> = BlockingQueue<LIFOBuffer<Element>>

/// A queue that hands out its smallest item first. Corresponds to Python's
/// `queue.PriorityQueue`.
public typealias PriorityQueue<Element: Sendable & Comparable> = BlockingQueue<PriorityBuffer<Element>>
