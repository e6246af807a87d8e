/// A thread that calls a function after a delay, unless cancelled first. Corresponds to
/// Python's `threading.Timer` (renamed so as not to clash with Foundation's `Timer`).
public final class TimerThread: JoinableThread, @unchecked Sendable { // its own state is `let`
    private let interval: Duration
    private let function: @Sendable () throws -> Void
    private let finished = Event()

    /// Creates a timer that, once started, calls `function` after `interval` (a negative
    /// interval counts as zero). Corresponds to Python's `threading.Timer(interval, function)`.
    public init(interval: Duration, name: String? = nil, daemon: Bool? = nil,
                function: @escaping @Sendable () throws -> Void) {
        self.interval = max(interval, .zero)
        self.function = function
        super.init(name: name, daemon: daemon, target: nil)
    }

    /// Stops the timer if it has not fired yet. Corresponds to Python's `Timer.cancel()`.
    public func cancel() {
        finished.set()
    }

    /// Waits for the interval, then calls the function unless cancelled.
    /// Corresponds to Python's `Timer.run()`.
    public override func run() throws {
        defer { finished.set() }
        if try !finished.wait(timeout: interval) {
            try function()
        }
    }
}
