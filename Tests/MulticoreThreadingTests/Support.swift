import Testing
@_exported import MulticoreTestSupport
@testable import MulticoreThreading

/// A short wait for things that must NOT happen (a thread that must stay blocked).
let shortWait = Duration.milliseconds(50)

/// Starts `count` threads that first meet at a start gate, so that they really race, then run
/// `body(index)`. Joins them all within the test deadline and records a failure otherwise.
@discardableResult
func race(_ count: Int, sourceLocation: SourceLocation = #_sourceLocation,
          _ body: @escaping @Sendable (Int) throws -> Void) throws -> [JoinableThread] {
    let gate = try Barrier(parties: count)
    let threads = (0..<count).map { index in
        JoinableThread(daemon: true) {
            try gate.wait(timeout: testDeadline)
            try body(index)
        }
    }
    for thread in threads { try thread.start() }
    for thread in threads {
        #expect(try thread.join(timeout: testDeadline), "thread did not finish in time", sourceLocation: sourceLocation)
        #expect(thread.error == nil, "thread threw \(String(describing: thread.error))", sourceLocation: sourceLocation)
    }
    return threads
}

/// Starts a daemon thread running `body`.
func spawn(_ body: @escaping @Sendable () throws -> Void) throws -> JoinableThread {
    let thread = JoinableThread(daemon: true, target: body)
    try thread.start()
    return thread
}

/// A counter shared between test threads; every access goes through its own lock.
final class Counter: @unchecked Sendable { // `value` is guarded by `lock`
    private let lock = Lock()
    private var _value = 0
    func add(_ n: Int = 1) { lock.withLock { _value += n } }
    var value: Int { lock.withLock { _value } }
}

/// A list shared between test threads.
final class Recorder<T: Sendable>: @unchecked Sendable { // `items` is guarded by `lock`
    private let lock = Lock()
    private var _items: [T] = []
    func append(_ item: T) { lock.withLock { _items.append(item) } }
    var items: [T] { lock.withLock { _items } }
}
