import MulticoreThreading

/// What every `ChildProcess` is, whatever its task: the element of `activeChildren()`.
public protocol ChildProcessHandle: AnyObject, Sendable {
    /// The process's name. Python: `Process.name`.
    var name: String { get }
    /// The child's pid. Python: `Process.pid`.
    var pid: Int32? { get }
    /// Whether it is terminated rather than waited for at exit. Python: `Process.daemon`.
    var daemon: Bool { get }
    /// Whether it still runs. Python: `Process.is_alive()`.
    var isAlive: Bool { get }
    /// Python: `Process.exitcode`.
    var exitCode: Int32? { get }
    /// Python: `Process.join(timeout=None)`.
    @available(*, noasync, message: "blocks the thread")
    func join(timeout: Duration?) throws(ProcessError) -> Bool
    /// Python: `Process.terminate()`.
    func terminate() throws(ProcessError)
}

/// The children this process started and has not reaped yet. At exit, as in Python, daemon
/// children are terminated and the others are waited for.
enum Children {
    private static let running = Locked<[ObjectIdentifier: any ChildProcessHandle]>([:])

    private static let exitHandler: Void = Threading.registerAtExit {
        for child in Children.all {
            if child.daemon { try? child.terminate() }
            _ = try? child.join(timeout: nil)
        }
    }

    static func add(_ child: any ChildProcessHandle) {
        _ = exitHandler
        running.withLock { $0[ObjectIdentifier(child)] = child }
    }

    static func remove(_ child: any ChildProcessHandle) {
        _ = running.withLock { $0.removeValue(forKey: ObjectIdentifier(child)) }
    }

    static var all: [any ChildProcessHandle] { running.withLock { Array($0.values) } }
}

/// The children still running, after reaping those that ended. Corresponds to Python's
/// `multiprocessing.active_children()`.
public func activeChildren() -> [any ChildProcessHandle] {
    Children.all.filter(\.isAlive)
}
