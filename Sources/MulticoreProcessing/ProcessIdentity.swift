import CMulticore
import MulticoreSystem
#if canImport(Glibc)
import Glibc
#endif

/// The calling process as Multicore knows it. Corresponds to what Python's
/// `multiprocessing.current_process()` returns.
public struct CurrentProcess: Sendable, Equatable {
    /// "MainProcess", or the name its parent gave it ("Process-1", "Process-1:2").
    public let name: String
    /// Its pid. Python: `current_process().pid`.
    public let pid: Int32
    /// Python's `Process._identity`: empty in the main process, [1] in "Process-1", [1, 2] in
    /// its second child.
    public let identity: [Int]
    /// Whether this is a process Multicore did not start (Python's `MainProcess`).
    public var isMain: Bool { identity.isEmpty }
}

/// The calling process. Corresponds to Python's `multiprocessing.current_process()`.
public func currentProcess() -> CurrentProcess {
    CurrentProcess(name: ProcessLineage.name, pid: getpid(), identity: ProcessLineage.identity)
}

/// The process that started this one, seen from the child. Corresponds to Python's
/// `multiprocessing.parent_process()` (a `_ParentProcess`).
public final class ParentProcess: Sendable {
    /// The parent's pid.
    public let pid: Int32
    /// The parent's name ("MainProcess" for a process Multicore did not start).
    public let name: String
    /// Readable once the parent has ended (pidfd), or -1 if it had ended already.
    private let exitDescriptor: Int32

    init(pid: Int32, name: String) {
        self.pid = pid
        self.name = name
        exitDescriptor = (try? ChildWatch.openPidFD(pid)) ?? -1
    }

    deinit { closeDescriptor(exitDescriptor) }

    /// Whether the parent still runs. Python: `parent_process().is_alive()`.
    public var isAlive: Bool { !ended(by: .now) }

    /// Waits until the parent ends or `timeout` passes (a negative one counts as zero); returns
    /// whether it ended. Python: `parent_process().join(timeout=None)`.
    /// - Throws: `ProcessError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread")
    @discardableResult
    public func join(timeout: Duration? = nil) throws(ProcessError) -> Bool {
        ended(by: try .after(timeout.map { max($0, .zero) }, orThrow: ProcessError.timeoutTooLarge))
    }

    /// Whether the parent ended by `deadline` (waiting for it until then).
    private func ended(by deadline: Deadline) -> Bool {
        guard exitDescriptor >= 0 else { return true }
        while true {
            // Recomputed after each wake-up: the Int32 cap (24 days) can end a poll early.
            let milliseconds = deadline.remaining.map { Int32(clamping: ($0.nanoseconds + 999_999) / 1_000_000) } ?? -1
            guard let ready = try? Poll.isReady(exitDescriptor, milliseconds: milliseconds) else { return false }
            if !ready, !deadline.isNever, !deadline.hasPassed { continue }
            return ready
        }
    }
}

/// The process that started this one, nil in a process Multicore did not start.
/// Corresponds to Python's `multiprocessing.parent_process()`.
public func parentProcess() -> ParentProcess? {
    guard let pid = ProcessLineage.parentPID else { return nil }
    return ParentProcess(pid: pid, name: ProcessLineage.parentName)
}
