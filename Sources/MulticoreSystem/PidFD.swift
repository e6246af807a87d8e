import CMulticore
import SystemPackage

/// Watching and reaping child processes: pidfds and waitpid.
package enum ChildWatch {
    /// pidfd_open(pid): a descriptor that becomes readable when the process ends.
    /// - Throws: ENOSYS on kernels without it, ESRCH for no such process, EMFILE.
    package static func openPidFD(_ pid: Int32) throws(Errno) -> Int32 {
        Int32(try SystemCall.wait.perform { Int(mc_pidfd_open(pid)) })
    }

    /// How a child ended.
    package struct Status: Sendable, Equatable {
        /// Whether it exited (else a signal ended it).
        package var exited: Bool
        /// Its exit status, or the number of the signal that ended it.
        package var code: Int32

        package init(exited: Bool, code: Int32) {
            self.exited = exited
            self.code = code
        }
    }

    /// Reaps child `pid` (waiting for it to end unless `nohang`): how it ended, nil if it still runs.
    package static func reap(_ pid: Int32, nohang: Bool = false) throws(Errno) -> Status? {
        var exited: Int32 = 0, code: Int32 = 0
        let ended = try SystemCall.wait.perform { Int(mc_wait_status(pid, &exited, &code, nohang ? 1 : 0)) }
        return ended == 1 ? Status(exited: exited != 0, code: code) : nil
    }

    /// Whether child `pid` has ended, without reaping it (for when no pidfd could be had).
    /// - Throws: ECHILD when it is not a child of this process.
    package static func hasEnded(_ pid: Int32) throws(Errno) -> Bool {
        try SystemCall.wait.perform { Int(mc_child_ended(pid)) } == 1
    }
}
