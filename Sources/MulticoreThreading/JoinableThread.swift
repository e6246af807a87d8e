import SystemPackage
import CMulticore
#if canImport(Glibc)
import Glibc
#endif

/// A thread of control with Python's semantics: started once, joined by any number of threads
/// with an optional timeout, named, daemon or not. Corresponds to Python's `threading.Thread`.
///
/// Give it a target closure, or subclass it and override `run()`. Whatever `run()` throws is
/// kept in `error` after the thread ends (Python loses it) and passed to
/// `Threading.excepthook`. To get a value back, use `ValueThread`.
///
/// At process exit (when `main` returns or `exit` is called), Multicore waits for every
/// non-daemon thread to finish, as Python does; daemon threads are simply stopped with the
/// process. See `Threading` for the exact sequence.
///
/// Named `JoinableThread` so as not to clash with Foundation's `Thread`, which cannot be joined.
open class JoinableThread: @unchecked Sendable { // mutable state is guarded by `stateLock`
    enum Kind { case regular, main, dummy }
    enum Phase { case created, started, finished }

    let kind: Kind
    /// Dropped once it has run (Python's `del self._target`): what it captured, the object that
    /// owns this thread included, is released with the thread's end, not the thread's handle.
    /// Only the thread itself touches it once started.
    private var target: (@Sendable () throws -> Void)?
    private let stackSize: Int?
    private let stateLock = Lock()
    private var _name: String
    private var _daemon: Bool
    private var phase: Phase
    private var _ident: UInt?
    private var _nativeID: Int32?
    private var _error: (any Error)?
    /// The joinable pthread, until a joiner claims it to wait in `pthread_join` (which returns
    /// once the OS thread is gone and its stack back in glibc's cache, as a raw join does) or the
    /// thread claims it at its end and detaches.
    private var unreaped: pthread_t?
    /// Set by a thread that ended before `start` stored its handle (so `start` detaches it).
    private var endedUnclaimed = false
    /// Set once the new thread knows its native id.
    private let startedFlag = CompletionFlag()
    /// Set once `run()` returned and the thread left the registry: what `join` waits on.
    let finishedFlag = CompletionFlag()

    /// Creates a thread that will run `target` (or, in a subclass, `run()`) once started.
    /// Corresponds to Python's `threading.Thread(target=None, name=None, daemon=None)`.
    /// - Parameters:
    ///   - name: the thread's name; nil or empty gives "Thread-N", numbered as Python numbers them.
    ///   - daemon: whether the process may exit while the thread runs; nil inherits the flag
    ///     of the thread that creates it (the main thread is not a daemon).
    ///   - stackSize: this thread's stack size in bytes; nil uses `Threading.stackSize()`.
    ///     A Multicore extension (Foundation's `Thread.stackSize`); Python only has the global.
    ///   - target: the work; when nil, `run()` does nothing unless a subclass overrides it.
    public init(name: String? = nil, daemon: Bool? = nil, stackSize: Int? = nil,
                target: (@Sendable () throws -> Void)? = nil) {
        self.kind = .regular
        self.target = target
        self.stackSize = stackSize
        self._name = name.flatMap { $0.isEmpty ? nil : $0 } ?? Threading.newName("Thread") // Python: `name or _newname()`
        self._daemon = daemon ?? Threading.currentThread.daemon
        self.phase = .created
    }

    /// The main thread or a thread Multicore did not create, already running.
    init(existing kind: Kind, name: String, ident: UInt, nativeID: Int32) {
        self.kind = kind
        self.target = nil
        self.stackSize = nil
        self._name = name
        self._daemon = kind == .dummy
        self.phase = .started
        self._ident = ident
        self._nativeID = nativeID
        startedFlag.set()
    }

    /// The thread's activity. The default calls the target given to `init`; subclasses override
    /// it. Runs in the new thread. Corresponds to Python's `Thread.run()`.
    open func run() throws {
        try target?()
    }

    // MARK: Life cycle

    /// Starts the thread; `run()` executes in a new OS thread. Corresponds to Python's
    /// `Thread.start()`.
    /// - Throws: `ThreadingError.alreadyStarted` on a second call; `.invalidStackSize` for a
    ///   `stackSize` below 32 KiB; `.cannotStartThread` when the system refuses a thread.
    public func start() throws(ThreadingError) {
        if let stackSize, stackSize < 32 * 1024 { throw .invalidStackSize(stackSize) }
        try stateLock.withLock { () throws(ThreadingError) in
            guard kind == .regular, phase == .created else { throw .alreadyStarted }
            phase = .started
        }
        Threading.registry.add(self)
        if !daemon { Threading.installExitHandler() }

        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        let stackSize = self.stackSize ?? Threading.currentStackSize
        if stackSize > 0 { pthread_attr_setstacksize(&attributes, stackSize) }

        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, &attributes, { context in
            Unmanaged<JoinableThread>.fromOpaque(context!).takeRetainedValue().bootstrap()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<JoinableThread>.fromOpaque(context).release()
            Threading.registry.remove(self)
            stateLock.withLock { phase = .created }
            throw .cannotStartThread(errno: Errno(rawValue: result))
        }
        let endedAlready = stateLock.withLock { () -> Bool in
            if _ident == nil { _ident = UInt(handle) }
            if endedUnclaimed { return true }
            unreaped = handle
            return false
        }
        // The thread ended before its handle was stored here: it could not detach itself.
        if endedAlready { pthread_detach(handle) }
    }

    /// Hands the pthread to whoever reaps it: a joiner, which then waits in `pthread_join`, or
    /// the thread itself as it ends, which then detaches. Exactly one of them gets it.
    private func claimHandle() -> pthread_t? {
        stateLock.withLock { () -> pthread_t? in
            defer { unreaped = nil }
            return unreaped
        }
    }

    /// The first code of the new thread.
    private func bootstrap() {
        let me = pthread_self()
        ThreadState.setRunning(self)
        // The OS name is set under the lock, as the `name` setter does: a rename racing with
        // this start can then never be overwritten by the name read before it.
        stateLock.withLock {
            _ident = UInt(me)
            _nativeID = mc_gettid()
            Self.setOSName(_name, of: me)
        }
        startedFlag.set()
        do {
            try run()
        } catch {
            stateLock.withLock { _error = error }
            Threading.excepthook(ExceptHookArguments(error: error, thread: self))
        }
        target = nil
        finish()
        ThreadState.setRunning(nil)
        // No joiner is waiting in pthread_join: let the system reclaim the thread as it exits
        // (later joiners return on `finishedFlag`). Nothing ends unreaped, even at process exit.
        let handle = stateLock.withLock { () -> pthread_t? in
            defer { unreaped = nil }
            if unreaped == nil { endedUnclaimed = true }
            return unreaped
        }
        if let handle { pthread_detach(handle) }
    }

    /// Leaves the registry and wakes the joiners. Also used when a dummy thread's OS thread ends.
    func finish() {
        Threading.registry.remove(self)
        stateLock.withLock { phase = .finished }
        finishedFlag.set()
    }

    /// Waits until the thread ends, or until `timeout` passes (nil: no limit); returns whether
    /// it ended. Any number of threads may join the same thread. Corresponds to Python's
    /// `Thread.join(timeout=None)`, which returns nothing (call `is_alive()` after it there);
    /// a negative timeout counts as zero, as in Python.
    /// - Throws: `ThreadingError.joinBeforeStart`, `.joinCurrentThread`, `.joinDummyThread`,
    ///   `.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread; await a Future instead")
    @discardableResult
    public func join(timeout: Duration? = nil) throws(ThreadingError) -> Bool {
        if let timeout, timeout.isBeyondTimeoutMax { throw .timeoutTooLarge }
        if kind == .dummy { throw .joinDummyThread }
        guard stateLock.withLock({ phase }) != .created else { throw .joinBeforeStart }
        if self === Threading.currentThread { throw .joinCurrentThread }
        if timeout == nil, let handle = claimHandle() {
            // The first untimed joiner waits in pthread_join itself: one sleep, woken by the
            // kernel when the thread is gone, exactly as a raw join.
            pthread_join(handle, nil)
            return true
        }
        guard finishedFlag.wait(until: .after(timeout.map { max($0, .zero) })) else { return false }
        if let handle = claimHandle() { pthread_join(handle, nil) }
        return true
    }

    /// Whether `run()` has started and not yet ended. Corresponds to Python's `Thread.is_alive()`.
    public var isAlive: Bool {
        stateLock.withLock { phase == .started }
    }

    /// The error `run()` threw, once the thread has ended; nil if it returned normally.
    /// Python has no equivalent (the error only reaches `excepthook`).
    public var error: (any Error)? {
        stateLock.withLock { _error }
    }

    // MARK: Identity

    /// The thread's name, used in messages and set as the OS thread name (truncated to 15
    /// bytes). Settable at any time. Corresponds to Python's `Thread.name`.
    public var name: String {
        get { stateLock.withLock { _name } }
        set {
            stateLock.withLock {
                _name = newValue
                if phase == .started, let ident = _ident, kind != .main { Self.setOSName(newValue, of: pthread_t(ident)) }
            }
        }
    }

    /// Whether this is a daemon thread, which does not keep the process alive at exit.
    /// Corresponds to Python's `Thread.daemon`.
    public var daemon: Bool { stateLock.withLock { _daemon } }

    /// Sets the daemon flag. Corresponds to assigning Python's `Thread.daemon`.
    /// - Throws: `ThreadingError.daemonAfterStart` once the thread has started.
    public func setDaemon(_ daemonic: Bool) throws(ThreadingError) {
        try stateLock.withLock { () throws(ThreadingError) in
            guard phase == .created, kind == .regular else { throw .daemonAfterStart }
            _daemon = daemonic
        }
    }

    /// The thread's identifier (its `pthread_t`), nil before start. It may be reused by a later
    /// thread once this one has ended. Corresponds to Python's `Thread.ident`.
    public var ident: UInt? { stateLock.withLock { _ident } }

    /// The kernel's id of the thread (its tid), nil before start. Corresponds to Python's
    /// `Thread.native_id`.
    public var nativeID: Int32? {
        if stateLock.withLock({ phase == .created }) { return nil }
        _ = startedFlag.wait(until: .never) // published by the new thread within microseconds
        return stateLock.withLock { _nativeID }
    }

    /// Sets the OS-visible name (what `top -H` and `/proc/PID/task/TID/comm` show): the first
    /// 15 bytes of its UTF-8, cut before a Unicode scalar that would not fit whole.
    static func setOSName(_ name: String, of thread: pthread_t) {
        var name = name
        name.withUTF8 { utf8 in
            var length = min(utf8.count, 15)
            // Back up over UTF-8 continuation bytes (0b10xxxxxx) so no character is cut in half.
            while length < utf8.count, length > 0, utf8[length] & 0xC0 == 0x80 { length -= 1 }
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16) { buffer in
                for index in 0..<length { buffer[index] = CChar(bitPattern: utf8[index]) }
                buffer[length] = 0
                _ = mc_thread_setname(thread, buffer.baseAddress!)
            }
        }
    }
}

extension JoinableThread: CustomStringConvertible {
    /// Like Python's repr: `<Thread(Thread-1, started daemon 1403...)>`, with a subclass's own
    /// name in place of `Thread`.
    public var description: String {
        let (name, phase, daemon, ident) = stateLock.withLock { () -> (String, Phase, Bool, UInt?) in
            (_name, self.phase, _daemon, _ident)
        }
        var status: String
        switch phase {
        case .created: status = "initial"
        case .started: status = "started"
        case .finished: status = "stopped"
        }
        if daemon { status += " daemon" }
        if let ident { status += " \(ident)" }
        let kindName = switch kind {
        // Python names the subclass (`self.__class__.__name__`); this class stands for `Thread`.
        case .regular: type(of: self) == JoinableThread.self ? "Thread" : String(describing: type(of: self))
        case .main: "_MainThread"
        case .dummy: "_DummyThread"
        }
        return "<\(kindName)(\(name), \(status))>"
    }
}

/// A thread whose target returns a value, available after it ends.
/// Python has no equivalent: a `threading.Thread` discards what its target returns.
public final class ValueThread<Value: Sendable>: JoinableThread, @unchecked Sendable { // `outcome` is guarded by `valueLock`
    private let valueTarget: @Sendable () throws -> Value
    private let valueLock = Lock()
    private var outcome: Value?

    /// Creates a thread that runs `target` and keeps what it returns.
    public init(name: String? = nil, daemon: Bool? = nil, target: @escaping @Sendable () throws -> Value) {
        self.valueTarget = target
        super.init(name: name, daemon: daemon, target: nil)
    }

    /// Runs the target and keeps its value. Corresponds to Python's `Thread.run()`.
    public override func run() throws {
        let value = try valueTarget()
        valueLock.withLock { outcome = value }
    }

    /// What the target returned, once the thread has ended.
    /// - Throws: the error the target threw; `ThreadingError.notFinished` while it still runs
    ///   or before it started.
    public func value() throws -> Value {
        guard finishedFlag.isSet else { throw ThreadingError.notFinished }
        if let error { throw error }
        return valueLock.withLock { outcome! }
    }
}
