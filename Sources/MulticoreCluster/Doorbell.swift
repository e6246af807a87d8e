import MulticoreThreading

/// Wakes one waiting task: a ring while nobody waits is kept for the next wait (rings do not
/// count). What the cluster's loops sleep on between polls: a notification, a freed slot or a
/// new outcome rings it; a poll interval bounds every wait.
///
/// A ring resumes the waiter itself, at once: the wait's time limit is a task of its own that
/// the ring cancels afterwards, not a sibling the wait must see end (a task group's waiter
/// returned only once the cancelled sleep had woken too: a hop more on every cluster round trip).
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        /// The current wait's time limit, and which wait it is.
        var limit: Task<Void, Never>?
        var wait: UInt64 = 0
    }

    private let state = Locked(State())

    func ring() {
        let (waiter, limit) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            guard let waiter = state.waiter else {
                state.rung = true
                return (nil, nil)
            }
            defer { state.waiter = nil; state.limit = nil }
            return (waiter, state.limit)
        }
        waiter?.resume()
        limit?.cancel()
    }

    /// Returns at the next ring (at once if it rang since the last wait), after `limit`, or when
    /// the calling task is cancelled. One waiter at a time.
    func wait(upTo limit: Duration) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wait = state.withLock { state -> UInt64? in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return nil
                    }
                    state.wait &+= 1
                    state.waiter = continuation
                    return state.wait
                }
                guard let wait else { return continuation.resume() }
                let timer = Task { [weak self] in
                    guard (try? await Task.sleep(for: limit)) != nil else { return } // cancelled: the ring came first
                    self?.expire(wait)
                }
                // Kept for the ring to cancel, unless the ring (or the limit) came already.
                let over = state.withLock { state -> Bool in
                    guard state.waiter != nil, state.wait == wait else { return true }
                    state.limit = timer
                    return false
                }
                if over { timer.cancel() }
            }
        } onCancel: {
            ring()
        }
    }

    /// Whether a task waits now (for tests).
    var isWaitingForTests: Bool { state.withLock { $0.waiter != nil } }

    /// The time limit of wait number `wait` passed: it returns, unless a ring ended it first.
    private func expire(_ wait: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.wait == wait, let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.limit = nil
            return waiter
        }
        waiter?.resume()
    }
}
