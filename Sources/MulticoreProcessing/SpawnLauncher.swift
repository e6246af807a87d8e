import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Spawns workers from threads that live as long as the process: the main thread itself, every
/// other thread through one long-lived daemon thread.
///
/// A worker asks the kernel to kill it when its parent dies (`PR_SET_PDEATHSIG`), and Linux
/// takes "parent" to mean the *thread* that spawned it: a worker spawned from a thread that
/// later ends (a pool thread, a test's thread) would be killed with it. Spawning from this one
/// daemon thread, which lives as long as the process, ties workers to the process instead.
///
/// The thread belongs to the process that started it: a forked child (which has no such
/// thread) starts its own on its first spawn.
enum SpawnLauncher {
    private struct Request: Sendable {
        let channel: Int32
        let reply: Future<Result<pid_t, Errno>>
    }

    private struct Running {
        let owner: pid_t
        let queue: SimpleQueue<Request>
    }

    private static let running = Locked<Running?>(nil)

    /// Whether this process has its spawner thread (which is idle between spawns, and spawns
    /// inside `ForkGate`): the fork start method does not count it as a thread that would be lost.
    static var hasThread: Bool { running.withLock { $0?.owner == mc_getpid() } }

    private static func queue() -> Result<SimpleQueue<Request>, ProcessError> {
        running.withLock { running in
            if let current = running, current.owner == mc_getpid() { return .success(current.queue) }
            let queue = SimpleQueue<Request>()
            let thread = JoinableThread(name: "mc-spawner", daemon: true) {
                while true {
                    guard let request = try? queue.get() else { continue }
                    // A fork (from the main thread) waits for this spawn: see `ForkGate`.
                    ForkGate.whileWorking {
                        let spawned: Result<pid_t, Errno>
                        do throws(Errno) { spawned = .success(try Spawn.worker(channel: request.channel)) } catch { spawned = .failure(error) }
                        try? request.reply.setResult(spawned)
                    }
                }
            }
            do throws(ThreadingError) {
                try thread.start()
            } catch .cannotStartThread(let errno) {
                return .failure(.spawnFailed(errno: errno))
            } catch {
                return .failure(.spawnFailed(errno: Errno(rawValue: EAGAIN)))
            }
            running = Running(owner: mc_getpid(), queue: queue)
            return .success(queue)
        }
    }

    /// Spawns a worker whose descriptor 3 is `channel`.
    /// - Throws: `ProcessError.startedBeforeWorkerEntry`, `.spawnFailed`.
    static func launch(channel: Connection) throws(ProcessError) -> LaunchedChild {
        .own(try spawn(channel: channel))
    }

    /// Spawns a worker whose descriptor 3 is `channel`; returns its pid (the fork server's start
    /// needs only that).
    static func spawn(channel: Connection) throws(ProcessError) -> pid_t {
        // Python: "An attempt has been made to start a new process before the current process
        // has finished its bootstrapping phase."
        if WorkerEntry.isPending { throw .startedBeforeWorkerEntry }
        // The main thread lives as long as the process (`dispatchMain` parks it rather than
        // ending it): a worker it spawns is tied to the process already, so it spawns here,
        // without the two wake-ups of a hand-off to the spawner thread.
        if mc_gettid() == mc_getpid() {
            do throws(Errno) { return try Spawn.worker(channel: channel.fileDescriptor) } catch { throw .spawnFailed(errno: error) }
        }
        let queue = try Self.queue().get()
        let request = Request(channel: channel.fileDescriptor, reply: Future())
        queue.put(request)
        // The spawner answers every request; it takes milliseconds.
        guard let answer = try? request.reply.result() else { throw .spawnFailed(errno: Errno(rawValue: EAGAIN)) }
        switch answer {
        case .success(let pid): return pid
        case .failure(let errno): throw .spawnFailed(errno: errno)
        }
    }
}
