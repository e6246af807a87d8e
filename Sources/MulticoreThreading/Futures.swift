import DequeModule

/// When `Futures.wait` returns. Corresponds to `FIRST_COMPLETED`, `FIRST_EXCEPTION` and
/// `ALL_COMPLETED` of `concurrent.futures`.
public enum ReturnWhen: Sendable {
    /// As soon as any future finishes or is cancelled.
    case firstCompleted
    /// As soon as any future finishes with an error, or when all are done.
    case firstException
    /// When all futures are done.
    case allCompleted
}

/// Collects the completions of a set of futures, in the order they happen.
final class CompletionWaiter: @unchecked Sendable { // all state is guarded by `lock`
    private let lock = Lock()
    private let condition: Condition
    private var completed = Deque<ObjectIdentifier>()
    private var completedCount = 0
    private var failedCount = 0

    init() { condition = Condition(lock: lock) }

    func futureDone(_ id: ObjectIdentifier, failed: Bool) {
        lock.withLock {
            completed.append(id)
            completedCount += 1
            if failed { failedCount += 1 }
            condition.notifyAllHeld()
        }
    }

    /// Waits until `satisfied(completed, failed)` or the deadline; returns whether satisfied.
    func wait(until deadline: Deadline, _ satisfied: (Int, Int) -> Bool) -> Bool {
        lock.withLock {
            while !satisfied(completedCount, failedCount) {
                if deadline.hasPassed { return false }
                _ = condition.wait(deadline: deadline)
            }
            return true
        }
    }

    /// The next completion, waiting until the deadline; nil if none came in time.
    func next(until deadline: Deadline) -> ObjectIdentifier? {
        lock.withLock {
            while completed.isEmpty {
                if deadline.hasPassed { return nil }
                _ = condition.wait(deadline: deadline)
            }
            return completed.removeFirst()
        }
    }
}

/// The functions of `concurrent.futures` that work on several futures.
public enum Futures {
    /// Waits until the futures meet `returnWhen`, or until `timeout` passes, and returns them
    /// split into done and not done (each in the order given; duplicates removed).
    /// Corresponds to Python's `concurrent.futures.wait(fs, timeout=None, return_when=ALL_COMPLETED)`.
    ///
    /// A cancelled future counts as done at once, as its `isDone` says. (CPython keeps a future
    /// cancelled while queued in `not_done` until its executor has dropped it, although its
    /// `done()` is already true; here `done` and `isDone` always agree.)
    /// - Throws: `FutureError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread")
    public static func wait<Value>(
        _ futures: [Future<Value>], timeout: Duration? = nil, returnWhen: ReturnWhen = .allCompleted
    ) throws(FutureError) -> (done: [Future<Value>], notDone: [Future<Value>]) {
        let deadline = try Deadline.after(timeout, orThrow: FutureError.timeoutTooLarge)
        let unique = deduplicated(futures)
        let waiter = CompletionWaiter()
        for future in unique { future.install(waiter) }
        let total = unique.count
        _ = waiter.wait(until: deadline) { completed, failed in
            switch returnWhen {
            case .firstCompleted: completed >= 1 || total == 0
            case .firstException: failed >= 1 || completed == total
            case .allCompleted: completed == total
            }
        }
        for future in unique { future.uninstall(waiter) }
        var done: [Future<Value>] = []
        var notDone: [Future<Value>] = []
        for future in unique {
            if future.isDone { done.append(future) } else { notDone.append(future) }
        }
        return (done, notDone)
    }

    /// Returns an iterator over the futures that yields each one as it completes (those already
    /// done first). The whole iteration must end within `timeout`.
    /// Corresponds to Python's `concurrent.futures.as_completed(fs, timeout=None)`.
    /// - Throws: `FutureError.timeoutTooLarge`.
    public static func asCompleted<Value>(_ futures: [Future<Value>], timeout: Duration? = nil) throws(FutureError) -> AsCompleted<Value> {
        AsCompleted(deduplicated(futures), deadline: try .after(timeout, orThrow: FutureError.timeoutTooLarge))
    }

    private static func deduplicated<Value>(_ futures: [Future<Value>]) -> [Future<Value>] {
        var seen = Set<ObjectIdentifier>()
        return futures.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }
}

/// The iterator `Futures.asCompleted` returns: `for result in iterator { let future = try
/// result.get() }` (see `ResultIterator`; it ends after a timeout) or
/// `while let future = try iterator.next() { ... }`.
public final class AsCompleted<Value: Sendable>: Sequence {
    private let waiter = CompletionWaiter()
    private var pending: [ObjectIdentifier: Future<Value>]
    private let total: Int
    private let deadline: Deadline

    init(_ futures: [Future<Value>], deadline: Deadline) {
        self.deadline = deadline
        self.total = futures.count
        pending = Dictionary(uniqueKeysWithValues: futures.map { (ObjectIdentifier($0), $0) })
        for future in futures { future.install(waiter) }
    }

    deinit {
        for future in pending.values { future.uninstall(waiter) }
    }

    /// The next future to complete, nil when all have been returned.
    /// - Throws: `FutureError.unfinished` when the timeout passes first.
    @available(*, noasync, message: "blocks the thread")
    public func next() throws(FutureError) -> Future<Value>? {
        if pending.isEmpty { return nil }
        guard let id = waiter.next(until: deadline), let future = pending.removeValue(forKey: id) else {
            throw .unfinished(pending.count, of: total)
        }
        return future
    }

    /// The remaining futures as they complete, as `Result`s; ends after its time limit passed.
    public func makeIterator() -> ResultIterator<Future<Value>> { ResultIterator(endsAfter: { _ in true }) { try self.next() } }
}
