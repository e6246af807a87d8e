import CMulticore
#if canImport(Glibc)
import Glibc
#endif

/// Why a child process ended, as far as its parent can tell: by itself (an exit code, a Swift
/// trap, a crash), stopped by its owner (a pool's timeout, a cancel, `terminate`...), killed by
/// the kernel for memory, or killed by someone else. Python reports only an exit code, where an
/// OOM kill looks like any SIGKILL.
public enum ExitReason: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Why an owner (a pool, or the code holding a `ChildProcess`) stopped its child.
    public enum Stop: String, Sendable, Hashable, Codable {
        /// The task it ran passed its timeout.
        case timeout
        /// The task it ran was cancelled.
        case cancellation
        /// `terminate()` or `kill()` (of the pool, or of the process).
        case terminate
        /// `interrupt()` (SIGINT) of the process.
        case interrupt
        /// What it sent its pool could not be read: it could not be trusted any more.
        case protocolError = "protocol error"
        /// It did not stop within 5 s of its pool's shutdown.
        case shutdown
    }

    /// It exited by itself with this status (0 included).
    case exited(code: Int32)
    /// A Swift runtime trap: `fatalError`, a failed `precondition`, an index out of range, nil
    /// force-unwrapped, an overflow (SIGILL on x86-64, SIGTRAP on arm64). `message` is the
    /// runtime's own line ("Fatal error: Index out of range"), when its standard error was read.
    case trapped(signal: Int32, message: String?)
    /// It crashed on a signal of its own making: SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGSYS.
    case crashed(signal: Int32)
    /// Its owner stopped it (SIGTERM, then SIGKILL), for this reason.
    case stoppedByOwner(Stop)
    /// The kernel killed it in its own memory cgroup, which its pool limited to `limit` bytes
    /// (`memoryLimit`).
    case memoryLimit(limit: Int)
    /// The kernel's OOM killer killed it: SIGKILL, while the kernel's count of OOM kills moved.
    case outOfMemory
    /// Someone else sent it this signal: neither its owner nor the kernel's OOM killer.
    case killed(signal: Int32)

    /// What the parent knows of an ended child, put together. `exitCode` is Python's (-N for
    /// signal N); `stoppedBy`, why its owner signalled it, if it did (it counts for SIGTERM and
    /// SIGKILL, or SIGINT for `.interrupt`); `oomKilled`, whether the kernel's OOM kill count
    /// moved while it ran; `memoryLimit`, the limit of its own cgroup, if that cgroup saw an OOM
    /// kill; `fatalLine`, the last fatal-error line of its stderr.
    public init(exitCode: Int32, stoppedBy: Stop? = nil, oomKilled: Bool = false, memoryLimit: Int? = nil,
                fatalLine: String? = nil) {
        guard exitCode < 0 else {
            self = .exited(code: exitCode)
            return
        }
        let signal = -exitCode
        if signal == SIGKILL, let memoryLimit {
            self = .memoryLimit(limit: memoryLimit)
        } else if let stoppedBy, stoppedBy == .interrupt ? signal == SIGINT : signal == SIGTERM || signal == SIGKILL {
            self = .stoppedByOwner(stoppedBy)
        } else if signal == SIGKILL, oomKilled {
            self = .outOfMemory
        } else if signal == SIGILL || signal == SIGTRAP {
            self = .trapped(signal: signal, message: fatalLine)
        } else if [SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGSYS].contains(signal) {
            self = .crashed(signal: signal)
        } else {
            self = .killed(signal: signal)
        }
    }

    /// "trapped (SIGILL): Fatal error: Index out of range", "killed by the kernel's OOM killer".
    public var description: String { headline + (message.map { ": " + $0 } ?? "") }

    /// The trap's message, for a trap whose message was read.
    public var message: String? {
        if case .trapped(_, let message?) = self { return message }
        return nil
    }

    /// What happened, without the trap's message: "trapped (SIGILL)".
    public var headline: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .trapped(let signal, _): "trapped (\(Self.signalName(signal)))"
        case .crashed(let signal): "crashed (\(Self.signalName(signal)))"
        case .stoppedByOwner(let stop): "stopped by its owner (\(stop.rawValue))"
        case .memoryLimit(let limit): "killed by the kernel at its memory limit of \(limit) bytes"
        case .outOfMemory: "killed by the kernel's OOM killer (SIGKILL while the machine was out of memory)"
        case .killed(let signal): "killed by \(Self.signalName(signal)) from another process"
        }
    }

    /// "SIGSEGV" (or "signal 64").
    static func signalName(_ signal: Int32) -> String {
        let name = String(cString: mc_signal_name(signal))
        return name == "unknown" ? "signal \(signal)" : "SIG" + name
    }
}
