import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// Sleeps 100 ms, then writes `message` to standard error.
struct SlowWriter: ProcessTask {
    var message: String
    func run() -> Int {
        usleep(100_000)
        let bytes = Array(message.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return 0
    }
}

@Suite(.timeLimit(.minutes(5))) struct ChildrenTests {
    @Test func activeChildrenListsTheRunningOnes() throws {
        let first = ChildProcess(task: Sleeper())
        let second = ChildProcess(task: Sleeper())
        try first.start()
        try second.start()
        let pids = Set(activeChildren().compactMap(\.pid))
        #expect(pids.isSuperset(of: [first.pid!, second.pid!]))
        try first.kill()
        #expect(try first.join(timeout: testDeadline))
        let after = Set(activeChildren().compactMap(\.pid))
        #expect(!after.contains(first.pid!))
        #expect(after.contains(second.pid!))
        try second.kill()
        #expect(try second.join(timeout: testDeadline))
    }

    @Test func daemonFlagIsSetBeforeStart() throws {
        let process = ChildProcess(task: Doubler(number: 1))
        #expect(!process.daemon)
        try process.setDaemon(true)
        #expect(process.daemon)
        try process.start()
        #expect(throws: ProcessError.alreadyStarted) { try process.setDaemon(false) }
        #expect(try process.join(timeout: testDeadline))
    }

    @Test func exitWaitsForNonDaemonChildren() async {
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try ChildProcess(task: SlowWriter(message: "non-daemon child done\n")).start()
            exit(0)
        }
        let stderr = String(decoding: outcome?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("non-daemon child done"))
    }

    @Test func exitTerminatesDaemonChildren() async {
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            try ChildProcess(task: SlowWriter(message: "daemon child done\n"), daemon: true).start()
            exit(0)
        }
        let stderr = String(decoding: outcome?.standardErrorContent ?? [], as: UTF8.self)
        #expect(!stderr.contains("daemon child done"))
    }
}

/// In the child: its own name, its first child's name, and its parent's pid.
struct Family: ProcessTask {
    func run() throws -> [String] {
        let child = ChildProcess(task: NameReporter())
        try child.start()
        _ = try child.join(timeout: testDeadline)
        return [currentProcessName(), try child.result(), String(parentProcessID() ?? -1)]
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessNamingTests {
    @Test func grandchildrenAreNamedAfterTheirParent() throws {
        let process = ChildProcess(task: Family())
        let name = process.name
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.result() == [name, name + ":1", String(getpid())])
        #expect(parentProcessID() == nil, "the test process was not spawned by Multicore")
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessCloseTests {
    @Test func closeThrowsWhileRunningAndClosesTheHandleAfter() throws {
        let process = ChildProcess(task: Sleeper())
        try process.start()
        #expect(throws: ProcessError.stillRunning) { try process.close() }
        try process.kill()
        #expect(try process.join(timeout: testDeadline))
        try process.close()
        #expect(throws: ProcessError.closed) { try process.join(timeout: .zero) }
        #expect(throws: ProcessError.closed) { try process.result() }
        #expect(throws: ProcessError.closed) { try process.kill() }
        #expect(throws: ProcessError.closed) { try process.start() }
        // Python: `is_alive()` and `exitcode` raise after `close()` (they used to answer as if
        // the process had ended cleanly).
        #expect(throws: ProcessError.closed) { try process.isAlive }
        #expect(throws: ProcessError.closed) { try process.exitCode }
        try process.close() // a second close is harmless
    }
}
