#if canImport(Glibc)
import Glibc
#endif

/// A program a test runs as a shell runs a job: in a process group of its own (so that a signal
/// sent to the group, as a terminal sends Ctrl-C, reaches it and what it started, and never the
/// test runner), with its standard output and error read through one pipe.
public final class ProgramRun {
    public let pid: pid_t
    private let outputDescriptor: Int32
    private var bytes: [UInt8] = []
    private var exitStatus: Int32?

    /// Starts the executable beside the test bundle named `name` (SwiftPM builds every
    /// product of the package there) with `arguments`.
    public convenience init(beside name: String, _ arguments: [String]) throws {
        let path = Self.besideTheTests(name)
        guard access(path, X_OK) == 0 else { throw ProgramRunError("\(name) was not built beside the tests: \(path)") }
        try self.init(path: path, arguments)
    }

    /// Starts the executable at `path` (a script with its `#!` line too) with `arguments`.
    public init(path: String, _ arguments: [String]) throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw ProgramRunError("pipe: errno \(errno)") }
        // Close-on-exec, so that no other child a test starts meanwhile holds the write end.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // Signals as a shell gives them to a job: none blocked, none ignored.
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let started = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        Glibc.close(ends[1])
        guard started == 0 else {
            Glibc.close(ends[0])
            throw ProgramRunError("posix_spawn \(path): errno \(started)")
        }
        pid = child
        outputDescriptor = ends[0]
        _ = fcntl(outputDescriptor, F_SETFL, fcntl(outputDescriptor, F_GETFL) | O_NONBLOCK)
    }

    /// Kills what is left of the group and reaps the program, if a test did not.
    deinit {
        if exitStatus == nil {
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        Glibc.close(outputDescriptor)
    }

    /// Everything it wrote so far.
    public var output: String {
        readAvailable()
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Sends `signal` to its whole process group, as a terminal sends Ctrl-C to its foreground job.
    public func signalGroup(_ signal: Int32) { kill(-pid, signal) }

    /// Sends `signal` to the program alone, as `kill PID` (or Kubernetes) does.
    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for it to end, at most `limit`: its exit status (the code, or -N for signal N), or
    /// nil if it still runs.
    public func wait(within limit: Duration = testDeadline) -> Int32? {
        _ = eventually(within: limit) {
            readAvailable()
            var status: Int32 = 0
            guard exitStatus == nil, waitpid(pid, &status, WNOHANG) == pid else { return exitStatus != nil }
            let signal = status & 0x7f
            exitStatus = signal == 0 ? (status >> 8) & 0xff : -signal
            return true
        }
        readAvailable()
        return exitStatus
    }

    /// The pids of the processes it started, and theirs, down the tree (from
    /// /proc/PID/task/TID/children): what must not outlive it.
    public func descendants() -> [pid_t] {
        var found: [pid_t] = []
        var queue = [pid]
        while let next = queue.popLast() {
            for child in Self.children(of: next) where !found.contains(child) {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }

    /// The first argument of process `pid` (argv[0], from /proc/PID/cmdline: a spawned worker's
    /// is "multicore-worker", while its command name is "exe"), nil once it is gone.
    public static func programName(_ pid: pid_t) -> String? {
        readText("/proc/\(pid)/cmdline").map { String($0.prefix { $0 != "\0" }) }
    }

    /// Whether `pid` has ended: no such process, or a zombie nobody reaped yet.
    public static func isGone(_ pid: pid_t) -> Bool {
        guard let stat = readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "Z" || state == "X"
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(outputDescriptor, &chunk, chunk.count)
            guard count > 0 else { return }
            bytes += chunk[0..<count]
        }
    }

    private static func children(of pid: pid_t) -> [pid_t] {
        guard let tasks = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(tasks) }
        var children: [pid_t] = []
        while let entry = readdir(tasks) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int32(name) != nil, let text = readText("/proc/\(pid)/task/\(name)/children") else { continue }
            children += text.split(separator: " ").compactMap { Int32($0.trimmingPrefix(" ")) }
        }
        return children
    }

    private static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            text += buffer[0..<count]
        }
        return String(decoding: text, as: UTF8.self)
    }

    public static func besideTheTests(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer[0..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) + "/" + name
    }
}

/// A program could not be started.
public struct ProgramRunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
