import MulticoreThreading

/// The callers a managed object keeps waiting (a queue's getters and putters, a lock's
/// acquirers, an event's waiters), first come, first served. A wait suspends the call, never a
/// thread: the host serves its other calls meanwhile. It ends one of three ways: the object
/// wakes it with what it waited for; its timeout passes; or its task is cancelled (the caller
/// stopped waiting, or the program went away). The last two give nil, and the waiter is gone
/// from the list before the object can hand it anything.
final class WaitList<Carried: Sendable, Granted: Sendable>: @unchecked Sendable { // `next` and `waiters` are guarded by `lock`
    private struct Waiter {
        let number: UInt64
        let carried: Carried
        let continuation: CheckedContinuation<Granted?, Never>
        var timer: Task<Void, Never>?
    }

    private let lock = Lock()
    private var next: UInt64 = 0
    private var waiters: [Waiter] = []

    /// How many wait.
    var count: Int { lock.briefly { waiters.count } }

    /// Waits, holding `carried` for the object, until woken (what it is given), or until
    /// `timeout` has passed or the task is cancelled (nil). A nil timeout waits until woken or cancelled.
    func wait(carrying carried: Carried, timeout: Duration?) async -> Granted? {
        let number = lock.briefly {
            next += 1
            return next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Granted?, Never>) in
                let admitted = lock.briefly {
                    // A cancellation before this point found no waiter to drop: it is seen here.
                    guard !Task.isCancelled else { return false }
                    waiters.append(Waiter(number: number, carried: carried, continuation: continuation))
                    return true
                }
                guard admitted else { return continuation.resume(returning: nil) }
                guard let timeout else { return }
                let timer = Task { [weak self] in
                    do {
                        try await Task.sleep(for: timeout)
                    } catch {
                        return // woken first: the timer was cancelled
                    }
                    self?.drop(number)
                }
                let waiting = lock.briefly { () -> Bool in
                    guard let index = waiters.firstIndex(where: { $0.number == number }) else { return false }
                    waiters[index].timer = timer
                    return true
                }
                if !waiting { timer.cancel() }
            }
        } onCancel: {
            drop(number)
        }
    }

    /// Wakes the first waiter with `granted`; returns what it carried, or nil when none waits.
    @discardableResult
    func wakeFirst(with granted: Granted) -> Carried? {
        guard let waiter = lock.briefly({ waiters.isEmpty ? nil : waiters.removeFirst() }) else { return nil }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: granted)
        return waiter.carried
    }

    /// Wakes every waiter with `granted`.
    func wakeAll(with granted: Granted) {
        let all = lock.briefly {
            defer { waiters = [] }
            return waiters
        }
        for waiter in all {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: granted)
        }
    }

    /// Ends a wait with nil (its timeout passed or its task was cancelled), if it still waits.
    private func drop(_ number: UInt64) {
        let waiter = lock.briefly { () -> Waiter? in
            guard let index = waiters.firstIndex(where: { $0.number == number }) else { return nil }
            return waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(returning: nil)
    }
}
