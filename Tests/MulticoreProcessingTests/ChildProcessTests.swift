import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreThreading

struct Doubler: ProcessTask {
    var number: Int
    func run() -> Int { number * 2 }
}

struct NameReporter: ProcessTask {
    func run() -> String { currentProcessName() }
}

struct DiskFull: Error, CustomStringConvertible {
    var description: String { "no space left on device" }
}

struct Thrower: ProcessTask {
    func run() throws -> Int { throw DiskFull() }
}

struct Trapper: ProcessTask {
    var index: Int
    func run() -> Int { [1, 2, 3][index] } // out of range: a Swift trap
}

/// Whether this test binary runs with ThreadSanitizer (`swift test --sanitize=thread`).
let runningUnderThreadSanitizer = dlsym(nil, "__tsan_init") != nil

/// Writes through a bad pointer: SIGSEGV.
struct Segfaulter: ProcessTask {
    var address: Int
    func run() -> Int {
        UnsafeMutablePointer<Int>(bitPattern: address)!.pointee = 1
        return 0
    }
}

struct Sleeper: ProcessTask {
    func run() -> Int {
        while true { pause() }
    }
}

struct BigResult: ProcessTask {
    var count: Int
    func run() -> [Double] { (0..<count).map(Double.init) }
}

struct Exiter: ProcessTask {
    var code: Int32
    func run() -> Int { exit(code) }
}

@Suite(.timeLimit(.minutes(5))) struct ChildProcessTests {
    @Test func aChildIsJoinedEvenWithoutAPidfd() throws {
        let sleeper = ChildProcess(task: Sleeper())
        try sleeper.start()
        sleeper.dropExitDescriptorForTesting()
        #expect(try !sleeper.join(timeout: .milliseconds(30)), "still running")
        #expect(try sleeper.isAlive)
        try sleeper.kill()
        #expect(try sleeper.join(timeout: testDeadline))
        #expect(try sleeper.exitCode == -SIGKILL)
        let doubler = ChildProcess(task: Doubler(number: 4))
        try doubler.start()
        doubler.dropExitDescriptorForTesting()
        #expect(try doubler.join(timeout: testDeadline))
        #expect(try doubler.result() == 8)
    }

    @Test func runsTheTaskInAChildAndReturnsItsResult() throws {
        let process = ChildProcess(task: Doubler(number: 21))
        #expect(process.name.hasPrefix("Process-"))
        #expect(try process.pid == nil && process.exitCode == nil && !process.isAlive)
        try process.start()
        let pid = try #require(process.pid)
        #expect(pid != getpid())
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == 0)
        #expect(try !process.isAlive)
        #expect(try process.result() == 42)
    }

    @Test func theChildKnowsItsName() throws {
        let process = ChildProcess(task: NameReporter(), name: "reporter-7")
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.result() == "reporter-7")
        #expect(currentProcessName() == "MainProcess")
    }

    @Test func misuseThrows() throws {
        let process = ChildProcess(task: Doubler(number: 1))
        #expect(throws: ProcessError.notStarted) { try process.join(timeout: .zero) }
        #expect(throws: ProcessError.notStarted) { try process.result() }
        #expect(throws: ProcessError.notStarted) { try process.kill() }
        try process.start()
        #expect(throws: ProcessError.alreadyStarted) { try process.start() }
        #expect(try process.join(timeout: testDeadline))
    }

    @Test func anErrorThrownInTheChildComesBackWithItsTypeAndMessage() throws {
        let process = ChildProcess(task: Thrower())
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == 1, "Python's exit code for a target that raised")
        #expect(throws: ProcessError.taskFailed(type: String(reflecting: DiskFull.self), message: "no space left on device")) {
            try process.result()
        }
    }

    @Test func aTrapInTheChildIsReportedWithItsSignal() throws {
        let process = ChildProcess(task: Trapper(index: 5))
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == -SIGILL)
        let report = try #require(exitReport { try process.result() })
        guard case .trapped(SIGILL, _) = report.reason else { Issue.record("\(report)"); return }
    }

    @Test(arguments: [StartMethod.spawn, .forkserver])
    func aSegfaultIsReportedWithItsSignal(method: StartMethod) throws {
        let process = ChildProcess(task: Segfaulter(address: 16), startMethod: method)
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        if runningUnderThreadSanitizer {
            // TSan catches the SEGV in the child, reports it and exits with its code, 66.
            #expect(try process.exitCode == 66)
            #expect(exitReport { try process.result() }?.reason == .exited(code: 66))
        } else {
            #expect(try process.exitCode == -SIGSEGV)
            #expect(exitReport { try process.result() }?.reason == .crashed(signal: SIGSEGV))
        }
    }

    @Test(arguments: [(SIGKILL, ExitReason.Stop.terminate), (SIGTERM, .terminate), (SIGINT, .interrupt)])
    func signalsEndARunningChild(signal: Int32, stop: ExitReason.Stop) throws {
        let process = ChildProcess(task: Sleeper())
        try process.start()
        #expect(try !process.join(timeout: .milliseconds(20)))
        #expect(try process.isAlive)
        switch signal {
        case SIGKILL: try process.kill()
        case SIGTERM: try process.terminate()
        default: try process.interrupt()
        }
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == -signal)
        let report = try #require(exitReport { try process.result() })
        #expect(report.reason == .stoppedByOwner(stop))
        #expect(report.exitCode == -signal)
        #expect("\(ProcessError.crashed(report))".hasPrefix("the process \(process.name) (pid \(report.worker.pid)) stopped by its owner"))
        try process.kill() // harmless once it has ended
    }

    @Test func isAliveAndTimedJoinsDoNotWaitBehindAnotherJoiner() throws {
        let process = ChildProcess(task: Sleeper())
        try process.start()
        let joiner = JoinableThread(daemon: true) { _ = try process.join() }
        try joiner.start()
        #expect(eventually { joiner.isAlive }) // the joiner is (about to be) waiting, untimed
        #expect(try process.isAlive)
        #expect(try !process.join(timeout: .milliseconds(20)))
        try process.kill()
        #expect(try joiner.join(timeout: testDeadline))
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == -SIGKILL)
    }

    @Test func aLargeResultNeverDeadlocksTheJoin() throws {
        let process = ChildProcess(task: BigResult(count: 1_000_000))
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.result().count == 1_000_000)
    }

    @Test func exitInTheChildIsItsExitCode() throws {
        let process = ChildProcess(task: Exiter(code: 7))
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == 7)
        let report = try #require(exitReport { try process.result() })
        #expect(report.reason == .exited(code: 7))
        #expect("\(ProcessError.exitedWithoutResult(report))" == "the process \(process.name) (pid \(report.worker.pid)) exited with code 7 without a result")
    }

    @Test func manyChildrenRunInParallel() throws {
        let processes = (1...5).map { ChildProcess(task: Doubler(number: $0 * 5)) }
        for process in processes { try process.start() }
        for process in processes { #expect(try process.join(timeout: testDeadline)) }
        #expect(try processes.map { try $0.result() } == [10, 20, 30, 40, 50])
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessActionTests {
    @Test func anActionThatReturnsNothingRunsInAChild() throws {
        let counter = try SharedValue(0)
        let child = ChildProcess(task: AddToCounter(counter: counter, amount: 5))
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == NoOutput())
        #expect(counter.value == 5)
    }
}

/// A `Codable` error: it crosses back to the parent as itself (issue 8).
enum Shortage: Error, Codable, Equatable {
    case missing(item: String, count: Int)
}

/// A `Codable` error that refuses to be decoded: the parent falls back to `taskFailed`.
struct Undecodable: Error, Codable, CustomStringConvertible {
    var reason: String
    init(reason: String) { self.reason = reason }
    init(from decoder: any Decoder) throws { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "never")) }
    var description: String { "undecodable: \(reason)" }
}

struct ThrowsShortage: ProcessTask {
    var count: Int
    func run() throws -> Int { throw Shortage.missing(item: "flour", count: count) }
}

struct ThrowsUndecodable: ProcessTask {
    func run() throws -> Int { throw Undecodable(reason: "by design") }
}

@Suite(.timeLimit(.minutes(5))) struct ErrorTypeTests {
    @Test(arguments: [StartMethod.spawn, .forkserver])
    func aCodableErrorComesBackAsItself(method: StartMethod) throws {
        let child = ChildProcess(task: ThrowsShortage(count: 3), startMethod: method)
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.exitCode == 1)
        #expect(throws: Shortage.missing(item: "flour", count: 3)) { try child.result() }
        do {
            _ = try child.result()
        } catch let shortage as Shortage {
            #expect(shortage == .missing(item: "flour", count: 3))
        }
    }

    @Test func anErrorThatCannotBeDecodedHereKeepsItsNameAndMessage() throws {
        let child = ChildProcess(task: ThrowsUndecodable())
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(throws: ProcessError.taskFailed(type: String(reflecting: Undecodable.self), message: "undecodable: by design")) {
            try child.result()
        }
    }
}
