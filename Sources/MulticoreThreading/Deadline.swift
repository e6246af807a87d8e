import CMulticore
import MulticoreSystem

/// A point on CLOCK_MONOTONIC, in nanoseconds: what every timeout in Multicore becomes, so that
/// a wait recomputes what is left after each wake-up and a wall-clock change cannot move it.
@usableFromInline
package struct Deadline: Sendable, Comparable {
    @usableFromInline package let nanoseconds: Int64

    /// No deadline: waits forever. Passed to the futex as a negative value.
    @inlinable package static var never: Deadline { Deadline(nanoseconds: -1) }

    @inlinable package init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    @inlinable package static var now: Deadline { Deadline(nanoseconds: mc_monotonic_ns()) }

    /// `nil` means no deadline. Saturates rather than overflowing for huge timeouts.
    @inlinable package static func after(_ timeout: Duration?) -> Deadline {
        guard let timeout else { return .never }
        let (sum, overflow) = mc_monotonic_ns().addingReportingOverflow(timeout.nanoseconds)
        return Deadline(nanoseconds: overflow ? Int64.max : sum)
    }

    /// `after(timeout)`, or `tooLarge` thrown for a timeout above `Threading.timeoutMax`.
    @inlinable package static func after<E: Error>(_ timeout: Duration?, orThrow tooLarge: @autoclosure () -> E) throws(E) -> Deadline {
        if let timeout, timeout.isBeyondTimeoutMax { throw tooLarge() }
        return after(timeout)
    }

    @inlinable package var isNever: Bool { nanoseconds < 0 }
    @inlinable package var hasPassed: Bool { !isNever && mc_monotonic_ns() >= nanoseconds }

    /// What is left, or nil for no deadline; never negative.
    @inlinable package var remaining: Duration? {
        if isNever { return nil }
        return .nanoseconds(max(0, nanoseconds - mc_monotonic_ns()))
    }

    /// What is left as poll(2)'s timeout: whole milliseconds, rounded up; -1 for no deadline.
    @inlinable package var pollMilliseconds: Int32 {
        guard let remaining else { return -1 }
        return Int32(clamping: (remaining.nanoseconds + 999_999) / 1_000_000)
    }

    @usableFromInline package static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        // `never` sorts after every real deadline.
        if lhs.isNever { return false }
        if rhs.isNever { return true }
        return lhs.nanoseconds < rhs.nanoseconds
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    @inlinable package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? Int64.max : sum
    }
}

/// Python's timeout argument rules for `acquire(blocking:timeout:)`: no timeout with a
/// non-blocking call, no negative timeout, none above `Threading.timeoutMax`.
package func checkTimeout(_ timeout: Duration?, blocking: Bool = true) throws(ThreadingError) {
    guard let timeout else { return }
    if !blocking { throw .timeoutOnNonBlockingCall }
    if timeout < .zero { throw .negativeTimeout }
    if timeout.isBeyondTimeoutMax { throw .timeoutTooLarge }
}

/// Python's timeout rules for a queue's `put` and `get`: no negative timeout, none above
/// `Threading.timeoutMax` (a timeout given to a non-blocking call is ignored, as Python does).
@usableFromInline package func checkQueueTimeout(_ timeout: Duration?, blocking: Bool = true) throws(QueueError) {
    guard blocking, let timeout else { return }
    if timeout < .zero { throw .negativeTimeout }
    if timeout.isBeyondTimeoutMax { throw .timeoutTooLarge }
}

extension Duration {
    /// Longer than `Threading.timeoutMax`: refused by every call that takes a timeout, as
    /// Python refuses it (`OverflowError`), rather than read as "no limit".
    @inlinable package var isBeyondTimeoutMax: Bool { self > Threading.timeoutMax }
}

/// The message of every `timeoutTooLarge` error.
package let timeoutTooLargeMessage = "timeout value is too large (the limit is Threading.timeoutMax, about 292 years)"

/// Sleeps the calling thread for `duration` on the monotonic clock. Corresponds to Python's
/// `time.sleep`.
@available(*, noasync, message: "blocks the thread; use Task.sleep in async code")
public func sleep(for duration: Duration) {
    guard duration > .zero else { return }
    let (end, overflow) = mc_monotonic_ns().addingReportingOverflow(duration.nanoseconds)
    sleepUntil(monotonicNanoseconds: overflow ? .max : end)
}
