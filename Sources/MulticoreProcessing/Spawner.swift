import CMulticore
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// Spawns every worker from one long-lived thread.
///
/// A worker asks the kernel to kill it when its parent dies (`PR_SET_PDEATHSIG`), and Linux
/// takes "parent" to mean the *thread* that spawned it: a worker spawned from a thread that
/// later ends (a pool thread, a test's thread) would be killed with it. Spawning from this one
/// daemon thread, which lives as long as the process, ties workers to the process instead.
enum Spawner {
    private struct Request: Sendable {
        let channel: Int32
        let reply: Future<Int32>
    }

    /// The spawner's queue, or why its thread could not start (then every spawn fails with it).
    private static let requests: Result<SimpleQueue<Request>, ThreadingError> = {
        let queue = SimpleQueue<Request>()
        let thread = JoinableThread(name: "mc-spawner", daemon: true) {
            while true {
                guard let request = try? queue.get() else { continue }
                var pid: pid_t = 0
                let result = mc_spawn_worker(request.channel, &pid)
                try? request.reply.setResult(result == 0 ? pid : -result)
            }
        }
        do throws(ThreadingError) {
            try thread.start()
            return .success(queue)
        } catch {
            return .failure(error)
        }
    }()

    /// Spawns a worker whose descriptor 3 is `channel`; returns its pid.
    static func spawn(channel: Connection) -> Result<pid_t, ProcessError> {
        let queue: SimpleQueue<Request>
        switch requests {
        case .success(let started): queue = started
        case .failure(.cannotStartThread(let errno)): return .failure(.spawnFailed(errno: errno))
        case .failure: return .failure(.spawnFailed(errno: EAGAIN))
        }
        let request = Request(channel: channel.fileDescriptor, reply: Future())
        queue.put(request)
        // The spawner answers every request; it takes milliseconds.
        guard let answer = try? request.reply.result() else { return .failure(.spawnFailed(errno: EAGAIN)) }
        return answer > 0 ? .success(answer) : .failure(.spawnFailed(errno: -answer))
    }
}
