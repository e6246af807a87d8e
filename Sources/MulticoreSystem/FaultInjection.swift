import CMulticore
import Synchronization

/// What the fault injector makes a wrapped call do instead of (or before) its work.
package enum Fault: Int32, Sendable {
    /// Fails with EINTR (a signal handler ran): the call is made again.
    case interrupted = 1
    /// Fails with EAGAIN, for calls made not to block; others ignore it.
    case wouldBlock = 2
    /// Moves at most half the bytes asked for (at least one): reads and writes come up short.
    case short = 3
}

/// A test hook into the system layer: makes every n-th call of a kind fail, or come up short.
///
/// For tests only (it is `package`, not public). Its state is a few words in C touched with
/// atomic operations, so a wrapped call pays one relaxed load while nothing is planned, and a
/// forked child (before exec) can consult it without a lock or an allocation. The plan holds
/// process-wide: every fault it makes is one the system could make, so the code under test must
/// give the same results with it as without.
package enum FaultInjection {
    /// Makes every `every`-th call of `call` do `fault` (`every` <= 0: none).
    package static func plan(_ call: SystemCall, every: Int, _ fault: Fault) {
        mc_fault_plan(call.rawValue, Int32(clamping: every), fault.rawValue)
        mc_fault_arm(1)
    }

    /// Plans nothing any more: every wrapped call runs as it is.
    package static func disarm() {
        mc_fault_arm(0)
        for call in SystemCall.allCases { mc_fault_plan(call.rawValue, 0, 0) }
    }

    /// How many calls of `call` the injector counted since its plan was made (the n-th of them
    /// were given their fault): what a test checks to know its faults were met.
    package static func callsCounted(_ call: SystemCall) -> Int { Int(mc_fault_calls(call.rawValue)) }

    /// Runs `body` with `faults` planned, and none after it; one such body at a time in the
    /// process (the plan is process-wide: two tests would reset each other's counts).
    package static func with<R>(_ faults: [(SystemCall, every: Int, Fault)], _ body: () throws -> R) throws -> R {
        try exclusive.withLock { _ in
            for (call, every, fault) in faults { plan(call, every: every, fault) }
            defer { disarm() }
            return try body()
        }
    }

    private static let exclusive = Mutex(())

    /// The fault for this call of `call`, if one is due (counting the call).
    static func draw(_ call: SystemCall) -> Fault? { Fault(rawValue: mc_fault_draw(call.rawValue)) }
}
