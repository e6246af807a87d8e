import CMulticore

/// Sleeps until the absolute CLOCK_MONOTONIC time `deadlineNanoseconds`, through signals.
package func sleepUntil(monotonicNanoseconds deadline: Int64) {
    _ = try? SystemCall.sleep.perform { Int(mc_sleep_until_ns(deadline)) }
}

/// Lets another runnable thread have this CPU now (sched_yield(2)); returns at once when none
/// waits for it. What a busy wait calls between its looks, so that it never holds a CPU a
/// thread it waits for could use.
package func yieldProcessor() {
    _ = sched_yield()
}
