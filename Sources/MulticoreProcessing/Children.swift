import CMulticore
import MulticoreThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What every `ChildProcess` is, whatever its task: the element of `activeChildren()`.
public protocol ChildProcessHandle: AnyObject, Sendable {
    /// The process's name. Python: `Process.name`.
    var name: String { get }
    /// The child's pid. Python: `Process.pid`.
    var pid: Int32? { get }
    /// Whether it is terminated rather than waited for at exit. Python: `Process.daemon`.
    var daemon: Bool { get }
    /// Whether it still runs. Python: `Process.is_alive()`.
    /// - Throws: `ProcessError.closed` after `close()`.
    var isAlive: Bool { get throws(ProcessError) }
    /// Python: `Process.exitcode`.
    /// - Throws: `ProcessError.closed` after `close()`.
    var exitCode: Int32? { get throws(ProcessError) }
    /// Python: `Process.join(timeout=None)`.
    @available(*, noasync, message: "blocks the thread")
    func join(timeout: Duration?) throws(ProcessError) -> Bool
    /// Python: `Process.terminate()`.
    func terminate() throws(ProcessError)
}

/// The children this process started and has not reaped yet. At exit, as in Python, daemon
/// children are terminated and the others are waited for.
enum Children {
    /// Each child with the pid of the process that started it: a forked child inherits its
    /// parent's entries, which are not its children (filtering costs it no memory writes).
    private static let running = Locked<[ObjectIdentifier: (owner: pid_t, child: any ChildProcessHandle)]>([:])

    private static let exitHandler: Void = Threading.registerAtExit { Children.finish() }

    /// The pid of the last process that added a child: a forked child that started none skips
    /// `finish` without touching the registry.
    private static let lastStarter = Atomic<Int32>(0)

    /// What happens at exit: daemon children are terminated, and every child is waited for.
    static func finish() {
        guard lastStarter.load(ordering: .relaxed) == mc_getpid() else { return }
        for child in Children.all {
            if child.daemon { try? child.terminate() }
            _ = try? child.join(timeout: nil)
        }
    }


    static func add(_ child: any ChildProcessHandle) {
        _ = exitHandler
        let owner = mc_getpid()
        lastStarter.store(owner, ordering: .relaxed)
        running.withLock { $0[ObjectIdentifier(child)] = (owner, child) }
    }

    static func remove(_ child: any ChildProcessHandle) {
        _ = running.withLock { $0.removeValue(forKey: ObjectIdentifier(child)) }
    }

    static var all: [any ChildProcessHandle] {
        let me = mc_getpid()
        return running.withLock { $0.values.filter { $0.owner == me }.map(\.child) }
    }
}

/// The children still running, after reaping those that ended. Corresponds to Python's
/// `multiprocessing.active_children()`.
public func activeChildren() -> [any ChildProcessHandle] {
    Children.all.filter { (try? $0.isAlive) == true }
}
