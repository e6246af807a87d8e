import CMulticore
import SystemPackage

/// The futex syscall, for words private to this process or in memory shared between processes.
package enum Futex {
    /// Sleeps while `word` holds `expected`, until woken or the absolute CLOCK_MONOTONIC
    /// `deadlineNanoseconds` (negative: none). False only when the deadline passed: a wake-up,
    /// EINTR and EAGAIN (the word had changed) all return true, for the caller to look at its
    /// word again; so EINTR is not retried here (the one exception to the policy in `SystemCall`).
    /// - Parameter shared: the word is in shared memory (no FUTEX_PRIVATE_FLAG).
    @inline(__always)
    package static func wait(_ word: UnsafeMutablePointer<UInt32>, expected: UInt32, deadlineNanoseconds: Int64,
                             shared: Bool = false) -> Bool {
        let result = shared ? mc_shared_futex_wait(word, expected, deadlineNanoseconds)
                            : mc_futex_wait(word, expected, deadlineNanoseconds)
        return result != -Errno.timedOut.rawValue
    }

    /// Wakes up to `count` sleepers on `word`.
    @inline(__always)
    package static func wake(_ word: UnsafeMutablePointer<UInt32>, count: Int32, shared: Bool = false) {
        _ = shared ? mc_shared_futex_wake(word, count) : mc_futex_wake(word, count)
    }
}
