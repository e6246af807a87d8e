import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// Starts and ends a thousand children (spawned and forked by the fork server, some killed);
/// returns what went wrong, or nil.
func runLifecycles() throws -> String? {
    // Warm up: the spawner thread, the fork server and lazily opened descriptors exist from here on.
    for method in [StartMethod.spawn, .forkserver] {
        let first = ChildProcess(task: Doubler(number: 0), startMethod: method)
        try first.start()
        guard try first.join(timeout: testDeadline) else { return "first join timed out" }
    }
    let descriptorsBefore = openDescriptorCount()
    for round in 0..<960 {
        let process = ChildProcess(task: Doubler(number: round), startMethod: round % 2 == 0 ? .spawn : .forkserver)
        try process.start()
        guard try process.join(timeout: testDeadline) else { return "join timed out" }
        guard try process.result() == round * 2 else { return "wrong result" }
    }
    for round in 0..<40 {
        let process = ChildProcess(task: Sleeper(), startMethod: round % 2 == 0 ? .spawn : .forkserver)
        try process.start()
        try process.kill()
        guard try process.join(timeout: testDeadline) else { return "join of a killed child timed out" }
        guard try process.exitCode == -SIGKILL else { return "a killed child's exit code: \((try? process.exitCode) ?? 0)" }
    }
    let descriptorsAfter = openDescriptorCount()
    guard descriptorsAfter == descriptorsBefore else {
        return "descriptors: \(descriptorsBefore) before, \(descriptorsAfter) after"
    }
    guard zombieChildCount() == 0 else { return "zombies left" }
    return nil
}

/// Counted in a child process of its own (an exit test): other tests running at the same time
/// open descriptors and start children too.
@Suite(.timeLimit(.minutes(5))) struct LifecycleTests {
    @Test func aThousandLifecyclesLeakNoDescriptorAndLeaveNoZombie() async {
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            exitReporting(try runLifecycles(), as: "lifecycle check failed")
        }
        if let failure = exitTestFailure(outcome?.standardOutputContent) {
            Issue.record("\(failure)")
        }
    }
}
