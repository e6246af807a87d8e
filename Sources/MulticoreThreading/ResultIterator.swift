/// How the lazy results of Multicore's maps and iterations are used with `for ... in`, `zip`,
/// `map` and `reduce`: each element is a `Result`, so an error stays visible where it happened
/// and the loop goes on or stops as the caller decides:
///
///     for result in pool.imap(tasks) {
///         let output = try result.get()
///     }
///     let outputs = try executor.map(inputs) { $0 * 2 }.map { try $0.get() }
///
/// The elements are what the type's throwing `next()` gives, in order (it remains, for
/// `while let x = try it.next()`): a call's or a task's error is its element and the iteration
/// goes on, as Python's `imap` does; it ends after an error that only repeats from then on (the
/// time limit of a `map` or `asCompleted` passed; the pool or executor no longer takes work).
///
/// `next()` is inlined into the caller's loop, and the lazy maps make their `source` there too
/// (their `makeIterator` is inlinable): an output is taken with calls specialized for its type.
public struct ResultIterator<Success>: IteratorProtocol {
    @usableFromInline let source: () throws -> Success?
    /// Whether the iteration ends after this error.
    @usableFromInline let endsAfter: (any Error) -> Bool
    @usableFromInline var ended = false

    @usableFromInline package init(endsAfter: @escaping (any Error) -> Bool, _ source: @escaping () throws -> Success?) {
        self.source = source
        self.endsAfter = endsAfter
    }

    @inlinable @available(*, noasync, message: "blocks the thread")
    public mutating func next() -> Result<Success, any Error>? {
        if ended { return nil }
        do {
            guard let value = try source() else {
                ended = true
                return nil
            }
            return .success(value)
        } catch {
            if endsAfter(error) { ended = true }
            return .failure(error)
        }
    }
}
