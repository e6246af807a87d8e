import CMulticore
#if canImport(Glibc)
import Glibc
#endif

/// What Multicore keeps per OS thread, made on first use, in one pthread key: the
/// `JoinableThread` of a thread Multicore did not start (the main thread or a dummy), the
/// thread's `ThreadLocal` values and its condition waiter. Released by the key's destructor
/// when the OS thread exits, which is also how a dummy thread leaves the registry.
///
/// Only its own thread ever touches it, so it needs no lock.
final class ThreadState {
    var thread: JoinableThread?
    var locals: [UInt64: AnyObject] = [:]
    /// The lock this thread sleeps on inside `Condition.wait`, kept from one wait to the next.
    /// A thread waits on one condition at a time, so one lock per thread is enough.
    lazy var conditionWaiter = Lock()

    init(thread: JoinableThread?) { self.thread = thread }

    deinit {
        if let thread, thread.kind == .dummy { thread.finish() }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<ThreadState>.fromOpaque(pointer).release() }
        }
        precondition(result == 0, "pthread_key_create failed: \(result)")
        return key
    }()

    /// The calling thread's state, created on first use.
    static var current: ThreadState {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<ThreadState>.fromOpaque(pointer).takeUnretainedValue()
        }
        let state = ThreadState(thread: nil)
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }

    /// The calling thread's state if it has one, without creating it.
    static var existing: ThreadState? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<ThreadState>.fromOpaque(pointer).takeUnretainedValue()
    }

    // MARK: The running JoinableThread

    /// The `JoinableThread` that Multicore started on this OS thread, unretained (its
    /// `bootstrap` holds it), without a destructor. Kept apart from `ThreadState` so that a new
    /// thread that uses no thread-local values or conditions allocates nothing: a first malloc
    /// in a thread sets up that thread's allocator cache, a measurable part of a thread start.
    private static let runningKey: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key, nil)
        precondition(result == 0, "pthread_key_create failed: \(result)")
        return key
    }()

    /// Called first thing in a thread Multicore started; `nil` when its `run()` is over.
    static func setRunning(_ thread: JoinableThread?) {
        pthread_setspecific(runningKey, thread.map { Unmanaged.passUnretained($0).toOpaque() })
    }

    /// The `JoinableThread` running on this OS thread, if Multicore started it.
    static var running: JoinableThread? {
        guard let pointer = pthread_getspecific(runningKey) else { return nil }
        return Unmanaged<JoinableThread>.fromOpaque(pointer).takeUnretainedValue()
    }
}
