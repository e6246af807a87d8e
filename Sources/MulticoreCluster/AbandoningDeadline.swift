import MulticoreThreading

/// Runs `body`, throwing `timeoutError()` if it has not finished within `limit`. Past the limit
/// the body is cancelled and left behind: unlike a task group, which waits for its children, a
/// body that ignores cancellation cannot hold the caller. The cluster tests bound their waits
/// with it; the cluster's statements are bounded by `withBoundedConnection`.
package func withAbandoningDeadline<T: Sendable>(_ limit: Duration, orThrow timeoutError: @escaping @Sendable () -> any Error,
                                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = FirstOutcome<T>()
    let work = Task<Void, Never> {
        do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
    }
    let timer = Task<Void, Never> {
        try? await Task.sleep(for: limit)
        race.finish(.failure(timeoutError()))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await race.value
}

/// The first of several racers' outcomes: each calls `finish`, the first call counts, and one
/// waiter awaits `value` (or is cancelled: `CancellationError`). An outcome that comes before
/// the waiter is kept for it.
package final class FirstOutcome<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<T, any Error>)
        case done(Result<T, any Error>)
        /// Its value was taken (or a second waiter came: refused).
        case taken
    }

    private let state = Locked(State.empty)

    package init() {}

    /// Settles the outcome unless one came first; returns whether this one counted.
    @discardableResult
    package func finish(_ outcome: Result<T, any Error>) -> Bool {
        let (counted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?) in
            switch state {
            case .empty:
                state = .done(outcome)
                return (true, nil)
            case .waiting(let continuation):
                state = .taken
                return (true, continuation)
            case .done, .taken:
                return (false, nil)
            }
        }
        waiter?.resume(with: outcome)
        return counted
    }

    /// The first outcome, once there is one (awaited once).
    package var value: T {
        get async throws {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let ready = state.withLock { state -> Result<T, any Error>? in
                        switch state {
                        case .empty:
                            state = .waiting(continuation)
                            return nil
                        case .done(let outcome):
                            state = .taken
                            return outcome
                        case .waiting, .taken:
                            return .failure(FirstOutcomeAwaitedTwice())
                        }
                    }
                    if let ready { continuation.resume(with: ready) }
                }
            } onCancel: {
                finish(.failure(CancellationError()))
            }
        }
    }
}

/// `FirstOutcome.value` awaited a second time (a bug of the caller).
package struct FirstOutcomeAwaitedTwice: Error, CustomStringConvertible {
    package var description: String { "a FirstOutcome's value was awaited twice" }
}
