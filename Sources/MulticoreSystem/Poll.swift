import CMulticore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// poll(2), wrapped once: EINTR makes it wait again for what is left of its timeout.
package enum Poll {
    /// Waits until one of `entries` is ready or `milliseconds` pass (-1: no limit); returns how
    /// many are ready, 0 when the time passed.
    package static func wait(_ entries: UnsafeMutableBufferPointer<pollfd>, milliseconds: Int32) throws(Errno) -> Int {
        let deadline = milliseconds > 0 ? mc_monotonic_ns() + Int64(milliseconds) * 1_000_000 : 0
        var again = false
        return try SystemCall.poll.perform {
            var timeout = milliseconds
            // Made again after EINTR: with what is left of the time.
            if again, milliseconds > 0 { timeout = Int32(max(0, (deadline - mc_monotonic_ns() + 999_999) / 1_000_000)) }
            again = true
            return negatedErrno(Glibc.poll(entries.baseAddress, nfds_t(entries.count), timeout))
        }
    }

    /// `wait` for an array of entries.
    package static func wait(_ entries: inout [pollfd], milliseconds: Int32) throws(Errno) -> Int {
        try entries.withUnsafeMutableBufferPointer { buffer throws(Errno) in try wait(buffer, milliseconds: milliseconds) }
    }

    /// `wait` for one descriptor's `events` (POLLIN by default): whether it is ready.
    package static func isReady(_ fd: Int32, events: Int16 = Int16(POLLIN), milliseconds: Int32) throws(Errno) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        return try withUnsafeMutablePointer(to: &entry) { pointer throws(Errno) in
            try wait(UnsafeMutableBufferPointer(start: pointer, count: 1), milliseconds: milliseconds) > 0
        }
    }
}
