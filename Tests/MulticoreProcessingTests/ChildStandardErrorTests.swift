import Logging
import SystemPackage
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// Writes `count` bytes of numbered lines to its standard error, then exits with `code`.
struct Chatterbox: ProcessTask {
    var count: Int
    var code: Int32
    func run() -> Int {
        let bytes = Self.text(count)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            guard written > 0 else { break }
            offset += written
        }
        exit(code)
    }

    /// "line 0000001\n", "line 0000002\n"..., cut at `count` bytes.
    static func text(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var line = 0
        while bytes.count < count {
            line += 1
            let number = String(line)
            bytes += Array(("line " + String(repeating: "0", count: max(0, 7 - number.count)) + number + "\n").utf8)
        }
        return Array(bytes.prefix(count))
    }
}

/// How a child ended, as seen from the process that started it (an `ExitReport` is not Codable).
struct SeenEnd: Codable, Equatable {
    var exitCode: Int32?
    /// The report's reason, described.
    var reason: String
    /// The trap's message, when the reason is `.trapped`.
    var trapMessage: String?
    /// The report's end of standard error.
    var tail: String
    /// What reached the starting process's own standard error from the child.
    var passedOn: [UInt8]

    /// Runs `child` to its end with this process's stderr going to a temporary file; what came.
    /// `meanwhile` runs between the start and the join.
    static func of<T: ProcessTask>(_ child: ChildProcess<T>, meanwhile: () throws -> Void = {}) throws -> SeenEnd {
        guard let file = tmpfile() else { throw ProcessError.spawnFailed(errno: .noSpace) }
        defer { fclose(file) }
        let saved = dup(STDERR_FILENO)
        dup2(fileno(file), STDERR_FILENO)
        defer { dup2(saved, STDERR_FILENO); close(saved) }
        try child.start()
        do { try meanwhile() } catch { try? child.kill(); _ = try? child.join(timeout: .seconds(20)); throw error }
        guard try child.join(timeout: .seconds(20)) else { try? child.kill(); throw ProcessError.stillRunning }
        var report: ExitReport?
        do { _ = try child.result() } catch ProcessError.crashed(let ended) { report = ended } catch ProcessError.exitedWithoutResult(let ended) {
            report = ended
        }
        var passedOn: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fileno(file), $0.baseAddress, $0.count, off_t(passedOn.count)) }
            guard count > 0 else { break }
            passedOn += buffer[..<count]
        }
        var message: String?
        if case .trapped(_, let line)? = report?.reason { message = line }
        return SeenEnd(exitCode: try child.exitCode, reason: report.map { "\($0.reason)" } ?? "a result", trapMessage: message,
                       tail: report?.standardError ?? "", passedOn: passedOn)
    }
}

/// In a spawned child of the tests (one thread: it may fork): runs `what` in a child started
/// with `method`, its own stderr going to a file; how that child ended, and what it passed on.
struct StandardErrorProbe: ProcessTask {
    enum Child: String, Codable { case trapper, chatterbox }
    var child: Child
    var method: StartMethod
    func run() throws -> SeenEnd {
        switch (child, method) {
        case (.trapper, .fork): try SeenEnd.of(ChildProcess(forking: { Trapper(index: 5).run() }))
        case (.trapper, _): try SeenEnd.of(ChildProcess(task: Trapper(index: 5), startMethod: method))
        case (.chatterbox, .fork): try SeenEnd.of(ChildProcess(forking: { Chatterbox(count: 200_000, code: 3).run() }))
        case (.chatterbox, _): try SeenEnd.of(ChildProcess(task: Chatterbox(count: 200_000, code: 3), startMethod: method))
        }
    }

    /// What a probe of `child` started with `method` saw, from a spawned probe.
    static func run(_ child: Child, _ method: StartMethod) throws -> SeenEnd {
        let probe = ChildProcess(task: StandardErrorProbe(child: child, method: method))
        try probe.start()
        // Longer than the probe's own join of its child (20 s, then it kills it and reports):
        // with the outer wait no longer than the inner one, a probe slowed by a loaded machine
        // (the whole suite under ThreadSanitizer on 2 cores) failed here before it could say why.
        #expect(try probe.join(timeout: nestedTestDeadline))
        return try probe.result()
    }
}

/// Waits for a number on `gate`, then chatters as `Chatterbox` does.
struct GatedChatterbox: ProcessTask {
    var gate: Connection
    var count: Int
    func run() throws -> Int {
        _ = try gate.recv(Int.self)
        return Chatterbox(count: count, code: 3).run()
    }
}

/// In a spawned child of the tests: a child started with `method` whose join timed out (the
/// joiner reads a child's stderr while it waits) writes 200 KB to its stderr with nobody
/// joining it; throws unless it ends (its sentinel) on its own.
struct UnjoinedChatterProbe: ProcessTask {
    var method: StartMethod
    func run() throws -> SeenEnd {
        let (mine, theirs) = try Connection.pipe()
        let task = GatedChatterbox(gate: theirs, count: 200_000)
        if method == .fork { return try Self.watch(ChildProcess(forking: { try task.run() }), mine, theirs) }
        return try Self.watch(ChildProcess(task: task, startMethod: method), mine, theirs)
    }

    private static func watch<T: ProcessTask>(_ child: ChildProcess<T>, _ mine: Connection, _ theirs: Connection) throws -> SeenEnd {
        try SeenEnd.of(child) {
            theirs.close()
            guard try child.join(timeout: .zero) == false else { throw ProcessError.alreadyStarted }
            try mine.send(1)
            // More than a pipe holds: the child ends only if its stderr is read meanwhile.
            guard try !Connection.wait([child.sentinel], timeout: .seconds(20)).isEmpty else { throw ProcessError.stillRunning }
        }
    }
}

/// The `ExitReport` that `body` (a `result()`) throws with, if it throws one.
func exitReport(_ body: () throws -> Any) -> ExitReport? {
    do {
        _ = try body()
    } catch ProcessError.crashed(let report) {
        return report
    } catch ProcessError.exitedWithoutResult(let report) {
        return report
    } catch {}
    return nil
}

@Suite(.timeLimit(.minutes(5))) struct ChildStandardErrorTests {
    /// A Swift trap's own line reaches the caller, with every start method; what the child wrote
    /// still reached the stderr of the process that started it.
    @Test(arguments: StartMethod.allCases)
    func aTrapComesBackWithItsFatalErrorLine(method: StartMethod) throws {
        let seen = try StandardErrorProbe.run(.trapper, method)
        #expect(seen.exitCode == -SIGILL)
        #expect(seen.trapMessage?.contains("Fatal error: Index out of range") == true, "\(seen.reason)")
        #expect(seen.reason.hasPrefix("trapped (SIGILL): "))
        #expect(seen.tail.contains("Fatal error: Index out of range"))
        #expect(String(decoding: seen.passedOn, as: UTF8.self).contains("Fatal error: Index out of range"))
    }

    /// The trap's report, in this process: the error's report and its description.
    @Test func aSpawnedTrapThrowsItsReport() throws {
        let process = ChildProcess(task: Trapper(index: 5), name: "trapper")
        try process.start()
        #expect(try process.join(timeout: testDeadline))
        let report = try #require(exitReport { try process.result() })
        #expect(report.worker == WorkerIdentity(pid: try #require(process.pid), name: "trapper"))
        #expect(report.exitCode == -SIGILL)
        guard case .trapped(SIGILL, let message?) = report.reason else { Issue.record("\(report.reason)"); return }
        #expect(message.contains("Fatal error: Index out of range"))
        #expect(report.standardError.contains(message))
        do { _ = try process.result() } catch {
            #expect("\(error)".hasPrefix("the process trapper (pid \(report.worker.pid)) trapped (SIGILL): "), "\(error)")
            #expect("\(error)".hasSuffix("Fatal error: Index out of range"), "\(error)")
        }
    }

    /// 200 KB of stderr (three times a pipe's 64 KiB) never blocks the child: all of it is
    /// passed on, byte for byte, and the report keeps the last 4 KiB.
    @Test(arguments: StartMethod.allCases)
    func muchStandardErrorNeverBlocksAndItsTailIsKept(method: StartMethod) throws {
        let seen = try StandardErrorProbe.run(.chatterbox, method)
        let written = Chatterbox.text(200_000)
        #expect(seen.exitCode == 3)
        #expect(seen.reason == "exited with code 3")
        #expect(seen.passedOn == written)
        #expect(Array(seen.tail.utf8) == Array(written.suffix(OutputTap.tailLimit)))
    }

    /// A join that timed out hands the child's stderr back to the reader thread: 200 KB written
    /// afterwards, with nobody joining, never blocks the child, and all of it is passed on.
    @Test(arguments: StartMethod.allCases)
    func standardErrorIsReadOnAfterAJoinTimedOut(method: StartMethod) throws {
        let probe = ChildProcess(task: UnjoinedChatterProbe(method: method))
        try probe.start()
        #expect(try probe.join(timeout: nestedTestDeadline)) // longer than the probe's own join (as in `StandardErrorProbe.run`)
        let seen = try probe.result()
        let written = Chatterbox.text(200_000)
        #expect(seen.exitCode == 3)
        #expect(seen.passedOn == written)
        #expect(Array(seen.tail.utf8) == Array(written.suffix(OutputTap.tailLimit)))
    }

    @Test func terminateIsTheOwnersStop() throws {
        for (signal, stop) in [(SIGTERM, ExitReason.Stop.terminate), (SIGKILL, .terminate), (SIGINT, .interrupt)] {
            let process = ChildProcess(task: Sleeper())
            try process.start()
            switch signal {
            case SIGTERM: try process.terminate()
            case SIGKILL: try process.kill()
            default: try process.interrupt()
            }
            #expect(try process.join(timeout: testDeadline))
            let report = try #require(exitReport { try process.result() })
            #expect(report.reason == .stoppedByOwner(stop))
            #expect(report.exitCode == -signal)
        }
    }

    @Test func aSignalFromAnotherProcessIsNotTheOwners() throws {
        let process = ChildProcess(task: Sleeper())
        try process.start()
        Glibc.kill(try #require(process.pid), SIGKILL)
        #expect(try process.join(timeout: testDeadline))
        #expect(exitReport { try process.result() }?.reason == .killed(signal: SIGKILL))
    }

    @Test func aLoggerSeesTheStartAndTheEnd() throws {
        let records = Locked<[RecordingLogHandler.Record]>([])
        let logger = RecordingLogHandler.logger(records)
        let fine = ChildProcess(task: Doubler(number: 4), name: "fine", logger: logger)
        try fine.start()
        #expect(try fine.join(timeout: testDeadline))
        let trapper = ChildProcess(task: Trapper(index: 5), name: "trapper", startMethod: .forkserver, logger: logger)
        try trapper.start()
        #expect(try trapper.join(timeout: testDeadline))
        let seen = records.withLock { $0 }
        let trap = try #require(exitReport { try trapper.result() })
        #expect(seen.map(\.message) == ["process started", "process ended: exited with code 0", "process started",
                                        "process ended: \(trap.reason)"])
        #expect(seen.map(\.level) == [.debug, .debug, .debug, .notice])
        #expect(seen.map { $0.metadata["process.name"] } == ["fine", "fine", "trapper", "trapper"])
        #expect(seen[0].metadata["process.pid"] == .stringConvertible(try #require(fine.pid)))
        #expect(seen[3].metadata["process.pid"] == .stringConvertible(trap.worker.pid))
        #expect(seen.map { $0.metadata["start.method"] } == ["spawn", nil, "forkserver", nil])
        #expect(seen.map { $0.metadata["exit.code"] } == [nil, .stringConvertible(Int32(0)), nil, .stringConvertible(-SIGILL)])
    }
}
