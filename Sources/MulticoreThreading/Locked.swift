/// A value that threads share, reached only through `withLock`.
///
/// Used instead of `Synchronization.Mutex` for Multicore's own bookkeeping: `Mutex`'s atomics
/// live inside the stdlib, which ThreadSanitizer does not see, so every access it protects would
/// be reported as a race; `Lock`'s atomics are compiled into this module and are seen.
package final class Locked<Value> {
    private let lock = Lock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.acquire()
        defer { lock.releaseHeld() }
        return try body(&value)
    }
}

// `value` is only reached with `lock` held, and only values that may cross threads are kept.
extension Locked: @unchecked Sendable where Value: Sendable {}
