import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Reads the standard error of every running `ChildProcess` of this process, from one daemon
/// thread ("mc-output"), started on first use: a child's stderr is a pipe whose bytes this
/// thread passes on to this process's stderr as they come (a child inherits it, as in Python),
/// keeping the tail that travels with the child's death.
///
/// Why a thread and not the joiner: a child is not always joined while it runs (Python's
/// children write whenever they like), and one whose pipe nobody read would block on its
/// 64 KiB; nor would its output appear until the join. A `ChildProcess` has no manager thread
/// of its own, as a pool does, so one thread serves them all, waiting on an epoll set of their
/// pipes. A pipe joins or leaves the set without waking the thread: it wakes only when a child
/// writes, or ends unjoined. A joiner takes its child's pipe out of the set while it waits
/// (`ChildProcess.join` reads it itself), so that a child joined at once, the common case,
/// never wakes the thread (each wake-up costs a switch to the other CPU, and makes every page
/// the forking thread writes meanwhile cost a TLB shootdown there).
///
/// The fork start method does not count this thread (as the spawner's): the thread works only
/// inside `ForkGate`, so a fork never copies it in the middle of its work (nor with the list's
/// lock held). A forked child starts its own thread on its first use.
enum ChildOutputReader {
    private struct Running {
        let owner: pid_t
        /// What the thread waits on: each tap in `taps`, as tag `tag(of:)`.
        let events: EventPoll
        /// The taps the thread reads: a tap leaves at its end of file, or while a joiner reads it.
        var taps: [SharedTap] = []
    }

    private static let running = Locked<Running?>(nil)

    /// Whether this process has its reader thread, which the fork start method does not count.
    static var hasThread: Bool { running.withLock { $0?.owner == mc_getpid() } }

    /// Has the thread read `tap` from now on until its end of file (or `forget`).
    /// - Throws: `ProcessError.spawnFailed` when the thread or its epoll set cannot be had.
    static func watch(_ tap: SharedTap) throws(ProcessError) {
        let outcome = running.withLock { running -> Result<Void, ProcessError> in
            // A forked child holds its parent's list: its own starts afresh.
            if running?.owner != mc_getpid() {
                switch start() {
                case .success(let started): running = started
                case .failure(let error): return .failure(error)
                }
            }
            guard let events = running?.events else { return .failure(.spawnFailed(errno: Errno(rawValue: EAGAIN))) }
            if running?.taps.contains(where: { $0 === tap }) == true { return .success(()) }
            do throws(Errno) { try events.add(tap.descriptor, tag: tag(of: tap)) } catch { return .failure(.spawnFailed(errno: error)) }
            running?.taps.append(tap)
            return .success(())
        }
        try outcome.get()
    }

    /// Stops reading `tap` (its child's joiner reads it now). Its descriptor leaves the epoll
    /// set here, before anyone closes it: a forked sibling holding a copy of it would otherwise
    /// keep it in the set, reported ended forever.
    static func forget(_ tap: SharedTap) {
        running.withLock { running in
            guard running?.owner == mc_getpid(), let index = running?.taps.firstIndex(where: { $0 === tap }) else { return }
            running?.taps.remove(at: index)
            running?.events.remove(tap.descriptor)
        }
    }

    /// The tag a tap is reported with: taps beyond 64 share tags (the thread then reads each
    /// of them, finding nothing in the ones that are not ready).
    private static func tag(of tap: SharedTap) -> Int { Int(tap.descriptor) & 63 }

    private static func start() -> Result<Running, ProcessError> {
        let events: EventPoll
        do throws(Errno) { events = try EventPoll() } catch { return .failure(.spawnFailed(errno: error)) }
        let started = Event()
        let thread = JoinableThread(name: "mc-output", daemon: true) { serve(events, started: started) }
        do throws(ThreadingError) {
            try thread.start()
            _ = try started.wait()
        } catch {
            events.close()
            if case .cannotStartThread(let errno) = error { return .failure(.spawnFailed(errno: errno)) }
            return .failure(.spawnFailed(errno: Errno(rawValue: EAGAIN)))
        }
        return .success(Running(owner: mc_getpid(), events: events))
    }

    /// The thread's life: wait on the epoll set, read the taps that are ready, inside
    /// `ForkGate` for all but the wait.
    ///
    /// It tells its starter it has started (`started`) only after a first round that waits for
    /// nothing and reads no tap (the starter holds the list's lock meanwhile), so that the
    /// runtime state its loop needs (type metadata, the wait's own code run once) exists: the
    /// starter may fork next, while this thread goes back to its wait.
    private static func serve(_ events: EventPoll, started: Event) -> Never {
        var starting: Event? = started
        var taps: [SharedTap] = []
        while true {
            // The first round does not wait, and reads no tap.
            let tags = try? events.wait(nanoseconds: starting == nil ? nil : 0)
            ForkGate.whileWorking {
                if let ready = tags {
                    if starting == nil { taps = running.withLock { $0?.taps ?? [] } }
                    for tap in taps where ready & (1 << UInt64(tag(of: tap))) != 0 {
                        if tap.readAvailable() { forget(tap) }
                    }
                }
                starting?.set()
                starting = nil
            }
        }
    }
}
