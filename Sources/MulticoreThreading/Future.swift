import CMulticore
import MulticoreSystem

/// The eventual result of work handed to an executor: pending, then running, then finished
/// with a value or an error, unless cancelled while still pending.
/// Corresponds to Python's `concurrent.futures.Future`.
///
/// Blocking callers use `result(timeout:)`; async code awaits `value`. The process pools reuse
/// this type.
public final class Future<Value: Sendable>: @unchecked Sendable { // all state is guarded by `lock`, but the atomic `doneWord`
    /// Where the future is. Not generic, and the value kept apart (`valueBox`): a process pool
    /// runs the future's methods in code not specialized for `Value`, where every use of a type
    /// built on `Value` (a state enum carrying a `Result`) costs a runtime metadata lookup.
    enum Phase {
        case pending
        case running
        case cancelled
        case succeeded
        case failed
    }

    private let lock = Lock()
    /// What `result()` callers sleep on, outside the lock: 0 while not done and nobody sleeps,
    /// 2 while not done and someone may sleep, 1 once done. They are woken after the lock is let
    /// go: woken under it (as by a condition), each would at once sleep again on the lock, and
    /// be woken a second time when it is released.
    private let doneWord = FutexWord(0)
    private var phase = Phase.pending
    /// The value, once succeeded: allocated then, freed with the future.
    private var valueBox: UnsafeMutablePointer<Value>?
    /// The error, once failed.
    private var failure: (any Error)?
    /// Whether a callback or a waiter was added: completing the future looks at neither list
    /// otherwise (arrays of a type built on `Value`, each use a metadata lookup).
    private var hasListeners = false
    private var callbacks: [@Sendable (Future<Value>) -> Void] = []
    private var waiters: [CompletionWaiter] = []
    /// How the executor stops the work once it runs (a process pool can; threads cannot).
    private var interruptHandler: (@Sendable () -> Void)?
    /// Who finished it (set with the outcome, by an executor).
    private var finishedBy: WorkerIdentity?

    /// A pending future. Executors create these; code that implements its own executor may too.
    /// Corresponds to Python's `concurrent.futures.Future()`.
    public init() {}

    deinit {
        guard let valueBox else { return }
        valueBox.deinitialize(count: 1)
        valueBox.deallocate()
    }

    // MARK: State

    /// Whether the future was cancelled. Python: `Future.cancelled()`.
    public var isCancelled: Bool { lock.withLock { phase == .cancelled } }

    /// Whether the work is running now. Python: `Future.running()`.
    public var isRunning: Bool { lock.withLock { phase == .running } }

    /// Whether the future finished or was cancelled. Python: `Future.done()`.
    public var isDone: Bool { lock.withLock { isDoneLocked } }

    private var isDoneLocked: Bool {
        switch phase {
        case .pending, .running: false
        case .cancelled, .succeeded, .failed: true
        }
    }

    /// The worker that ran the work, once the future finished: the process of a process pool
    /// or the thread of a thread pool, also when it failed (a rethrown error, a timeout, a
    /// worker's death). nil while the work is pending or running, after a cancel, or when no
    /// worker ran it.
    public var worker: WorkerIdentity? { lock.withLock { finishedBy } }

    /// Cancels the future if its work has not started; returns whether it is cancelled.
    /// Corresponds to Python's `Future.cancel()`.
    @discardableResult
    public func cancel() -> Bool {
        let toRun: [@Sendable (Future<Value>) -> Void]? = lock.withLock {
            switch phase {
            case .running, .succeeded, .failed: return nil
            case .cancelled: return []
            case .pending:
                phase = .cancelled
                return completeLocked(failed: false)
            }
        }
        guard let toRun else { return false }
        wakeSleepers()
        for callback in toRun { callback(self) }
        return true
    }

    // MARK: Results

    /// Waits until the future is done, or `timeout` passes (nil: no limit), and returns its
    /// value. Corresponds to Python's `Future.result(timeout=None)`.
    /// - Throws: the error the work threw; `FutureError.cancelled`; `FutureError.timeout`;
    ///   `FutureError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread; await `value` instead")
    public func result(timeout: Duration? = nil) throws -> Value {
        try waitDone(deadline: .after(timeout, orThrow: FutureError.timeoutTooLarge))
        return try lock.withLock { () throws -> Value in
            if let valueBox { return valueBox.pointee }
            throw failure ?? FutureError.invalidState("future is not done")
        }
    }

    /// Waits like `result`, and returns the error the work threw, or nil if it returned a value.
    /// Corresponds to Python's `Future.exception(timeout=None)`.
    /// - Throws: `FutureError.cancelled`; `FutureError.timeout`; `FutureError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread; await `value` instead")
    public func error(timeout: Duration? = nil) throws(FutureError) -> (any Error)? {
        try waitDone(deadline: .after(timeout, orThrow: FutureError.timeoutTooLarge))
        return lock.withLock { failure }
    }

    /// Returns once the future succeeded or failed.
    /// - Throws: `FutureError.cancelled`; `FutureError.timeout` once `deadline` has passed.
    private func waitDone(deadline: Deadline) throws(FutureError) {
        while true {
            let done = try lock.withLock { () throws(FutureError) -> Bool in
                switch phase {
                case .succeeded, .failed: return true
                case .cancelled: throw .cancelled
                case .pending, .running:
                    if deadline.hasPassed { throw .timeout }
                    return false
                }
            }
            if done { return }
            // Look a little while before sleeping, handing the CPU to whoever finishes the
            // future: results that come a few microseconds apart (a process pool's) are then
            // taken without a futex sleep and wake-up each, which cost tens of microseconds here.
            if awaitBriefly() { continue }
            // Announce the sleep (0 to 2), unless it finished meanwhile (1): then look again.
            if doneWord.compareExchangeAcquiring(expected: 0, desired: 2) || doneWord.loadAcquiring() == 2 {
                _ = doneWord.wait(expected: 2, deadline: deadline)
            }
        }
    }

    /// How many times a waiter looks at the future, yielding its CPU between looks, before it sleeps.
    /// Few and short: a waiter that looks longer takes CPU from the work it waits for (a
    /// chunked map's results come tens of microseconds apart).
    static var spinLimit: Int { 4 }

    /// Whether the future was done within a few looks (`spinLimit`), each after a pause and a
    /// yield of the CPU; false, at once, when someone sleeps on it already.
    private func awaitBriefly() -> Bool {
        for _ in 0..<Self.spinLimit {
            switch doneWord.loadAcquiring() {
            case 1: return true
            case 2: return false
            default: break
            }
            for _ in 0..<8 { mc_cpu_relax() }
            yieldProcessor()
        }
        return doneWord.loadAcquiring() == 1
    }

    /// After the lock is let go, once the future is done: wakes the `result()` callers asleep.
    private func wakeSleepers() {
        if doneWord.exchangeAcquiringAndReleasing(1) == 2 { doneWord.wake(Int32.max) }
    }

    /// The value, awaited without blocking a thread. Cancelling the awaiting task cancels the
    /// future if its work has not started yet; work already running is stopped if its executor
    /// can stop it (a process pool stops the worker, the future then fails with
    /// `CancellationError`), and otherwise finishes.
    /// Corresponds to `await asyncio.wrap_future(future)`.
    /// - Throws: the error the work threw; `FutureError.cancelled`.
    public var value: Value {
        get async throws {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                    addDoneCallback { future in
                        continuation.resume(with: future.finalOutcome)
                    }
                }
            } onCancel: {
                self.interrupt()
            }
        }
    }

    /// The outcome of a future known to be done.
    private var finalOutcome: Result<Value, any Error> {
        lock.withLock {
            switch phase {
            case .succeeded: valueBox.map { .success($0.pointee) } ?? .failure(FutureError.invalidState("future is not done"))
            case .failed: .failure(failure ?? FutureError.invalidState("future is not done"))
            case .cancelled: .failure(FutureError.cancelled)
            case .pending, .running: .failure(FutureError.invalidState("future is not done"))
            }
        }
    }

    /// Calls `callback` with the future once it is done (at once, in this thread, if it already
    /// is). Each callback runs exactly once, in the thread that completes the future.
    /// Corresponds to Python's `Future.add_done_callback(fn)`.
    public func addDoneCallback(_ callback: @escaping @Sendable (Future<Value>) -> Void) {
        let runNow = lock.withLock { () -> Bool in
            if isDoneLocked { return true }
            callbacks.append(callback)
            hasListeners = true
            return false
        }
        if runNow { callback(self) }
    }

    // MARK: For executors

    /// Installs how the work is stopped once it runs; called by `interrupt`.
    package func setInterruptHandler(_ handler: @escaping @Sendable () -> Void) {
        lock.withLock { interruptHandler = handler }
    }

    /// Cancels the future if its work has not started, else asks the executor to stop it (if
    /// it can). What cancelling a task that awaits the future does.
    package func interrupt() {
        guard !cancel() else { return }
        let handler: (@Sendable () -> Void)? = lock.withLock {
            if phase == .running { return interruptHandler }
            return nil
        }
        handler?()
    }

    /// Moves a pending future to running and returns true, or returns false if it was cancelled
    /// (the executor must then skip the work). Corresponds to Python's
    /// `Future.set_running_or_notify_cancel()`.
    /// - Throws: `FutureError.invalidState` if the future is already running or finished.
    public func setRunningOrNotifyCancel() throws(FutureError) -> Bool {
        try lock.withLock { () throws(FutureError) -> Bool in
            switch phase {
            case .pending: phase = .running; return true
            case .cancelled: return false
            case .running, .succeeded, .failed: throw .invalidState("Future in unexpected state")
            }
        }
    }

    /// Finishes the future with `value`. Corresponds to Python's `Future.set_result(result)`.
    /// - Throws: `FutureError.invalidState` if it is already done.
    public func setResult(_ value: Value) throws(FutureError) {
        try finish(.success(value))
    }

    /// Finishes the future with `error`. Corresponds to Python's `Future.set_exception(exc)`.
    /// - Throws: `FutureError.invalidState` if it is already done.
    public func setError(_ error: any Error) throws(FutureError) {
        try finish(.failure(error))
    }

    /// Finishes the future with `outcome`, which `worker` produced (see `worker`): what
    /// executors use.
    /// - Throws: `FutureError.invalidState` if it is already done.
    package func finish(_ outcome: Result<Value, any Error>, by worker: WorkerIdentity?) throws(FutureError) {
        try finish(outcome, worker: worker)
    }

    /// Finishes the future with `value`, which `worker` produced: `finish(_:by:)` without a
    /// `Result` (what code not specialized for `Value` calls, for want of a metadata lookup).
    /// - Throws: `FutureError.invalidState` if it is already done.
    package func finish(value: Value, by worker: WorkerIdentity?) throws(FutureError) {
        let box = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        box.initialize(to: value)
        guard lockIfNotDone() else {
            box.deinitialize(count: 1)
            box.deallocate()
            throw .invalidState("the future is already done")
        }
        valueBox = box
        settleAndRelease(.succeeded, by: worker)
    }

    /// Finishes the future with `error`, which `worker` produced.
    /// - Throws: `FutureError.invalidState` if it is already done.
    package func finish(error: any Error, by worker: WorkerIdentity?) throws(FutureError) {
        guard lockIfNotDone() else { throw .invalidState("the future is already done") }
        failure = error
        settleAndRelease(.failed, by: worker)
    }

    /// Takes the lock and returns true if the future is not done yet; else lets it go again.
    /// (The lock is taken and let go by hand, not by `withLock`, whose result type, the
    /// callbacks to run, would cost this unspecialized code three metadata lookups a call.)
    private func lockIfNotDone() -> Bool {
        lock.acquire()
        guard isDoneLocked else { return true }
        lock.releaseHeld()
        return false
    }

    /// With the lock held and the outcome stored: makes `phase` final, lets the lock go, wakes
    /// the sleepers, then tells the waiters and runs the callbacks, if any (`completeLocked`).
    private func settleAndRelease(_ final: Phase, by worker: WorkerIdentity?) {
        phase = final
        finishedBy = worker
        interruptHandler = nil
        guard hasListeners else {
            lock.releaseHeld()
            wakeSleepers()
            return
        }
        let toRun = completeLocked(failed: final == .failed)
        lock.releaseHeld()
        wakeSleepers()
        for callback in toRun { callback(self) }
    }

    /// Finishes the future with the outcome of `body`, run by `worker` if the future was not cancelled.
    func run(by worker: WorkerIdentity, _ body: () throws -> Value) {
        guard (try? setRunningOrNotifyCancel()) == true else { return }
        let result = Result { try body() }
        try? finish(result, worker: worker)
    }

    private func finish(_ result: Result<Value, any Error>, worker: WorkerIdentity? = nil) throws(FutureError) {
        switch result {
        case .success(let value): try finish(value: value, by: worker)
        case .failure(let error): try finish(error: error, by: worker)
        }
    }

    /// With the lock held and the state just made final: tells `wait`/`asCompleted` waiters,
    /// and hands back the callbacks to run after unlocking (after `wakeSleepers`).
    private func completeLocked(failed: Bool) -> [@Sendable (Future<Value>) -> Void] {
        guard hasListeners else { return [] }
        for waiter in waiters { waiter.futureDone(ObjectIdentifier(self), failed: failed) }
        waiters.removeAll()
        defer { callbacks.removeAll() }
        return callbacks
    }

    // MARK: Waiters of Futures.wait and Futures.asCompleted

    /// Installs `waiter`, or reports the future to it at once if already done.
    func install(_ waiter: CompletionWaiter) {
        lock.withLock {
            switch phase {
            case .failed: waiter.futureDone(ObjectIdentifier(self), failed: true)
            case .succeeded, .cancelled: waiter.futureDone(ObjectIdentifier(self), failed: false)
            case .pending, .running:
                waiters.append(waiter)
                hasListeners = true
            }
        }
    }

    func uninstall(_ waiter: CompletionWaiter) {
        lock.withLock { waiters.removeAll { $0 === waiter } }
    }
}

extension Future: CustomStringConvertible {
    /// Like Python's repr: `<Future finished returned Int>`.
    public var description: String {
        lock.withLock {
            switch phase {
            case .pending: "<Future pending>"
            case .running: "<Future running>"
            case .cancelled: "<Future cancelled>"
            case .succeeded: "<Future finished returned \(valueBox.map { "\(type(of: $0.pointee))" } ?? "\(Value.self)")>"
            case .failed: "<Future finished raised \(failure.map { "\(type(of: $0))" } ?? "Error")>"
            }
        }
    }
}

/// Futures are identities: equal only to themselves and hashed by identity, so they can key a
/// dictionary or fill a set (Python's `{executor.submit(f, x): x for x in xs}`).
extension Future: Hashable {
    public static func == (lhs: Future, rhs: Future) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
