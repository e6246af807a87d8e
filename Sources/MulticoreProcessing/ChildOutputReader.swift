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
/// of its own, as a pool does, so one thread serves them all, polling their pipes beside a
/// wake-up pipe that says the list changed.
///
/// The fork start method does not count this thread (as the spawner's): it takes locks only
/// for a moment, and a fork happens with the list's lock held (`aroundFork`), so a forked child
/// never finds it locked. A forked child starts its own thread on its first use.
enum ChildOutputReader {
    private struct Running {
        let owner: pid_t
        /// Written to (one byte, never waiting) when `taps` changed; the thread polls its read end.
        let wake: (read: FileDescriptor, write: FileDescriptor)
        /// The taps still to read: a tap leaves at its end of file.
        var taps: [SharedTap] = []
    }

    private static let running = Locked<Running?>(nil)

    /// Whether this process has its reader thread, which the fork start method does not count.
    static var hasThread: Bool { running.withLock { $0?.owner == getpid() } }

    /// Has the thread read `tap` from now on until its end of file.
    /// - Throws: `ProcessError.spawnFailed` when the thread or its wake-up pipe cannot be had.
    static func watch(_ tap: SharedTap) throws(ProcessError) {
        let wake = running.withLock { running -> Result<FileDescriptor, ProcessError> in
            // A forked child holds its parent's list: its own starts afresh.
            if running?.owner != getpid() {
                switch start() {
                case .success(let started): running = started
                case .failure(let error): return .failure(error)
                }
            }
            running?.taps.append(tap)
            return running.map { .success($0.wake.write) } ?? .failure(.spawnFailed(errno: Errno(rawValue: EAGAIN)))
        }
        poke(try wake.get())
    }

    /// Stops reading `tap` (its child's joiner read it to the end).
    static func forget(_ tap: SharedTap) {
        running.withLock { running in
            guard running?.owner == getpid() else { return }
            running?.taps.removeAll { $0 === tap }
        }
    }

    /// Runs `body` (a fork) with the list's lock held, so that a forked child, which has none of
    /// this process's threads, never finds it locked (a `Lock` may be released by any thread).
    static func aroundFork<R>(_ body: () throws(Errno) -> R) throws(Errno) -> R {
        try running.withLock { _ in Result { () throws(Errno) in try body() } }.get()
    }

    private static func poke(_ wake: FileDescriptor) {
        var byte: UInt8 = 1
        _ = withUnsafeBytes(of: &byte) { try? wake.writeSome($0, nonBlocking: true) } // full: it is awake already
    }

    private static func start() -> Result<Running, ProcessError> {
        let wake: (read: FileDescriptor, write: FileDescriptor)
        do throws(Errno) {
            wake = try DescriptorPair.pipe()
            try wake.read.setNonBlocking()
            try wake.write.setNonBlocking()
        } catch {
            return .failure(.spawnFailed(errno: error))
        }
        let started = Event()
        let thread = JoinableThread(name: "mc-output", daemon: true) { serve(wake: wake.read, started: started) }
        do throws(ThreadingError) {
            try thread.start()
            _ = try started.wait()
        } catch {
            closeDescriptor(wake.read.rawValue)
            closeDescriptor(wake.write.rawValue)
            if case .cannotStartThread(let errno) = error { return .failure(.spawnFailed(errno: errno)) }
            return .failure(.spawnFailed(errno: Errno(rawValue: EAGAIN)))
        }
        return .success(Running(owner: getpid(), wake: wake))
    }

    /// The thread's life: poll the wake-up pipe and every tap, read what came.
    ///
    /// It tells its starter it has started (`started`) only after a first round with no tap
    /// (the starter holds the list's lock meanwhile), so that the type metadata the loop needs
    /// exists: the starter may fork next, and a fork that found this thread making it, under the
    /// runtime's locks, would leave them taken forever in the child.
    private static func serve(wake: FileDescriptor, started: Event) -> Never {
        var drained = [UInt8](repeating: 0, count: 64)
        var taps: [SharedTap] = []
        var starting: Event? = started
        while true {
            var entries = [pollfd(fd: wake.rawValue, events: Int16(POLLIN), revents: 0)]
            entries += taps.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            // The first round waits for nothing.
            if starting == nil, (try? Poll.wait(&entries, milliseconds: -1)) == nil { continue }
            if entries[0].revents != 0 {
                _ = drained.withUnsafeMutableBytes { try? wake.readAvailable(into: $0) }
            }
            for index in taps.indices where entries[index + 1].revents != 0 {
                if taps[index].readAvailable() || entries[index + 1].revents & Int16(POLLNVAL) != 0 { forget(taps[index]) }
            }
            starting?.set()
            starting = nil
            // The list holds its taps, so their descriptors stay open while they are polled.
            taps = running.withLock { $0?.taps ?? [] }
        }
    }
}
