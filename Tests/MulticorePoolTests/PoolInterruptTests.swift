import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading

/// How the process that runs it takes SIGINT, from /proc/self/status: ignored, blocked.
struct InterruptDisposition: ProcessTask {
    struct Output: Codable, Sendable, Equatable {
        var pid: Int32
        var ignored: Bool
        var blocked: Bool
    }

    func run() throws -> Output {
        guard let file = fopen("/proc/self/status", "r") else { throw PoolTaskError() }
        defer { fclose(file) }
        var masks: [String: UInt64] = [:]
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, ["SigIgn", "SigBlk"].contains(parts[0]) else { continue }
            masks[String(parts[0])] = UInt64(parts[1].trimmingPrefix("\t").prefix { $0.isHexDigit }, radix: 16)
        }
        guard let ignored = masks["SigIgn"], let blocked = masks["SigBlk"] else { throw PoolTaskError() }
        let bit = UInt64(1) << (SIGINT - 1)
        return Output(pid: getpid(), ignored: ignored & bit != 0, blocked: blocked & bit != 0)
    }
}

/// Run in a pool's worker: starts a plain child process with `method` and returns how that
/// child takes SIGINT.
struct ChildOfAWorker: ProcessTask {
    var method: StartMethod
    func run() throws -> InterruptDisposition.Output {
        let child = ChildProcess(task: InterruptDisposition(), startMethod: method)
        try child.start()
        guard try child.join(timeout: .seconds(20)) else { throw PoolTaskError() }
        return try child.result()
    }
}

/// A terminal's Ctrl-C goes to its whole foreground process group, a pool's workers included:
/// they ignore it, from the moment they exist, and their parent decides. Plain child processes
/// keep Python's behaviour and take it.
@Suite(.timeLimit(.minutes(5))) struct PoolInterruptTests {
    @Test(arguments: [StartMethod.spawn, .forkserver])
    func aPoolWorkerIgnoresSIGINTFromItsFirstMoment(method: StartMethod) throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 1, startMethod: method)
        defer { executor.shutdown() }
        let first = try executor.submit(InterruptDisposition())
        // SIGINT as soon as the pool knows its worker: before or after that worker has read
        // its request and settled, it must neither die nor act on it.
        var pid: Int32 = 0
        #expect(eventually { pid = executor.workerPIDs.first ?? 0; return pid != 0 }, "the worker started")
        try #require(pid != 0)
        kill(pid, SIGINT)
        let seen = try first.result(timeout: testDeadline)
        #expect(seen == .init(pid: pid, ignored: true, blocked: false), "\(seen)")
        kill(pid, SIGINT)
        #expect(try executor.submit(InterruptDisposition()).result(timeout: testDeadline).pid == pid,
                "the same worker runs the next task: SIGINT did not end it")
        #expect(executor.workerPIDs == [pid])
    }

    @Test(arguments: [StartMethod.spawn, .forkserver])
    func aPlainChildProcessTakesSIGINT(method: StartMethod) throws {
        let child = ChildProcess(task: InterruptDisposition(), startMethod: method)
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        let seen = try child.result()
        #expect(!seen.ignored && !seen.blocked, "\(seen)")
    }

    /// A pool's worker ignores SIGINT, and exec keeps an ignored signal ignored: a process that
    /// a pool's task starts is a plain child, and takes Ctrl-C.
    @Test(arguments: [StartMethod.spawn, .fork])
    func aChildStartedByAPoolTaskTakesSIGINTAgain(method: StartMethod) throws {
        let executor = try ProcessPoolExecutor(maxWorkers: 1)
        defer { executor.shutdown() }
        let seen = try executor.submit(ChildOfAWorker(method: method)).result(timeout: nestedTestDeadline)
        #expect(!seen.ignored && !seen.blocked, "\(seen)")
    }
}
