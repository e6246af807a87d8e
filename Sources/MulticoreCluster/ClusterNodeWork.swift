import struct Foundation.UUID
import MulticoreThreading

/// What a node's loops share: free slots, the tasks running (each in a runner task, alone or in
/// a batch, so that it can be stopped), the outcomes not yet recorded, and their doorbells.
///
/// How many tasks the node holds adapts to how long they take: about what its workers run in
/// `holdWindow` (measured on the batches that ran), at least 2 per process and at most
/// `tasksPerProcess` per process. Tiny tasks come in large claims and large batches (a round
/// trip to the database and to a worker serves hundreds); slow ones are held a few at a time,
/// so that a node does not sit on tasks another node could run now.
final class ClusterNodeWork: Sendable {
    struct Pending: Sendable {
        let outcome: TaskOutcome
        let owner: UUID
    }

    private struct State {
        var running = 0
        /// Each task's runner (the tasks of a batch share one).
        var runners: [Int64: Task<Void, Never>] = [:]
        /// Tasks whose runner `stopRunners` cancelled for them (not for another of their batch).
        var stopped: Set<Int64> = []
        var outcomes: [Pending] = []
        /// Claimed and not yet recorded (running, or its outcome waiting for `record`).
        var held: Set<Int64> = []
        var stopping = false
        var serving = false
        /// `cancel` notifications so far, and LISTENs put in place (`noteWithdrawal`).
        var withdrawals = 0
        /// Seconds a task took on a worker, averaged over the last batches (nil: none ran yet).
        var secondsPerTask: Double?
    }

    let processes: Int
    /// The most tasks held per process.
    let tasksPerProcess: Int
    let slotFreed = Doorbell()
    let ready = Doorbell()
    let outcomesReady = Doorbell()
    /// Rung by a `cancel` notification: some running task may have been withdrawn.
    let withdrawn = Doorbell()

    /// A `cancel` notification came, or the LISTEN was put in place (a `cancel` sent before it
    /// was lost): counted (a claim in progress looks again once its runners are registered, see
    /// `withdrawals`) and the running tasks are checked.
    func noteWithdrawal() {
        state.withLock { $0.withdrawals += 1 }
        withdrawn.ring()
    }

    /// How many `cancel` notifications came (or LISTENs were put in place) so far.
    var withdrawals: Int { state.withLock { $0.withdrawals } }
    /// Rung when the last task held was recorded or let go (a stopping node waits for it).
    private let emptied = Doorbell()
    private let state = Locked(State())

    /// The work the node holds aims at what its workers run in this long.
    static let holdWindow = 0.25
    /// Tasks held per process before any was measured (the former fixed default).
    static let initialPerProcess = 16

    init(processes: Int, tasksPerProcess: Int) {
        self.processes = processes
        self.tasksPerProcess = tasksPerProcess
    }

    /// How many tasks the node holds now (see the type's comment).
    var capacity: Int { state.withLock { capacity($0) } }

    private func capacity(_ state: State) -> Int {
        let perProcess: Int
        if let seconds = state.secondsPerTask {
            perProcess = seconds > 0 ? Int(min(Self.holdWindow / seconds, Double(tasksPerProcess))) : tasksPerProcess
        } else {
            perProcess = Self.initialPerProcess
        }
        return processes * min(tasksPerProcess, max(2, perProcess))
    }

    /// Tasks per batch: two batches per process at the current capacity (one runs while the next
    /// waits, and the slots of the first are claimed again meanwhile), fewer so that `claimed`
    /// tasks spread over every process. 1 before any task was measured: a batch's outcomes come
    /// together when its last task ends, so before the node knows how long its tasks take, a quick
    /// task batched with slow ones would wait for them all (seen: the first output of a
    /// `results(of:)` loop came 218 s late, behind seven 30-s tasks of its batch).
    func batchSize(claimed: Int) -> Int {
        let capacity: Int? = state.withLock { state in state.secondsPerTask == nil ? nil : self.capacity(state) }
        guard let capacity else { return 1 }
        return max(1, min((capacity + 2 * processes - 1) / (2 * processes), (claimed + processes - 1) / processes))
    }

    /// A batch of `tasks` tasks ran in `seconds` on one worker.
    func measured(tasks: Int, seconds: Double) {
        guard tasks > 0 else { return }
        let sample = seconds / Double(tasks)
        state.withLock { state in state.secondsPerTask = state.secondsPerTask.map { 0.7 * $0 + 0.3 * sample } ?? sample }
    }

    var freeSlots: Int { state.withLock { capacity($0) - $0.running } }
    var running: Int { state.withLock { $0.running } }
    var runningIDs: [Int64] { state.withLock { Array($0.runners.keys) } }
    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Asks the node to stop; returns whether it was serving (else there is nothing to finish).
    func stop() -> Bool {
        let serving = state.withLock { state in
            state.stopping = true
            return state.serving
        }
        ready.ring()
        slotFreed.ring()
        return serving
    }

    /// Marks the node serving; false when it was asked to stop before.
    func startServing() -> Bool {
        state.withLock { state in
            state.serving = true
            return !state.stopping
        }
    }

    func started(_ ids: [Int64]) {
        state.withLock {
            $0.running += ids.count
            $0.held.formUnion(ids)
        }
    }

    /// Runs `body` for the tasks `ids` (one, or a batch) in a runner task of their own, which
    /// `stopRunners` cancels.
    func launch(_ ids: [Int64], _ body: @escaping @Sendable () async -> Void) {
        // Registered under the lock, so the runner's end (which takes the lock) comes after.
        state.withLock { state in
            let runner = Task { await body() }
            for id in ids { state.runners[id] = runner }
        }
    }

    /// A task whose runner was cancelled before its outcome came: abandoned (handed back or
    /// dropped) when it was stopped for itself or the node is stopping; else it was stopped with
    /// a task of its batch, and runs again alone in a runner `launch`ed here. Returns whether it
    /// was abandoned.
    @discardableResult
    func stoppedOrRelaunched(_ id: Int64, _ body: @escaping @Sendable () async -> Void) -> Bool {
        let (abandoned, empty) = state.withLock { state -> (Bool, Bool) in
            guard state.stopping || state.stopped.contains(id) else {
                state.runners[id] = Task { await body() }
                return (false, false)
            }
            state.running -= 1
            state.runners[id] = nil
            state.stopped.remove(id)
            state.held.remove(id)
            return (true, state.held.isEmpty)
        }
        if abandoned { slotFreed.ring() }
        if empty { emptied.ring() }
        return abandoned
    }

    /// Stops the runners of `ids` (nil: every one): their workers are killed; the tasks of
    /// `ids` end as abandoned, the others of their batches run again alone. Returns how many
    /// tasks were stopped.
    @discardableResult
    func stopRunners(_ ids: [Int64]? = nil) -> Int {
        let runners = state.withLock { state -> [Task<Void, Never>] in
            guard let ids else { return Array(state.runners.values) }
            let found = ids.filter { state.runners[$0] != nil }
            state.stopped.formUnion(found)
            return found.compactMap { state.runners[$0] }
        }
        for runner in runners { runner.cancel() }
        return runners.count
    }

    var held: [Int64] { state.withLock { Array($0.held) } }

    /// Outcomes recorded (or refused): the queue no longer needs them held.
    func released(_ ids: [Int64]) {
        let empty = state.withLock { state in
            state.held.subtract(ids)
            return state.held.isEmpty
        }
        if empty { emptied.ring() }
    }

    func finished(_ outcomes: [TaskOutcome], owner: UUID) {
        guard !outcomes.isEmpty else { return }
        state.withLock { state in
            state.running -= outcomes.count
            for outcome in outcomes {
                state.runners[outcome.id] = nil
                state.stopped.remove(outcome.id)
                state.outcomes.append(Pending(outcome: outcome, owner: owner))
            }
        }
        outcomesReady.ring()
        slotFreed.ring()
    }

    /// Returns once nothing runs, or after `limit` (a stopping node: nothing new is claimed).
    func waitUntilIdle(upTo limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while running > 0, ContinuousClock.now < deadline {
            await slotFreed.wait(upTo: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
    }

    /// Returns once every outcome is recorded, or after `limit`.
    func waitUntilRecorded(upTo limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while state.withLock({ !$0.held.isEmpty }), ContinuousClock.now < deadline {
            await emptied.wait(upTo: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
    }

    func takeOutcomes() -> [Pending] {
        state.withLock { state in
            defer { state.outcomes.removeAll() }
            return state.outcomes
        }
    }

    func requeue(_ outcomes: [Pending]) { state.withLock { $0.outcomes.insert(contentsOf: outcomes, at: 0) } }
}
