#if canImport(Glibc)
import Glibc
#endif
import MulticoreProcessing
import MulticoreThreading

/// How long any wait in the tests may take before the test fails instead of hanging: a hang
/// fails the test instead of stalling CI. Its first use installs `childReaper`.
public let testDeadline: Duration = {
    _ = childReaper
    return .seconds(20)
}()

/// At exit a process waits for its non-daemon children, as Python does. A test that failed
/// may leave one blocked forever (the peer it waited for gave up): the run would then never
/// end. So, first thing at exit, children get 10 s to end on their own; any still running is
/// named on stderr and SIGKILLed, and the process exits with status 70: the run fails, loudly.
let childReaper: Void = Threading.registerAtExit(first: true) {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline, activeChildren().contains(where: { !$0.daemon }) { usleep(10_000) }
    let left = activeChildren().filter { !$0.daemon }
    guard !left.isEmpty else { return }
    for child in left {
        guard let pid = child.pid else { continue }
        let text = Array("test process \(getpid()) exiting: killed child \(child.name) (pid \(pid)), left running by a test\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        kill(pid, SIGKILL)
    }
    fflush(nil)
    _exit(70)
}

/// Polls (bounded) until `condition` holds: for states nothing announces, such as "the other
/// thread is now blocked inside wait".
public func eventually(within limit: Duration = testDeadline, _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        usleep(200)
    }
    return true
}

/// Polls (bounded) until `condition` holds, sleeping without holding a thread: the tasks under
/// test need the few threads of the cooperative pool (two on two cores).
public func eventually(within limit: Duration = testDeadline, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return true
}
