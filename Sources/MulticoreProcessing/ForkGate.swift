import MulticoreSystem
import MulticoreThreading
import SystemPackage

/// What lets the fork start method fork while this process's helper threads live: the stderr
/// reader ("mc-output") and the spawner ("mc-spawner"). `ForkLauncher` does not count them as
/// threads a forked child would lose, so a fork must never copy one of them in the middle of its
/// work: a forked child has only the forking thread, and a lock the helper held in the Swift
/// runtime (a `swift_once` making generic metadata for the first time, the metadata caches'
/// locks) stays held in the child forever. The runtime's `once` lock is a priority-inheritance
/// futex: the child then spins at full CPU, asking the kernel for a lock whose owner does not
/// exist there (seen under ThreadSanitizer: a forked child stuck in `once_slow` making
/// `Array`'s metadata, which the reader thread, just started, was making at the fork).
///
/// So a helper holds the gate whenever it is not waiting (`whileWorking`), and the fork holds it
/// across the fork (`fork`): a fork happens only while each helper waits in a system call, or is
/// on its way there through code it has run before (whose runtime state is made: only lock-free
/// reads remain). A helper's first round runs its waiting code once, inside the gate, before it
/// tells its starter it has started.
enum ForkGate {
    private static let lock = Lock()

    /// Runs `body`, a helper thread's work between two waits, where no fork can happen.
    static func whileWorking<R>(_ body: () -> R) -> R {
        lock.withLock(body)
    }

    /// Whether a thread waits at the gate (a fork waiting out a helper's work), for tests.
    static var isWaitedForForTests: Bool { lock.isContended }

    /// Forks this process while no helper thread works.
    /// - Throws: the fork's `Errno`.
    static func fork() throws(Errno) -> Int32 {
        try lock.withLock { () throws(Errno) in try Spawn.fork() }
    }
}
