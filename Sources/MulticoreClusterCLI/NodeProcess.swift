#if canImport(Glibc)
import Glibc
#endif
import MulticoreSystem

/// A `multicore-cluster bench-node` process (a copy of this executable), in a process group of
/// its own with its worker, so that one SIGKILL takes the node and its worker as a machine's
/// death would.
final class NodeProcess {
    private let program: ChildProgram
    private let output: Int32

    var pid: Int32 { program.pid }

    /// Starts `bench-node` with `arguments`; its output goes to `log`.
    init(_ arguments: [String], log: String) throws {
        output = try ProgramSpawn.openOutput(log)
        do {
            program = try ChildProgram("/proc/self/exe", ["bench-node"] + arguments, output: output, ownGroup: true)
        } catch {
            closeDescriptor(output)
            throw error
        }
    }

    /// SIGKILLs the node and its worker, and reaps the node.
    func kill() {
        program.signalGroup(SIGKILL)
        ChildProgram.waitForExit([program], within: .seconds(10))
    }

    deinit {
        kill()
        closeDescriptor(output)
    }
}
