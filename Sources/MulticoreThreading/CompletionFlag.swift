/// A flag set once, which any number of threads can wait on with a deadline. What `join` waits
/// on: cheaper than an `Event`, because setting it enters the kernel only when someone sleeps.
///
/// Word states: 0 unset, 1 unset with sleepers, 2 set.
struct CompletionFlag: ~Copyable {
    private let word = FutexWord(0)

    var isSet: Bool { word.loadAcquiring() == 2 }

    /// Sets the flag and wakes every sleeper. Idempotent.
    func set() {
        if word.exchangeAcquiringAndReleasing(2) == 1 { word.wake(Int32.max) }
    }

    /// Waits until the flag is set or `deadline` passes; returns whether it is set.
    func wait(until deadline: Deadline) -> Bool {
        while true {
            let state = word.loadAcquiring()
            if state == 2 { return true }
            if state == 0, !word.compareExchangeAcquiring(expected: 0, desired: 1) { continue }
            if !word.wait(expected: 1, deadline: deadline) { return word.loadAcquiring() == 2 }
        }
    }
}
