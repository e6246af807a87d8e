#if canImport(Glibc)
import Glibc
#endif
import Multicore
import Synchronization

/// Ctrl-C on the commands that run a pool (`pool`, `soak`, `crash`). A terminal sends SIGINT to
/// its whole foreground process group; the pool's workers ignore it (their parent decides), and
/// this process takes it on a thread of its own, in `sigwait` (nothing runs in a signal
/// handler): it stops the pools it was given (`onInterrupt`), which returns once their workers
/// are gone, and exits with 130 (128 + SIGINT, what a shell reports for an interrupted command).
enum Interruption {
    private static let stops = Locked<[@Sendable () -> Void]>([])
    private static let interrupted = Atomic<Bool>(false)
    /// Taken, and never given back, by whichever thread ends the process first: `main` at its
    /// end, or the interrupt. `exit` must not run twice at once, and nothing prints after it.
    private static let ending = Lock()

    /// Blocks SIGINT in this thread (`main`, before any other thread starts: threads inherit
    /// the mask, so no thread takes SIGINT's default action) and starts the thread that waits
    /// for it. Workers do not inherit the mask: they are spawned with their own.
    static func install() throws {
        var interrupt = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        pthread_sigmask(SIG_BLOCK, &interrupt, nil)
        let watcher = JoinableThread(name: "mc-interrupt", daemon: true) { [interrupt] in
            var waited = interrupt
            var signal: Int32 = 0
            while sigwait(&waited, &signal) != 0 {}
            ending.acquire()
            interrupted.store(true, ordering: .relaxed)
            Console.writeError("\ninterrupted: stopping the pool\n")
            for stop in stops.withLock({ $0 }) { stop() }
            Glibc.exit(130)
        }
        try watcher.start()
    }

    /// Whether SIGINT came and the pools are being stopped: progress is no longer worth showing.
    static var isUnderway: Bool { interrupted.load(ordering: .relaxed) }

    /// Runs `stop` (which returns once the pool's workers are gone) when SIGINT comes.
    static func onInterrupt(_ stop: @escaping @Sendable () -> Void) {
        stops.withLock { $0.append(stop) }
    }

    /// Ends the process with `status`, unless an interrupt is ending it already (then this
    /// thread waits for that). What `main` calls instead of `exit`.
    static func exit(_ status: Int32) -> Never {
        ending.acquire()
        Glibc.exit(status)
    }

    /// Returns at once, unless an interrupt is ending the process: then this thread waits for
    /// that, and prints nothing of the stopped work.
    static func proceed() {
        ending.acquire()
        try? ending.release()
    }
}
