import Distributed

/// Python's `manager.Queue(maxsize)`: a first-in, first-out queue that lives in an actor host,
/// shared by every process holding a reference. A `get` on an empty queue and a `put` on a full
/// one wait inside the host without holding it up: the host serves its other calls meanwhile,
/// and waiters are served in the order they came. Every wait can have a timeout; a caller that
/// cancels its task stops waiting there too.
///
///     let tasks: ManagedQueue<Int> = try await manager.queue()
///     try await tasks.put(7)                                  // q.put(7)
///     let next = try await tasks.get(timeout: .seconds(1))    // q.get(timeout=1)
///
/// An item handed to a get whose caller was cancelled just before is put back at the front; one
/// whose answer was on its way when the caller was cancelled is lost with the answer.
public distributed actor ManagedQueue<Element: Codable & Sendable>: HostedActorWithArgument {
    /// The queue's `maxSize`: at most that many items; 0 (Python's default) for no bound.
    public typealias Argument = Int
    private let maxSize: Int
    /// The items, from `head` on (the slots before it are taken).
    private var items: [Element] = []
    private var head = 0
    /// Items put and not yet marked done (`taskDone()`).
    private var unfinished = 0
    private let getters = WaitList<Void, Element>()
    /// Puts that wait for room, holding their items.
    private let putters = WaitList<Element, Void>()
    private let joiners = WaitList<Void, Void>()

    /// A queue of at most `argument` items, 0 (or less) for no bound.
    public init(argument maxSize: Int, actorSystem: ProcessActorSystem) {
        self.actorSystem = actorSystem
        self.maxSize = max(maxSize, 0)
    }

    /// Puts `item` at the end, waiting up to `timeout` for room in a full queue; a nil timeout
    /// waits until there is room (`q.put(item, timeout=timeout)`).
    /// - Throws: `ManagedError.full` when the timeout passed first; `CancellationError` when the
    ///   caller stopped waiting.
    public distributed func put(_ item: Element, timeout: Duration? = nil) async throws {
        guard !offer(item) else { return }
        guard await putters.wait(carrying: item, timeout: timeout) != nil else {
            throw Task.isCancelled ? CancellationError() : ManagedError.full
        }
    }

    /// Puts `item` at the end of a queue that has room (`q.put_nowait(item)`).
    /// - Throws: `ManagedError.full`.
    public distributed func putNowait(_ item: Element) throws {
        guard offer(item) else { throw ManagedError.full }
    }

    /// Takes the first item, waiting up to `timeout` for one; a nil timeout waits until one
    /// comes (`q.get(timeout=timeout)`).
    /// - Throws: `ManagedError.empty` when the timeout passed first; `CancellationError` when the
    ///   caller stopped waiting.
    public distributed func get(timeout: Duration? = nil) async throws -> Element {
        if let item = takeFirst() { return item }
        guard let item = await getters.wait(carrying: (), timeout: timeout) else {
            throw Task.isCancelled ? CancellationError() : ManagedError.empty
        }
        guard !Task.isCancelled else {
            // Its caller is gone: the item goes back to the front.
            giveBack(item)
            throw CancellationError()
        }
        return item
    }

    /// Takes the first item of a queue that has one (`q.get_nowait()`).
    /// - Throws: `ManagedError.empty`.
    public distributed func getNowait() throws -> Element {
        guard let item = takeFirst() else { throw ManagedError.empty }
        return item
    }

    /// Marks one item taken earlier as done (`q.task_done()`); `join` returns once every item
    /// put has been marked.
    /// - Throws: `ManagedError.taskDoneTooManyTimes` when every item put is marked already.
    public distributed func taskDone() throws {
        guard unfinished > 0 else { throw ManagedError.taskDoneTooManyTimes }
        unfinished -= 1
        if unfinished == 0 { joiners.wakeAll(with: ()) }
    }

    /// Waits until every item put has been marked done (`q.join()`), up to `timeout` (nil: no
    /// limit). Returns whether they were.
    public distributed func join(timeout: Duration? = nil) async -> Bool {
        if unfinished == 0 { return true }
        return await joiners.wait(carrying: (), timeout: timeout) != nil
    }

    /// The number of items in the queue (`q.qsize()`).
    public distributed func count() -> Int { items.count - head }

    /// Whether the queue has no item (`q.empty()`).
    public distributed func isEmpty() -> Bool { items.count == head }

    /// Whether the queue has `maxSize` items (`q.full()`); never for an unbounded one.
    public distributed func isFull() -> Bool { maxSize > 0 && items.count - head >= maxSize }

    /// How many calls wait in the queue (gets, puts, joins), for tests.
    distributed func waitingCount() -> Int { getters.count + putters.count + joiners.count }

    /// Accepts `item` if there is room (or a getter waits for it, which takes it at once).
    private func offer(_ item: Element) -> Bool {
        guard getters.count > 0 || !isFull() else { return false }
        unfinished += 1
        if getters.wakeFirst(with: item) == nil { items.append(item) }
        return true
    }

    /// Takes the first item, if any; the first put waiting for room then puts its item.
    private func takeFirst() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        if let waiting = putters.wakeFirst(with: ()) {
            unfinished += 1
            items.append(waiting)
        }
        return item
    }

    /// Puts an item taken for a caller that is gone back at the front (or to a getter waiting).
    private func giveBack(_ item: Element) {
        guard getters.wakeFirst(with: item) == nil else { return }
        if head > 0 {
            head -= 1
            items[head] = item
        } else {
            items.insert(item, at: 0)
        }
    }
}
