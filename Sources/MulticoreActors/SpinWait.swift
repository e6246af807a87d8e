import MulticoreSystem
import MulticoreThreading

/// A short busy wait for the next message before a thread sleeps for it: each end of a link
/// polls its input for up to `limit` after it has sent or handled one, and only then sleeps in
/// the kernel.
///
/// Why: on these virtual machines, waking a thread whose CPU went idle costs tens of
/// microseconds (measured with two C processes passing a word through pipes, idle machine: 28
/// to 61 us per round trip when both sleep between messages, 4 to 9 us when both poll for up to
/// 20 to 50 us first). A call and its answer follow each other within that time when calls come
/// in a row, so neither end sleeps and neither is woken.
///
/// Between its looks it yields the CPU (sched_yield): on a busy machine the thread that will
/// send the message may be waiting for this CPU, and gets it; on an idle one the call returns
/// at once. Its price is the CPU it burns: `limit` per message at most, and it backs off a little: a
/// spin that ran out without a message skips the spin of the next wait, two in a row the next
/// three, and one that found a message resets that. (Not more: when one end sleeps, the other's
/// next spin misses too, as the sleeper must be woken; a long back-off would keep both asleep
/// long after calls follow each other again.) With one CPU to run on it never spins (the peer
/// could not run meanwhile).
struct SpinWait {
    /// How long one spin lasts at most, in nanoseconds; 0: never.
    let limit: Int64
    private var misses = 0
    private var skips = 0

    /// Spins for up to `limit` (`.zero`: never; nor with one CPU to run on).
    init(limit: Duration) {
        self.limit = cpuCount() > 1 ? max(0, limit.nanoseconds) : 0
    }

    /// Polls `ready` until it says true (true) or the spin's time, or `deadline`, passes, or the
    /// spin is skipped (false). Each result counts for the back-off.
    mutating func spin(until deadline: Deadline = .never, _ ready: () -> Bool) -> Bool {
        guard limit > 0 else { return false }
        if skips > 0 {
            skips -= 1
            return false
        }
        var end = Deadline.now.nanoseconds + limit
        if !deadline.isNever { end = min(end, deadline.nanoseconds) }
        repeat {
            if ready() {
                misses = 0
                return true
            }
            // On a busy machine the thread that will send the message may be waiting for this
            // CPU: it gets it. On an idle one this returns at once.
            yieldProcessor()
        } while Deadline.now.nanoseconds < end
        misses = min(misses + 1, 2)
        skips = (1 << misses) - 1
        return false
    }
}
