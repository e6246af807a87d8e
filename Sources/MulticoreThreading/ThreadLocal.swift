import Synchronization

/// A value that each thread sees separately: one thread's writes are invisible to the others,
/// and each thread starts from `makeDefault()`. Corresponds to Python's `threading.local()`.
///
/// A thread's values are released when that thread ends. (Values that other threads set in a
/// `ThreadLocal` that is itself released stay until those threads end.)
public final class ThreadLocal<Value>: Sendable {
    private final class Box { var value: Value; init(_ value: Value) { self.value = value } }

    private static var nextKey: UInt64 { keyCounter.wrappingAdd(1, ordering: .relaxed).newValue }
    private let key: UInt64
    private let makeDefault: @Sendable () -> Value

    /// Creates the storage; each thread's value starts as `makeDefault()`, evaluated in that
    /// thread on its first access (like the `__init__` of a subclass of Python's `local`).
    public init(default makeDefault: @escaping @Sendable () -> Value) {
        self.key = Self.nextKey
        self.makeDefault = makeDefault
    }

    private var box: Box {
        let state = ThreadState.current
        if let box = state.locals[key] { return unsafeDowncast(box, to: Box.self) }
        let box = Box(makeDefault())
        state.locals[key] = box
        return box
    }

    /// The calling thread's value.
    public var value: Value {
        get { box.value }
        set { box.value = newValue }
    }
}

private let keyCounter = Atomic<UInt64>(0)
