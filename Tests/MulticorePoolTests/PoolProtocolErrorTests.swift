import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// What a hostile task writes to its own worker's channel, behind the worker's back.
enum Garbage: String, Codable, Sendable {
    /// A frame whose checksum does not match; the task then returns as usual.
    case badChecksum
    /// A header announcing 1 GiB (more than a pool reads), a few bytes, then a long sleep.
    case hugeHeader
    /// A header announcing 1 MiB (within the pool's limit), a few bytes, then a long sleep: a
    /// reply that never ends.
    case endlessReply
    /// A well-formed report that the worker's initializer failed, sent by a task (which a pool
    /// used to believe during a worker's first task, failing every queued task with it).
    case forgedInitializerFailure

    var bytes: [UInt8] {
        func header(announcing length: UInt32) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: WireFrame.headerSize)
            bytes.withUnsafeMutableBytes { WireFrame.writeHeader(length: Int(length), checksum: 0, in: $0) }
            return bytes + [1, 2, 3, 4] // a well-formed header; the payload never comes
        }
        switch self {
        case .badChecksum:
            var frame = (try? WireFrame.frame(Array(repeating: 7, count: 16))) ?? []
            frame[WireFrame.headerSize + 3] ^= 0x5A
            return frame
        case .forgedInitializerFailure:
            let report = WorkerMessage.initializerReport(.failure(type: "Forged", message: "not the initializer"))
            return (try? WireFrame.frame(report)) ?? []
        case .hugeHeader: return header(announcing: 1 << 30)
        case .endlessReply: return header(announcing: 1 << 20)
        }
    }
}

struct WritesToItsChannel: ProcessTask {
    var garbage: Garbage
    func run() -> Int {
        let bytes = garbage.bytes
        _ = bytes.withUnsafeBytes { write(PoolWorker.channelDescriptor, $0.baseAddress, $0.count) }
        if garbage != .badChecksum, garbage != .forgedInitializerFailure { sleep(60) } // killed long before, unless the pool is wedged
        return 1
    }
}

/// Returns `count` bytes.
struct Bulky: ProcessTask {
    var count: Int
    func run() -> [UInt8] { Array(repeating: 1, count: count) }
}

/// Carries `bytes` to the worker.
struct Carries: ProcessTask {
    var bytes: [UInt8]
    func run() -> Int { bytes.count }
}

@Suite(.timeLimit(.minutes(5))) struct PoolProtocolErrorTests {
    /// A worker whose reply cannot be read is alive but cannot be trusted: it is killed, only
    /// its task fails (or runs again, up to `maxRetries`), naming the protocol error and the
    /// worker, the tasks it held go to the other worker, and the pool carries on and shuts
    /// down. With the 1 GiB header the manager used to block in `read` and the whole pool
    /// stopped; with a bad checksum, the worker's later replies were lost and shutdown hung.
    @Test(arguments: [(Garbage.badChecksum, 0), (.hugeHeader, 0), (.badChecksum, 1)])
    func aWorkerThatBreaksTheProtocolFailsOnlyItsTask(garbage: Garbage, retries: Int) throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2, maxRetries: retries)
        defer { pool.terminate() }
        let bad = try pool.submit(WritesToItsChannel(garbage: garbage))
        let others = try (0..<20).map { try pool.submit(Twice(value: $0)) }
        for (value, future) in others.enumerated() {
            #expect(try future.result(timeout: testDeadline) == value * 2)
        }
        let error = try bad.error(timeout: testDeadline)
        guard case PoolError.protocolError(let pid, let reason, let task, let attempts)? = error else {
            Issue.record("expected PoolError.protocolError, got \(String(describing: error))")
            return
        }
        #expect(reason.contains(garbage == .hugeHeader ? "exceeds the limit" : "checksum mismatch"), "\(reason)")
        #expect(task.contains("WritesToItsChannel") && attempts == retries + 1)
        #expect(error.map { String(describing: $0) }?.hasPrefix("protocol error from worker \(pid) while running") == true)
        #expect(pid > 0 && pid != getpid())
        #expect(eventually { kill(pid, 0) != 0 }, "the worker \(pid) was killed")
        #expect(try pool.submit(Twice(value: 21)).result(timeout: testDeadline) == 42)
        let closer = JoinableThread(daemon: true) { pool.shutdown(wait: true) }
        try closer.start()
        #expect(try closer.join(timeout: testDeadline), "shutdown(wait: true) returned")
    }

    /// A task that forges its worker's initializer report fails alone, as a protocol error: the
    /// report is only believed as the worker's first frame (the worker always sends it, failed
    /// or not), so the tasks queued behind it run instead of failing with the forged error.
    @Test func aForgedInitializerReportFailsOnlyTheTaskThatForgedIt() throws {
        let runs = try SharedValue(0)
        let pool = try ProcessPoolExecutor(maxWorkers: 1, initializer: Greet(text: "hi", runs: runs))
        defer { pool.terminate() }
        let forger = try pool.submit(WritesToItsChannel(garbage: .forgedInitializerFailure))
        let others = try (0..<10).map { _ in try pool.submit(ReadGreeting()) }
        let error = try forger.error(timeout: testDeadline)
        guard case PoolError.protocolError(_, let reason, _, _)? = error else {
            Issue.record("expected PoolError.protocolError, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("initializer's report"), "\(reason)")
        for future in others { #expect(try future.result(timeout: testDeadline) == "hi") }
    }

    /// A reply that starts and never ends (a header within the limit, then nothing) never stops
    /// the manager: the other worker's tasks complete, and the task's timeout still fires.
    @Test func anEndlessReplyNeverStopsTheManager() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let bad = try pool.submit(WritesToItsChannel(garbage: .endlessReply), timeout: .milliseconds(300))
        let others = try (0..<20).map { try pool.submit(Twice(value: $0)) }
        for (value, future) in others.enumerated() {
            #expect(try future.result(timeout: testDeadline) == value * 2)
        }
        #expect(throws: PoolError.timedOut(after: .milliseconds(300), task: "WritesToItsChannel(garbage: MulticorePoolTests.Garbage.endlessReply)")) {
            try bad.result(timeout: testDeadline)
        }
        let closer = JoinableThread(daemon: true) { pool.shutdown(wait: true) }
        try closer.start()
        #expect(try closer.join(timeout: testDeadline), "shutdown(wait: true) returned")
    }

    /// The pool's channels refuse frames over its limit: a chunk too large to send throws at
    /// submit, and a reply too large to read fails its task in the worker, which carries on.
    @Test func messagesOverThePoolsFrameLimitFailTheirTaskOnly() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, channelFrameLimit: 4096)
        defer { pool.terminate() }
        #expect {
            try pool.submit(Carries(bytes: Array(repeating: 0, count: 5000)))
        } throws: { error in
            guard case WireError.oversizedFrame(let size, let limit) = error else { return false }
            return size > 5000 && limit == 4096 - PoolRequest.payloadOffset
        }
        let before = try pool.submit(WhoRuns()).result(timeout: testDeadline)
        #expect(try pool.submit(Bulky(count: 100)).result(timeout: testDeadline).count == 100)
        #expect {
            try pool.submit(Bulky(count: 10_000)).result(timeout: testDeadline)
        } throws: { error in
            guard case ProcessError.taskFailed(let type, let message) = error else { return false }
            return type == String(reflecting: WireError.self) && message.hasPrefix("the reply frame of") && message.hasSuffix("exceeds the limit of 4096 bytes")
        }
        #expect(try pool.submit(WhoRuns()).result(timeout: testDeadline) == before, "the same worker carries on")
    }
}
