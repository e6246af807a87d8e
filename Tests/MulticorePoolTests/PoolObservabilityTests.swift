import Logging
import MulticoreProcessing
import MulticoreSystem
import MulticoreTestSupport
import MulticoreThreading
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool

/// Writes `line` to its standard output and `error` to its standard error, then returns.
struct Chatty: ProcessTask {
    var line: String
    var error: String
    func run() -> Int {
        print(line)
        _ = (error + "\n").withCString { write(STDERR_FILENO, $0, strlen($0)) }
        return 1
    }
}

@Suite struct PoolObservabilityTests {
    @Test func theWorkersOutputGoesToTheLoggerLineByLine() throws {
        let records = Locked<[RecordingLogHandler.Record]>([])
        let pool = try ProcessPoolExecutor(maxWorkers: 1, output: .logger, logger: RecordingLogHandler.logger(records, level: .info),
                                           label: "chatty")
        defer { pool.shutdown() }
        #expect(try pool.submit(Chatty(line: "to stdout", error: "to stderr")).result(timeout: testDeadline) == 1)
        let worker = try #require(pool.workers.first)
        let lines = { records.withLock { $0.filter { $0.metadata["stream"] != nil } } }
        #expect(eventually { lines().count == 2 })
        for (text, stream) in [("to stdout", "stdout"), ("to stderr", "stderr")] {
            let record = lines().first { $0.message == text }
            #expect(record?.level == .info && record?.metadata["stream"] == .string(stream), "\(lines())")
            #expect(record?.metadata["worker.name"] == .string(worker.name) && record?.metadata["pool"] == .string("chatty"))
            #expect(record?.metadata["worker.pid"] == .stringConvertible(worker.pid))
        }
        // At info, a pool that works logs nothing of its own.
        #expect(records.withLock { $0.allSatisfy { $0.metadata["stream"] != nil } })
    }

    @Test func aLoggerOutputNeedsALogger() {
        #expect(throws: PoolConfigurationError.outputToLoggerWithoutLogger) { try ProcessPoolExecutor(maxWorkers: 1, output: .logger) }
        #expect(throws: PoolConfigurationError.outputToLoggerWithoutLogger) { try Pool(processes: 1, output: .logger) }
    }

    /// A trap's message travels with the death even when the output is dropped, and the death
    /// is logged: started and ended at debug, the unexpected end and the failed task at notice.
    @Test func aTrapIsLoggedWithItsMessageAndReachesTheCaller() throws {
        let records = Locked<[RecordingLogHandler.Record]>([])
        let pool = try ProcessPoolExecutor(maxWorkers: 1, output: .discard, logger: RecordingLogHandler.logger(records))
        defer { pool.shutdown() }
        do {
            _ = try pool.submit(MaybeTrap(crash: true)).result(timeout: testDeadline)
            Issue.record("the trapping task returned")
        } catch PoolError.workerDied(let report, _, _) {
            #expect(report.standardError.contains("Fatal error: Index out of range"), "\(report.standardError)")
            guard case .trapped(_, let message?) = report.reason else { Issue.record("\(report)"); return }
            #expect(message.contains("Fatal error: Index out of range"))
        }
        let ended = records.withLock { $0.first { $0.message.hasPrefix("worker ended") } }
        #expect(ended?.level == .notice && ended?.message.contains("Fatal error: Index out of range") == true, "\(records.withLock { $0 })")
        #expect(ended?.metadata["exit.code"] == .stringConvertible(-SIGILL))
        #expect(records.withLock { $0.contains { $0.level == .debug && $0.message == "worker started" && $0.metadata["worker.pid"] != nil } })
        let failed = records.withLock { $0.first { $0.message.hasPrefix("task failed: ") } }
        #expect(failed?.level == .notice && failed?.metadata["task"] == .string("MaybeTrap(crash: true)"))
        let index: Logger.MetadataValue = .stringConvertible(0)
        #expect(failed?.metadata["task.index"]?.description == index.description)
    }

    @Test func aRetryAndATimeoutAreLoggedAndTheirWorkersEndsSayWhy() throws {
        let records = Locked<[RecordingLogHandler.Record]>([])
        let pool = try ProcessPoolExecutor(maxWorkers: 1, maxRetries: 1, killGrace: .milliseconds(100), logger: RecordingLogHandler.logger(records))
        defer { pool.shutdown() }
        let runs = try SharedValue(0)
        #expect(try pool.submit(CrashesOnce(runs: runs, value: 5)).result(timeout: testDeadline) == 5)
        let retry = records.withLock { $0.first { $0.message.hasPrefix("task retried") } }
        #expect(retry?.level == .info && retry?.metadata["task.attempt"] == .stringConvertible(2) && retry?.message.contains("first run") == true,
                "\(records.withLock { $0 })")
        #expect(throws: PoolError.self) { try pool.submit(Nap(milliseconds: 600_000), timeout: .milliseconds(50)).result(timeout: testDeadline) }
        #expect(eventually { records.withLock { $0.contains { $0.message == "worker ended: stopped by its owner (timeout)" && $0.level == .debug } } },
                "\(records.withLock { $0.map(\.message) })")
        #expect(records.withLock { $0.contains { $0.level == .notice && $0.message.contains("ran longer than its timeout") } })
    }

    /// `terminate` ends a running task's worker: its task fails, and says the pool stopped it.
    @Test func aTerminatedWorkersTaskSaysThePoolStoppedIt() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, killGrace: .milliseconds(100))
        let long = try pool.submit(Nap(milliseconds: 600_000))
        #expect(eventually { long.isRunning })
        pool.terminate()
        do {
            _ = try long.result(timeout: testDeadline)
            Issue.record("the terminated task returned")
        } catch PoolError.workerDied(let report, _, _) {
            #expect(report.reason == .stoppedByOwner(.terminate) && report.exitCode == -SIGTERM, "\(report)")
        }
        pool.shutdown()
    }

    /// A thread pool logs its threads' starts and ends at debug, and a failed initializer, which
    /// breaks it, at notice.
    @Test func threadPoolsLogTheirThreads() throws {
        let records = Locked<[RecordingLogHandler.Record]>([])
        let pool = try ThreadPoolExecutor(maxWorkers: 1, threadNamePrefix: "logged", logger: RecordingLogHandler.logger(records))
        #expect(try pool.submit { 7 }.result(timeout: testDeadline) == 7)
        pool.shutdown()
        let seen = records.withLock { $0.map { "\($0.level) \($0.message) \($0.metadata["thread"] ?? "-")" } }
        #expect(seen == ["debug thread started logged_0", "debug thread ended logged_0"], "\(seen)")
        let broken = Locked<[RecordingLogHandler.Record]>([])
        struct Refused: Error {}
        let pool2 = try ThreadPool(processes: 1, initializer: { throw Refused() }, logger: RecordingLogHandler.logger(broken, level: .notice))
        #expect(throws: (any Error).self) { try pool2.apply { 1 } }
        pool2.close()
        #expect(eventually { broken.withLock { $0.contains { $0.level == .notice && $0.message.hasPrefix("initializer failed") } } })
    }

    @Test func exitReasonsAreTold() {
        #expect(ExitReason(exitCode: 3) == .exited(code: 3))
        #expect(ExitReason(exitCode: -SIGSEGV) == .crashed(signal: SIGSEGV))
        #expect(ExitReason(exitCode: -SIGILL, fatalLine: "x.swift:1: Fatal error: no") == .trapped(signal: SIGILL, message: "x.swift:1: Fatal error: no"))
        #expect(ExitReason(exitCode: -SIGKILL) == .killed(signal: SIGKILL))
        #expect(ExitReason(exitCode: -SIGKILL, oomKilled: true) == .outOfMemory)
        #expect(ExitReason(exitCode: -SIGKILL, stoppedBy: .timeout, oomKilled: true) == .stoppedByOwner(.timeout))
        #expect(ExitReason(exitCode: -SIGKILL, stoppedBy: .timeout, memoryLimit: 1 << 20) == .memoryLimit(limit: 1 << 20))
        #expect(ExitReason(exitCode: -SIGSEGV, stoppedBy: .timeout) == .crashed(signal: SIGSEGV))
        #expect("\(ExitReason.killed(signal: SIGHUP))" == "killed by SIGHUP from another process")
    }
}

@Suite struct OutputTapTests {
    /// Whatever pieces the bytes come in, what is passed on is whole lines, each prefixed;
    /// the tail keeps the last bytes, and the last trap message is found.
    @Test func linesArePassedOnWholeAndTheTailIsKept() throws {
        let (source, sink) = try DescriptorPair.pipe()
        let (forwardRead, forwardWrite) = try DescriptorPair.pipe()
        defer { closeDescriptor(forwardRead.rawValue); closeDescriptor(forwardWrite.rawValue) } // the sink is closed below, once
        let tap = OutputTap(descriptor: source.rawValue, destination: .prefixed(forwardWrite.rawValue, "[w1] "))
        let pieces = ["one\ntw", "o\nthree", "", "\nx.swift:9: Fatal error: boom\nlast without newline"]
        for piece in pieces {
            if !piece.isEmpty { _ = try piece.utf8.withContiguousStorageIfAvailable { try sink.writeAll(UnsafeRawBufferPointer($0)) } }
            tap.readAvailable()
        }
        closeDescriptor(sink.rawValue)
        tap.finish()
        #expect(tap.ended)
        try forwardRead.setNonBlocking()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = try buffer.withUnsafeMutableBytes { try forwardRead.readAvailable(into: $0) }
        #expect(String(decoding: buffer[..<count], as: UTF8.self)
            == "[w1] one\n[w1] two\n[w1] three\n[w1] x.swift:9: Fatal error: boom\n[w1] last without newline\n")
        #expect(tap.fatalLine == "x.swift:9: Fatal error: boom")
        #expect(tap.text == pieces.joined())
    }

    /// Only the last 4 KiB are kept, however much came.
    @Test func theTailIsBounded() throws {
        let (source, sink) = try DescriptorPair.pipe()
        let tap = OutputTap(descriptor: source.rawValue, destination: .discard)
        let line = Array(repeating: UInt8(ascii: "a"), count: 99) + [0x0A]
        for round in 0..<200 {
            var bytes = line
            bytes[0] = UInt8(ascii: "0") + UInt8(round % 10)
            try bytes.withUnsafeBytes { try sink.writeAll($0) }
            tap.readAvailable()
        }
        closeDescriptor(sink.rawValue)
        tap.finish()
        #expect(tap.text.utf8.count == OutputTap.tailLimit)
        #expect(tap.text.hasSuffix("9" + String(repeating: "a", count: 98) + "\n"))
    }
}
