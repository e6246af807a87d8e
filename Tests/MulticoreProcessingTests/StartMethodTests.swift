import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// In a spawned worker (which has one thread): forks a child that runs a closure using a value
/// it captured, and reports the result, the exit code and the child's name.
struct ForksAClosure: ProcessTask {
    var factor: Int
    func run() throws -> [String] {
        let captured = [1, 2, 3].map { $0 * factor }
        let child = ChildProcess(name: "forked") { () -> Int in
            precondition(currentProcessName() == "forked")
            return captured.reduce(0, +)
        }
        try child.start()
        guard try child.join(timeout: .seconds(20)) else { return ["timeout"] }
        let thrower = ChildProcess(forking: { () throws -> Int in throw DiskFull() })
        try thrower.start()
        _ = try thrower.join(timeout: .seconds(20))
        var failure = ""
        do { _ = try thrower.result() } catch { failure = "\(error)" }
        // A closure that returns nothing (issue 15): its result is NoOutput(). It reports through
        // a pipe (shared memory would start a tracker, so a thread, and fork would be refused).
        let (reader, writer) = try Connection.pipe()
        let silent = ChildProcess { try writer.send(factor) }
        try silent.start()
        _ = try silent.join(timeout: .seconds(20))
        return ["\(try child.result())", "\(try child.exitCode ?? 99)", "\(try thrower.exitCode ?? 99)", failure,
                "\(try silent.result())", "\(try reader.recv(Int.self))"]
    }
}

/// In a spawned worker: the start method settings, as Python's set_start_method.
struct StartMethodProbe: ProcessTask {
    func run() throws -> [String] {
        var seen = [getStartMethod().rawValue]
        try setStartMethod(.forkserver)
        seen.append(getStartMethod().rawValue)
        do { try setStartMethod(.spawn) } catch { seen.append("\(error)") }
        try setStartMethod(.fork, force: true)
        seen.append(getStartMethod().rawValue)
        return seen
    }
}

/// 100 forkserver lifecycles; nil when they all returned their result and left the process
/// with exactly the descriptors it had (the server and the spawner exist before the count).
func runForkServerLifecycles() throws -> String? {
    let first = ChildProcess(task: Doubler(number: 1), startMethod: .forkserver)
    try first.start()
    _ = try first.join(timeout: .seconds(20))
    let before = openDescriptorCount()
    for number in 0..<100 {
        let process = ChildProcess(task: Doubler(number: number), startMethod: .forkserver)
        try process.start()
        guard try process.join(timeout: .seconds(20)), try process.result() == number * 2 else { return "lifecycle \(number) failed" }
    }
    let after = openDescriptorCount()
    return after == before ? nil : "descriptors: \(before) before, \(after) after"
}

@Suite(.timeLimit(.minutes(5))) struct StartMethodTests {
    @Test func theForkServerRunsTasksLikeSpawn() throws {
        let process = ChildProcess(task: Doubler(number: 21), startMethod: .forkserver)
        #expect(process.startMethod == .forkserver)
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        #expect(try process.exitCode == 0)
        #expect(try process.result() == 42)

        let named = ChildProcess(task: NameReporter(), name: "served", startMethod: .forkserver)
        try named.start()
        #expect(try named.join(timeout: testDeadline))
        #expect(try named.result() == "served")
    }

    @Test func theForkServerReportsErrorsCrashesAndSignals() throws {
        let thrower = ChildProcess(task: Thrower(), startMethod: .forkserver)
        let trapper = ChildProcess(task: Trapper(index: 5), startMethod: .forkserver)
        let sleeper = ChildProcess(task: Sleeper(), startMethod: .forkserver)
        try thrower.start()
        try trapper.start()
        try sleeper.start()
        #expect(try thrower.join(timeout: testDeadline))
        #expect(try thrower.exitCode == 1)
        #expect(throws: ProcessError.taskFailed(type: String(reflecting: DiskFull.self), message: "no space left on device")) {
            try thrower.result()
        }
        #expect(try trapper.join(timeout: testDeadline))
        #expect(try trapper.exitCode == -SIGILL)
        let report = try #require(exitReport { try trapper.result() })
        guard case .trapped(SIGILL, let message?) = report.reason else { Issue.record("\(report)"); return }
        #expect(message.hasSuffix("Fatal error: Index out of range") && report.standardError.contains(message))
        #expect(try sleeper.isAlive)
        #expect(try !sleeper.join(timeout: .milliseconds(20)))
        try sleeper.terminate()
        #expect(try sleeper.join(timeout: testDeadline))
        #expect(try sleeper.exitCode == -SIGTERM)
    }

    @Test func aConnectionReachesAForkServerWorker() throws {
        let (mine, theirs) = try Connection.pipe()
        let child = ChildProcess(task: Echo(connection: theirs), startMethod: .forkserver)
        try child.start()
        theirs.close()
        try mine.send(21)
        #expect(try mine.poll(timeout: testDeadline))
        #expect(try mine.recv(Int.self) == 42)
        mine.close()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == 1)
    }

    @Test func manyForkServerLifecyclesLeaveNoDescriptorBehind() async {
        // Counted in a process of its own, exactly: in the test runner other tests open
        // descriptors meanwhile (a slack of 20 was exceeded once in 20 runs of the suite).
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            exitReporting(try runForkServerLifecycles(), as: "forkserver lifecycles")
        }
        if let failure = exitTestFailure(outcome?.standardOutputContent) {
            Issue.record("\(failure)")
        }
    }

    @Test func forkIsRefusedInAProcessWithOtherThreads() throws {
        // The test runner has many threads: a forked child would lose them, and their locks.
        let child = ChildProcess(forking: { 1 })
        #expect(child.startMethod == .fork)
        #expect(throws: ProcessError.self) { try child.start() }
        do { try child.start() } catch let error as ProcessError {
            guard case .forkWithThreads(let count) = error else { Issue.record("\(error)"); return }
            #expect(count > 1)
        }
        #expect(child.pid == nil)
    }

    /// Not under ThreadSanitizer: once the thread that reads the first forked child's stderr
    /// exists, TSan's own background thread does too, and the fork start method refuses a
    /// process with another thread (one fork, under TSan too: `ChildStandardErrorTests`).
    @Test(.disabled(if: runningUnderThreadSanitizer, "the fork start method refuses TSan's background thread"))
    func aSingleThreadedProcessForksAClosureWithItsCaptures() throws {
        let worker = ChildProcess(task: ForksAClosure(factor: 10))
        try worker.start()
        #expect(try worker.join(timeout: testDeadline))
        let report = try worker.result()
        #expect(report.count == 6)
        #expect(report.prefix(3) == ["60", "0", "1"])
        #expect(report.count > 3 && report[3].contains("no space left on device"))
        #expect(report.suffix(2) == ["NoOutput()", "10"], "a closure returning nothing ran in the fork")
    }

    @Test func aClosureCannotBeSpawned() throws {
        let child = ChildProcess(task: ForkClosure { 1 }, startMethod: .spawn)
        #expect(throws: EncodingError.self) { try child.start() }
    }

    @Test func theStartMethodIsSetOnce() throws {
        let worker = ChildProcess(task: StartMethodProbe())
        try worker.start()
        #expect(try worker.join(timeout: testDeadline))
        #expect(try worker.result() == ["spawn", "forkserver", "context has already been set", "fork"])
    }
}
