import CMulticore
import SystemPackage

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
