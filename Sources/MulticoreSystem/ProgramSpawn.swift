#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Starting another program (or this one with other arguments) as a plain child: the cluster
/// soak's node processes and its server script.
package enum ProgramSpawn {
    /// posix_spawn of `path` with `arguments`: standard input /dev/null, standard output and error
    /// `output` (an open descriptor, appended to), in this process's group (a group of its own
    /// when `ownGroup`: one signal to `-pid` then reaches it and its children), with no signal
    /// blocked or ignored. Its pid; reap it with `ChildWatch.reap`.
    package static func start(_ path: String, _ arguments: [String], output: Int32, ownGroup: Bool = false) throws(Errno) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        if ownGroup { posix_spawnattr_setpgroup(&attributes, 0) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (ownGroup ? POSIX_SPAWN_SETPGROUP : 0)))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        _ = try SystemCall.spawn.perform { () -> Int in
            let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
            return result == 0 ? 0 : -Int(result)
        }
        return pid
    }

    /// Opens `path` for appending (made if absent), close-on-exec: an `output` for `start`.
    package static func openOutput(_ path: String) throws(Errno) -> Int32 {
        do {
            return try FileDescriptor.open(FilePath(path), .writeOnly, options: [.append, .create, .closeOnExec],
                                           permissions: [.ownerReadWrite, .groupRead, .otherRead]).rawValue
        } catch let error as Errno {
            throw error
        } catch {
            throw Errno.ioError
        }
    }

    /// Sends `signal` to process `pid` (false when it is gone).
    @discardableResult
    package static func signal(_ pid: Int32, _ signal: Int32) -> Bool { kill(pid, signal) == 0 }
}
