import MulticoreThreading
import Synchronization

/// A meeting point for a fixed number of threads in any processes. Corresponds to Python's
/// `multiprocessing.Barrier`, with the same states as the threading `Barrier` (filling,
/// draining, resetting, broken), kept in shared memory under a `SharedCondition`.
///
/// The optional action belongs to a handle: it runs in the process whose thread arrives last,
/// if that process's handle has one (a handle received by a child has none).
public final class SharedBarrier: Codable, Sendable {
    private enum State: UInt32 { case filling, draining, resetting, broken }

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

    // Fields below are read and written only with the condition's lock held.
    private var state: State {
        get { State(rawValue: stateWord.pointee.load(ordering: .relaxed)) ?? .broken }
        set { stateWord.pointee.store(newValue.rawValue, ordering: .relaxed) }
    }
    private var count: Int {
        get { Int(countWord.pointee.load(ordering: .relaxed)) }
        set { countWord.pointee.store(UInt32(newValue), ordering: .relaxed) }
    }

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
        return try condition.withLock { () throws -> Int in
            while state == .draining || state == .resetting {
                try condition.wait()
            }
            if state == .broken { throw BrokenBarrierError() }
            let index = count
            count += 1
            defer {
                count -= 1
                if count == 0, state == .draining || state == .resetting {
                    state = .filling
                    try? condition.notifyAll()
                }
            }
            if index + 1 == parties {
                do {
                    try action?()
                    state = .draining
                    try condition.notifyAll()
                } catch {
                    state = .broken
                    try? condition.notifyAll()
                    throw error
                }
            } else {
                while state == .filling {
                    if deadline.hasPassed {
                        state = .broken
                        try? condition.notifyAll()
                        throw BrokenBarrierError()
                    }
                    try condition.wait(timeout: deadline.remaining)
                }
                if state == .broken || state == .resetting { throw BrokenBarrierError() }
            }
            return index
        }
    }

    /// Returns the barrier to its initial state; waiters get `BrokenBarrierError`.
    /// Python: `Barrier.reset()`.
    @available(*, noasync, message: "blocks the thread")
    public func reset() throws {
        try condition.withLock {
            if count > 0 {
                if state == .filling || state == .broken { state = .resetting }
            } else {
                state = .filling
            }
            try condition.notifyAll()
        }
    }

    /// Breaks the barrier until `reset()`. Python: `Barrier.abort()`.
    @available(*, noasync, message: "blocks the thread")
    public func abort() throws {
        try condition.withLock {
            state = .broken
            try condition.notifyAll()
        }
    }

    /// The number of threads waiting in the current cycle. Python: `Barrier.n_waiting`.
    public var waitingCount: Int { (try? condition.withLock { state == .filling ? count : 0 }) ?? 0 }

    /// Whether the barrier is broken. Python: `Barrier.broken`.
    public var isBroken: Bool { (try? condition.withLock { state == .broken }) ?? true }
}
