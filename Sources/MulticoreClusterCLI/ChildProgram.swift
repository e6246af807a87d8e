import MulticoreSystem
import MulticoreThreading

/// A program the soak started (a node, the server script): its pid, and how it ended once
/// reaped. Used from one thread at a time.
final class ChildProgram {
    let pid: Int32
    private var status: ChildWatch.Status?

    /// Starts `path` with `arguments`, its output appended to the descriptor `output`.
    init(_ path: String, _ arguments: [String], output: Int32) throws {
        pid = try ProgramSpawn.start(path, arguments, output: output)
    }

    /// Whether it still runs (reaps it once it ended).
    var isRunning: Bool {
        if status == nil, let ended = try? ChildWatch.reap(pid, nohang: true) { status = ended }
        return status == nil
    }

    /// Its exit status; -1 while it runs or when a signal ended it.
    var exitStatus: Int32 { status.map { $0.exited ? $0.code : -1 } ?? -1 }

    func signal(_ signal: Int32) { if isRunning { ProgramSpawn.signal(pid, signal) } }

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
