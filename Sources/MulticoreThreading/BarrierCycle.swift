/// The barrier's state machine, Python's `threading.Barrier` algorithm written once for both
/// storages: `Barrier` (threads, in memory) and `SharedBarrier` (processes, in shared memory).
///
/// States, as in Python (where they are the integers 0, 1, -1, -2):
/// - `filling`: threads arrive; the last one runs the action and switches to `draining`.
/// - `draining`: the released threads leave; the last to leave switches back to `filling`.
///   New arrivals wait until then, so cycles never mix.
/// - `resetting`: `reset()` was called with threads inside; they leave with `BrokenBarrierError`
///   and the last to leave switches to `filling`.
/// - `broken`: a wait timed out, the action threw, or `abort()` was called; every wait throws
///   `BrokenBarrierError` until `reset()`.
package enum BarrierPhase: UInt32, Sendable {
    case filling, draining, resetting, broken
}

/// Where a barrier keeps its phase and count, and the condition it waits on. Every member is
/// used with the condition's lock held.
package protocol BarrierStorage {
    var phase: BarrierPhase { get nonmutating set }
    /// Threads inside the barrier in this cycle.
    var count: Int { get nonmutating set }
    var parties: Int { get }
    /// Waits on the condition until notified or `deadline` passes (the lock is released meanwhile).
    func waitForChange(until deadline: Deadline) throws
    /// Wakes every waiter.
    func notifyAll() throws
}

extension BarrierStorage {
    /// `Barrier.wait`, with the lock held: returns this thread's arrival index.
    package func passThrough(deadline: Deadline, action: (() throws -> Void)?) throws -> Int {
        // Blocks while the previous cycle drains or a reset completes.
        while phase == .draining || phase == .resetting {
            try waitForChange(until: .never)
        }
        if phase == .broken { throw BrokenBarrierError() }
        let index = count
        count += 1
        defer {
            count -= 1
            // The last thread to leave a draining or resetting barrier opens it for the next cycle.
            if count == 0, phase == .draining || phase == .resetting {
                phase = .filling
                try? notifyAll()
            }
        }
        if index + 1 == parties {
            // The last arrival: run the action, then release everyone.
            do {
                try action?()
                phase = .draining
                try notifyAll()
            } catch {
                breakBarrier()
                throw error
            }
        } else {
            while phase == .filling {
                if deadline.hasPassed {
                    breakBarrier()
                    throw BrokenBarrierError()
                }
                try waitForChange(until: deadline)
            }
            if phase == .broken || phase == .resetting { throw BrokenBarrierError() }
        }
        return index
    }

    /// `Barrier.reset`, with the lock held.
    package func resetCycle() throws {
        if count > 0 {
            if phase == .filling || phase == .broken { phase = .resetting }
        } else {
            phase = .filling
        }
        try notifyAll()
    }

    /// `Barrier.abort`, with the lock held.
    package func breakBarrier() {
        phase = .broken
        try? notifyAll()
    }

    /// `Barrier.n_waiting`, with the lock held.
    package var waitingCount: Int { phase == .filling ? count : 0 }
}
