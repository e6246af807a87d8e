import MulticoreThreading

/// Python's pool states and their rules, shared by `Pool` and `ThreadPool`: running, then
/// closed (no new work; given work finishes) or terminated (stopped now).
final class PoolLifecycle: @unchecked Sendable { // `state` is guarded by `lock`
    private enum State { case running, closed, terminated }

    private let lock = Lock()
    private var state = State.running

    /// - Throws: `PoolStateError.notRunning` after `close` or `terminate`.
    func ensureRunning() throws(PoolStateError) {
        try lock.withLock { () throws(PoolStateError) in
            guard state == .running else { throw .notRunning }
        }
    }

    func close() { lock.withLock { if state == .running { state = .closed } } }

    /// Python's name for the state, as its pools' repr shows it: RUN, CLOSE or TERMINATE.
    var pythonState: String {
        switch lock.withLock({ state }) {
        case .running: "RUN"
        case .closed: "CLOSE"
        case .terminated: "TERMINATE"
        }
    }

    func terminate() { lock.withLock { state = .terminated } }

    /// - Throws: `PoolStateError.stillRunning` before `close` or `terminate` (what `join` checks).
    func ensureEnding() throws(PoolStateError) {
        guard lock.withLock({ state != .running }) else { throw .stillRunning }
    }
}
