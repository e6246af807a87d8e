import CMulticore

/// Sleeps until the absolute CLOCK_MONOTONIC time `deadlineNanoseconds`, through signals.
package func sleepUntil(monotonicNanoseconds deadline: Int64) {
    _ = try? SystemCall.sleep.perform { Int(mc_sleep_until_ns(deadline)) }
}
