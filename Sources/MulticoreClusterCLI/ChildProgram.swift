#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreSystem
import MulticoreThreading

/// A program the soak or the benchmark started (a node, the server script, Python's peers): its
/// pid, and how it ended once reaped. Used from one thread at a time.
final class ChildProgram {
    let pid: Int32
    private var status: ChildWatch.Status?

    /// Starts `path` with `arguments`, its output appended to the descriptor `output`; in a
    /// process group of its own when `ownGroup`.
    init(_ path: String, _ arguments: [String], output: Int32, ownGroup: Bool = false) throws {
        pid = try ProgramSpawn.start(path, arguments, output: output, ownGroup: ownGroup)
    }

    /// Whether it still runs (reaps it once it ended).
    var isRunning: Bool {
        if status == nil, let ended = try? ChildWatch.reap(pid, nohang: true) { status = ended }
        return status == nil
    }

    /// Its exit status; -1 while it runs or when a signal ended it.
    var exitStatus: Int32 { status.map { $0.exited ? $0.code : -1 } ?? -1 }

    func signal(_ signal: Int32) { if isRunning { ProgramSpawn.signal(pid, signal) } }

    /// Sends `signal` to its process group (started with `ownGroup`): it and its children.
    func signalGroup(_ signal: Int32) { if isRunning { ProgramSpawn.signal(-pid, signal) } }

    /// Runs `arguments` (the first a path) to its end, at most `limit`: its exit status (-1 when
    /// a signal ended it or it was killed at the limit) and its output, standard error included.
    static func run(_ arguments: [String], within limit: Duration = .seconds(900)) -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "multicore-cluster-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        do {
            let output = try ProgramSpawn.openOutput(outputPath)
            defer { closeDescriptor(output) }
            let run = try ChildProgram(arguments[0], Array(arguments.dropFirst()), output: output)
            guard waitForExit([run], within: limit) else {
                run.signal(SIGKILL)
                waitForExit([run], within: .seconds(5))
                return (-1, "killed after \(limit)")
            }
            return (run.exitStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
        } catch {
            return (-1, "cannot run \(arguments[0]): \(error)")
        }
    }

    /// Waits at most `limit` for every one of `programs` to end; whether they all did.
    @discardableResult
    static func waitForExit(_ programs: [ChildProgram], within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while programs.contains(where: \.isRunning) {
            guard ContinuousClock.now < deadline else { return false }
            try? pause(.milliseconds(10))
        }
        return true
    }
}

/// Sleeps the calling thread (the soak's own threads, never the cooperative pool's).
func pause(_ duration: Duration) throws { _ = try Event().wait(timeout: duration) }
