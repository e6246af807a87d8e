import CMulticore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Module-level functions of Python's `threading`: the current, main and active threads, ids,
/// the stack size for new threads, and the uncaught-error hook.
///
/// ## At process exit
/// When the first non-daemon thread starts, Multicore registers an `atexit` handler. When the
/// process exits normally (`main` returns, or `exit` is called), that handler, like Python's
/// `threading._shutdown`:
/// 1. runs the callbacks registered by executors (a `ThreadPoolExecutor` is shut down so that
///    its queued work completes and its idle workers leave), then
/// 2. joins every non-daemon thread that is still alive, other than the exiting thread.
/// Daemon threads are not waited for: they stop, wherever they are, when the process ends.
/// `_exit`, a signal or a crash ends the process without waiting, as in Python.
/// - Warning: a non-daemon thread that never returns keeps the process from exiting.
public enum Threading {
    // MARK: Names

    private static let nameCounter = Atomic<Int>(0)

    /// Python's `threading._newname`: one counter shared by "Thread-N" and "Dummy-N".
    static func newName(_ prefix: String) -> String {
        "\(prefix)-\(nameCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }

    // MARK: The registry of live threads

    /// Every started thread still alive, plus the main thread and live dummy threads.
    final class Registry: Sendable {
        private let threads = Locked<[ObjectIdentifier: JoinableThread]>([:])
        func add(_ thread: JoinableThread) { threads.withLock { $0[ObjectIdentifier(thread)] = thread } }
        func remove(_ thread: JoinableThread) { _ = threads.withLock { $0.removeValue(forKey: ObjectIdentifier(thread)) } }
        var all: [JoinableThread] { threads.withLock { Array($0.values) } }
        var count: Int { threads.withLock { $0.count } }
    }

    static let registry: Registry = {
        let registry = Registry()
        registry.add(mainThread)
        return registry
    }()

    /// The process's main thread, named "MainThread". Corresponds to Python's
    /// `threading.main_thread()`.
    public static let mainThread: JoinableThread = {
        let thread = JoinableThread(existing: .main, name: "MainThread",
                                    ident: UInt(mc_main_pthread()), nativeID: getpid())
        return thread
    }()

    /// The thread calling this: the `JoinableThread` Multicore started, the main thread, or, for
    /// a thread started elsewhere (Foundation, Dispatch, Swift Concurrency), a "Dummy-N" thread
    /// made on first call, daemon and alive until that OS thread ends.
    /// Corresponds to Python's `threading.current_thread()`.
    public static var currentThread: JoinableThread {
        if let thread = ThreadState.running { return thread }
        if let thread = ThreadState.existing?.thread { return thread }
        let state = ThreadState.current
        if mc_is_main_thread() != 0 {
            _ = registry
            state.thread = mainThread
            return mainThread
        }
        let dummy = JoinableThread(existing: .dummy, name: newName("Dummy"),
                                   ident: UInt(pthread_self()), nativeID: mc_gettid())
        state.thread = dummy
        registry.add(dummy)
        return dummy
    }

    /// How many threads are alive: the main thread, every started thread that has not ended,
    /// and every thread `currentThread` was asked about from outside Multicore.
    /// Corresponds to Python's `threading.active_count()`.
    public static func activeCount() -> Int { registry.count }

    /// Every alive thread that `activeCount` counts. Corresponds to Python's
    /// `threading.enumerate()`.
    public static func enumerate() -> [JoinableThread] { registry.all }

    /// The calling thread's identifier (`pthread_self`). Corresponds to Python's
    /// `threading.get_ident()`.
    public static func getIdent() -> UInt { UInt(pthread_self()) }

    /// The calling thread's kernel id (its tid). Corresponds to Python's
    /// `threading.get_native_id()`.
    public static func getNativeID() -> Int32 { mc_gettid() }

    /// The longest timeout the blocking calls accept (about 292 years). Corresponds to Python's
    /// `threading.TIMEOUT_MAX`; a larger one is refused with a `timeoutTooLarge` error, as
    /// Python raises `OverflowError`. No timeout (nil) means no limit.
    public static let timeoutMax = Duration.seconds(Int64.max / 1_000_000_000)

    // MARK: Stack size

    private static let stackSizeSetting = Atomic<Int>(0)

    static var currentStackSize: Int { stackSizeSetting.load(ordering: .relaxed) }

    /// Returns the stack size used for threads started from now on (0: the system default) and,
    /// if `size` is given, sets it. Corresponds to Python's `threading.stack_size([size])`.
    /// - Throws: `ThreadingError.invalidStackSize` for a size other than 0 below 32 KiB.
    @discardableResult
    public static func stackSize(_ size: Int? = nil) throws(ThreadingError) -> Int {
        guard let size else { return currentStackSize }
        guard size == 0 || size >= 32 * 1024 else { throw .invalidStackSize(size) }
        return stackSizeSetting.exchange(size, ordering: .relaxed)
    }

    // MARK: Process exit

    private static let exitCallbacks = Locked<[@Sendable () -> Void]>([])

    /// Registers `callback` to run at process exit before non-daemon threads are joined, after
    /// the callbacks registered before it (or before all of them, with `first`).
    /// Corresponds to Python's `threading._register_atexit`.
    package static func registerAtExit(first: Bool = false, _ callback: @escaping @Sendable () -> Void) {
        installExitHandler()
        exitCallbacks.withLock { first ? $0.insert(callback, at: 0) : $0.append(callback) }
    }

    private static let exitHandlerInstalled: Bool = {
        atexit { Threading.shutdownAtExit() }
        return true
    }()

    static func installExitHandler() { _ = exitHandlerInstalled }

    /// Python's `threading._shutdown`.
    private static func shutdownAtExit() {
        let callbacks = exitCallbacks.withLock { callbacks in
            defer { callbacks.removeAll() }
            return callbacks
        }
        for callback in callbacks { callback() }
        let me = currentThread
        for thread in registry.all where thread.kind == .regular && !thread.daemon && thread !== me {
            _ = try? thread.join() // cannot throw: started, not a dummy, not the current thread
        }
    }
}
