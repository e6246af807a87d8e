import CMulticore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Starting processes: posix_spawn of this executable as a worker, and fork.
package enum Spawn {
    /// Spawns a worker (a copy of this executable) whose descriptor 3 is `channel`: its pid.
    package static func worker(channel: Int32) throws(Errno) -> Int32 {
        var pid: Int32 = 0
        _ = try SystemCall.spawn.perform { Int(mc_spawn_worker(channel, &pid)) }
        return pid
    }

    /// fork(), the child killed when the forking thread dies: the child's pid, 0 in the child.
    package static func fork() throws(Errno) -> Int32 {
        Int32(try SystemCall.spawn.perform { Int(mc_fork()) })
    }

    /// The fork server's fork: the child keeps no descriptor but 0, 1, 2 and `keep`.
    package static func forkServerWorker(keeping keep: Int32) throws(Errno) -> Int32 {
        Int32(try SystemCall.spawn.perform { Int(mc_fork_server_worker(keep)) })
    }
}

/// This executable and its replacement by another program.
package enum Executable {
    /// The running executable's path (/proc/self/exe resolved), or nil when it cannot be read.
    package static func path() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Replaces this process with the program at `path`, given `arguments` (its argv[0] first);
    /// returns only by throwing, when it cannot be run.
    package static func replaceProcess(with path: String, arguments: [String]) throws(Errno) -> Never {
        let copies = arguments.map { strdup($0) } + [nil]
        defer { copies.forEach { free($0) } }
        execv(path, copies)
        throw Errno(rawValue: errno)
    }
}
