#if canImport(Glibc)
import Glibc
#endif

/// A `multicore-cluster bench-node` process (a copy of this executable), in a process group of
/// its own with its worker, so that one SIGKILL takes the node and its worker as a machine's
/// death would.
final class NodeProcess {
    let pid: pid_t
    private var reaped = false

    /// Starts `bench-node` with `arguments`; its output goes to `log`.
    init(_ arguments: [String], log: String) throws {
        pid = try ChildProgram.spawn("/proc/self/exe", ["multicore-cluster", "bench-node"] + arguments, output: log, ownGroup: true)
    }

    /// SIGKILLs the node and its worker, and reaps the node.
    func kill() {
        guard !reaped else { return }
        _ = Glibc.kill(-pid, SIGKILL)
        _ = ChildProgram.wait(pid)
        reaped = true
    }

    deinit { kill() }
}
