import MulticoreThreading
import Synchronization

/// A meeting point for a fixed number of threads in any processes. Corresponds to Python's
/// `multiprocessing.Barrier`, with the threading `Barrier`'s state machine (`BarrierPhase`),
/// kept in shared memory under a `SharedCondition`.
///
/// The optional action belongs to a handle: it runs in the process whose thread arrives last,
/// if that process's handle has one (a handle received by a child has none).
public final class SharedBarrier: Codable, Sendable {
    let region: SharedRegion
    private let condition: SharedCondition
    private let action: (@Sendable () throws -> Void)?
    private var stateWord: UnsafeMutablePointer<Atomic<UInt32>> { region.word(0) }
    private var countWord: UnsafeMutablePointer<Atomic<UInt32>> { region.word(4) }
    private var partiesWord: UnsafeMutablePointer<Atomic<UInt32>> { region.word(8) }
    /// The default timeout in nanoseconds, or -1 for none.
    private var timeoutWord: UnsafeMutablePointer<Atomic<UInt64>> { region.word64(16) }
    static let fieldsSize = 24

    /// A barrier for `parties` threads. Python: `multiprocessing.Barrier(parties, action=None, timeout=None)`.
    /// - Throws: `ThreadingError.invalidParties`, `.negativeTimeout`; `SharedMemoryError`.
    public init(parties: Int, timeout: Duration? = nil, action: (@Sendable () throws -> Void)? = nil) throws {
        guard parties >= 1, parties < Int(UInt32.max) else { throw ThreadingError.invalidParties }
        try checkTimeout(timeout)
        condition = try SharedCondition(lock: SharedLock())
        region = try SharedRegion(create: .barrier, size: Self.fieldsSize)
        self.action = action
        partiesWord.pointee.store(UInt32(parties), ordering: .relaxed)
        timeoutWord.pointee.store(UInt64(bitPattern: timeout?.nanoseconds ?? -1), ordering: .releasing)
    }

    private enum CodingKeys: String, CodingKey { case name, condition }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        region = try SharedRegion(attach: container.decode(String.self, forKey: .name), kind: .barrier, size: Self.fieldsSize)
        condition = try container.decode(SharedCondition.self, forKey: .condition)
        action = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(region.name, forKey: .name)
        try container.encode(condition, forKey: .condition)
    }

    /// The number of parties. Python: `Barrier.parties`.
    public var parties: Int { Int(partiesWord.pointee.load(ordering: .relaxed)) }

    /// The phase and count, in the shared region; used with the condition's lock held.
    private struct Cycle: BarrierStorage {
        let barrier: SharedBarrier

        var phase: BarrierPhase {
            get { BarrierPhase(rawValue: barrier.stateWord.pointee.load(ordering: .relaxed)) ?? .broken }
            nonmutating set { barrier.stateWord.pointee.store(newValue.rawValue, ordering: .relaxed) }
        }
        var count: Int {
            get { Int(barrier.countWord.pointee.load(ordering: .relaxed)) }
            nonmutating set { barrier.countWord.pointee.store(UInt32(newValue), ordering: .relaxed) }
        }
        var parties: Int { barrier.parties }
        func waitForChange(until deadline: Deadline) throws { _ = try barrier.condition.wait(timeout: deadline.remaining) }
        func notifyAll() throws { try barrier.condition.notifyAll() }
    }

    private var cycle: Cycle { Cycle(barrier: self) }

    /// Waits until all parties have arrived; returns this thread's arrival index (0 to
    /// parties - 1). Python: `Barrier.wait(timeout=None)`.
    /// - Throws: `BrokenBarrierError` (broken, reset, timed out, or the action threw; the
    ///   action's own error is thrown in the thread that ran it); `OwnerDiedError` when a
    ///   process died inside the barrier's lock; `ThreadingError.negativeTimeout`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Int {
        try checkTimeout(timeout)
        let stored = Int64(bitPattern: timeoutWord.pointee.load(ordering: .relaxed))
        let deadline = Deadline.after(timeout ?? (stored < 0 ? nil : .nanoseconds(stored)))
        return try condition.withLock { try cycle.passThrough(deadline: deadline, action: action) }
    }

    /// Returns the barrier to its initial state; waiters get `BrokenBarrierError`.
    /// Python: `Barrier.reset()`.
    @available(*, noasync, message: "blocks the thread")
    public func reset() throws {
        try condition.withLock { try cycle.resetCycle() }
    }

    /// Breaks the barrier until `reset()`. Python: `Barrier.abort()`.
    @available(*, noasync, message: "blocks the thread")
    public func abort() throws {
        try condition.withLock { cycle.breakBarrier() }
    }

    /// The number of threads waiting in the current cycle. Python: `Barrier.n_waiting`.
    public var waitingCount: Int { (try? condition.withLock { cycle.waitingCount }) ?? 0 }

    /// Whether the barrier is broken. Python: `Barrier.broken`.
    public var isBroken: Bool { (try? condition.withLock { cycle.phase == .broken }) ?? true }
}
