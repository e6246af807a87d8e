import CMulticore
import SystemPackage

/// An epoll(7) set, wrapped once: descriptors that threads wait on for input, each reported
/// with a tag. What poll(2) cannot do: with `exclusive`, several sets can watch one descriptor
/// and an input wakes only one waiting thread (see `add`).
///
/// Not a class: its owner decides when it is closed (never while a thread waits on it).
package struct EventPoll: Sendable {
    package let fileDescriptor: Int32

    /// A new, empty set (close-on-exec).
    package init() throws(Errno) {
        fileDescriptor = Int32(try SystemCall.files.perform { Int(mc_epoll_create()) })
    }

    /// How a descriptor is watched.
    package enum Mode: Int32, Sendable {
        /// Reported while input is there (level-triggered).
        case level = 0
        /// Level-triggered, and EPOLLEXCLUSIVE: when several sets watch the descriptor so, an
        /// input wakes the first of them added that has a thread waiting, and only it.
        case exclusive = 1
        /// Reported once, then disarmed until `arm` (EPOLLONESHOT).
        case oneShot = 2
    }

    /// Watches `fd` for input as bit `tag` (0 to 63) of what `wait` returns.
    package func add(_ fd: Int32, tag: Int, mode: Mode = .level) throws(Errno) {
        precondition((0..<64).contains(tag), "an EventPoll tag is a bit number, 0 to 63")
        _ = try SystemCall.files.perform { Int(mc_epoll_add(fileDescriptor, fd, mode.rawValue, UInt64(tag))) }
    }

    /// Stops watching `fd` (still open): nothing is reported for it any more, even while a
    /// forked child holds a copy of it.
    package func remove(_ fd: Int32) {
        _ = try? SystemCall.files.perform { Int(mc_epoll_remove(fileDescriptor, fd)) }
    }

    /// Arms a `.oneShot` descriptor (reported at once if input waits), or disarms it.
    package func arm(_ fd: Int32, tag: Int, _ armed: Bool) throws(Errno) {
        _ = try SystemCall.files.perform { Int(mc_epoll_arm(fileDescriptor, fd, armed ? 1 : 0, UInt64(tag))) }
    }

    /// Waits until a watched descriptor has input, or `nanoseconds` pass (nil: no limit).
    /// Returns the tags of the ready ones as bits (`1 << tag`), 0 when the time passed. EINTR
    /// makes it wait again for what is left of the time.
    package func wait(nanoseconds: Int64?) throws(Errno) -> UInt64 {
        let deadline = nanoseconds.map { mc_monotonic_ns() + max(0, $0) }
        var tags: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        let fd = fileDescriptor
        return try withUnsafeMutableBytes(of: &tags) { raw throws(Errno) -> UInt64 in
            let buffer = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            let count = try SystemCall.poll.perform {
                let left = deadline.map { max(0, $0 - mc_monotonic_ns()) } ?? -1
                return Int(mc_epoll_wait(fd, buffer, 8, left))
            }
            var ready: UInt64 = 0
            for index in 0..<count { ready |= 1 << (buffer[index] & 63) }
            return ready
        }
    }

    /// Closes the set; no thread may be waiting on it.
    package func close() {
        closeDescriptor(fileDescriptor)
    }
}
