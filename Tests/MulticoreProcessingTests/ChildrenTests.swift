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

@Suite(.timeLimit(.minutes(1))) struct ChildrenTests {
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
