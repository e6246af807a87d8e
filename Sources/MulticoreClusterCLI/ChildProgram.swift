#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The programs the benchmark runs: the server script, Python's peers, its node processes.
/// posix_spawn and waitpid (Foundation's `Process` never saw its child end here, once the
/// cluster's threads had started: the child stayed a zombie and `waitUntilExit` waited on).
enum ChildProgram {
    /// Starts `arguments` (argv[0] a path) with its output (standard error too) appended to
    /// `output`; in a process group of its own when `ownGroup`. Its pid.
    static func spawn(_ path: String, _ arguments: [String], output: String, ownGroup: Bool) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        var copies = arguments.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        copies.append(nil)
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, &attributes, copies, environ)
        guard spawned == 0 else { throw BenchError("cannot run \(path): \(String(cString: strerror(spawned)))") }
        return child
    }

    /// Waits for `pid` to end: its exit status, or -1 when it was killed or cannot be waited for.
    /// No signal handler is installed in the benchmark, so the wait is not interrupted.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return -1 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    /// Runs `arguments` (argv[0] a path) to its end: its exit status and output (standard
    /// error included).
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        let output = NSTemporaryDirectory() + "multicore-cluster-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: output) }
        do {
            let pid = try spawn(arguments[0], arguments, output: output, ownGroup: false)
            let status = wait(pid)
            return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        } catch {
            return (-1, "\(error)")
        }
    }
}
