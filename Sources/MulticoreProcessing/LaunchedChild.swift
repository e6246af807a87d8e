import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What the parent holds of a child one of the launchers started (`SpawnLauncher`,
/// `ForkServer`, `ForkLauncher`): its pid, the descriptor that says it ended, and how it is
/// reaped, which the launcher decides.
struct LaunchedChild: Sendable {
    /// How a child's end is collected.
    enum Reaping: Sendable {
        /// This process's own child: `waitpid` (spawn, fork).
        case waitpid
        /// The fork server's child: the server reaped it and writes its status to the exit
        /// descriptor (a pipe; end of file means the server died, and its workers with it).
        case statusPipe
    }

    let pid: pid_t
    /// Readable once the child has ended: a pidfd, or the fork server's status pipe; -1 when
    /// none could be had (the child is then looked at every 10 ms).
    let exitDescriptor: Int32
    let reaping: Reaping

    /// A child of this process, watched through a pidfd when one can be had.
    static func own(_ pid: pid_t) -> LaunchedChild {
        LaunchedChild(pid: pid, exitDescriptor: (try? ChildWatch.openPidFD(pid)) ?? -1, reaping: .waitpid)
    }

    /// Whether it has ended, for a child with no exit descriptor (without reaping it).
    func hasEnded() -> Bool { (try? ChildWatch.hasEnded(pid)) == true }

    /// How it ended, once it has: (exited, code) as `ChildWatch.Status` says; nil if it cannot be
    /// known yet (a waitpid that failed).
    func reap() -> ChildWatch.Status? {
        switch reaping {
        case .waitpid:
            return try? ChildWatch.reap(pid)
        case .statusPipe:
            var report: (Int32, Int32) = (0, SIGKILL)
            if (try? withUnsafeMutableBytes(of: &report, { buffer throws(Errno) in
                try FileDescriptor(rawValue: exitDescriptor).readExactly(into: buffer)
            })) != true {
                report = (0, SIGKILL) // the server died: the kernel killed its workers with it
            }
            return ChildWatch.Status(exited: report.0 != 0, code: report.1)
        }
    }

    /// Polls `fd` (an exit descriptor) without sleeping for up to 200 µs; whether it became
    /// readable. A worker exits right after its reply: waiting for that on this CPU for a moment
    /// costs less than sleeping and paying a second wake-up.
    static func awaitExitBriefly(_ fd: Int32) -> Bool {
        let limit = Deadline.after(.microseconds(200))
        repeat {
            if (try? Poll.isReady(fd, milliseconds: 0)) == true { return true }
            sched_yield()
        } while !limit.hasPassed
        return false
    }
}
