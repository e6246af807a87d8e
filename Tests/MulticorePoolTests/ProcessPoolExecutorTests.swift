import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticorePool
import MulticoreProcessing
import MulticoreThreading
@_exported import MulticoreTestSupport


struct Twice: ProcessTask, PlainData {
    var value: Int
    func run() -> Int { value * 2 }
}

/// Returns the pid of the worker that ran it.
struct WhoRuns: ProcessTask {
    func run() -> Int32 { getpid() }
}

struct PoolTaskError: Error, CustomStringConvertible {
    var description: String { "the task gave up" }
}

struct Failing: ProcessTask {
    func run() throws -> Int { throw PoolTaskError() }
}

/// Traps (index out of range) when `crash`, else returns 1.
struct MaybeTrap: ProcessTask {
    var crash: Bool
    func run() -> Int { crash ? [0][1] : 1 }
}

/// Sleeps (in slices) for `milliseconds`, then returns its pid.
struct Nap: ProcessTask {
    var milliseconds: Int
    func run() -> Int32 {
        usleep(UInt32(milliseconds) * 1_000)
        return getpid()
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessPoolExecutorTests {
    @Test func tasksRunInWorkersAndTheirResultsComeBack() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let futures = try (0..<50).map { try pool.submit(Twice(value: $0)) }
        for (value, future) in futures.enumerated() {
            #expect(try future.result(timeout: testDeadline) == value * 2)
        }
        let pids = Set(try (0..<20).map { _ in try pool.submit(WhoRuns()) }.map { try $0.result(timeout: testDeadline) })
        #expect(!pids.contains(getpid()))
        #expect(pids.count <= 2)
    }

    /// Settings under which a pool could never run a task are refused at construction, each with
    /// its own message (a fork pool used to accept tasks and fail every one of them).
    @Test func settingsAPoolCannotHonourAreRefusedAtConstruction() {
        #expect(throws: PoolConfigurationError.forkStartMethod) { _ = try ProcessPoolExecutor(maxWorkers: 1, startMethod: .fork) }
        #expect(throws: PoolConfigurationError.forkStartMethod) { _ = try Pool(processes: 1, startMethod: .fork) }
        #expect(throws: PoolConfigurationError.forkStartMethod) {
            _ = try ProcessPoolExecutor(maxWorkers: 1, startMethod: .fork, maxTasksPerChild: 2)
        }
        #expect(throws: PoolConfigurationError.invalidMaxTasksPerChild(0)) { _ = try ProcessPoolExecutor(maxWorkers: 1, maxTasksPerChild: 0) }
        #expect(throws: PoolConfigurationError.invalidMaxTasksPerChild(-1)) { _ = try Pool(processes: 1, maxTasksPerChild: -1) }
        #expect(throws: PoolConfigurationError.invalidMaxRetries(-1)) { _ = try ProcessPoolExecutor(maxWorkers: 1, maxRetries: -1) }
        #expect(throws: ExecutorError.invalidMaxWorkers) { _ = try ProcessPoolExecutor(maxWorkers: 0) }
        #expect(PoolConfigurationError.invalidMaxTasksPerChild(0).description.contains("max_tasks_per_child"))
        #expect(PoolConfigurationError.forkStartMethod.description.contains(".forkserver"))
    }

    @Test func aTasksErrorComesBackThroughItsFuture() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        let failing = try pool.submit(Failing())
        #expect(throws: ProcessError.taskFailed(type: String(reflecting: PoolTaskError.self), message: "the task gave up")) {
            try failing.result(timeout: testDeadline)
        }
        #expect(try pool.submit(Twice(value: 4)).result(timeout: testDeadline) == 8)
    }

    @Test func aCrashFailsOnlyItsTaskAndTheWorkerIsReplaced() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let futures = try (0..<30).map { try pool.submit(MaybeTrap(crash: $0 == 7)) }
        for (index, future) in futures.enumerated() {
            if index == 7 {
                do {
                    _ = try future.result(timeout: testDeadline)
                    Issue.record("the trapping task returned")
                } catch let error as PoolError {
                    guard case .workerDied(let report, let task, let attempts) = error else { Issue.record("\(error)"); continue }
                    #expect(report.worker.pid > 0 && report.exitCode == -SIGILL && task.contains("MaybeTrap(crash: true)") && attempts == 1)
                    // Why it died, with the Swift runtime's own message, read from the worker's stderr.
                    guard case .trapped(SIGILL, let message?) = report.reason else { Issue.record("\(report)"); continue }
                    #expect(message.hasSuffix("Fatal error: Index out of range"), "\(message)")
                    #expect(report.standardError.contains("Fatal error: Index out of range"), "\(report.standardError)")
                    #expect("\(error)".contains("trapped (SIGILL)") && "\(error)".contains("Fatal error: Index out of range"), "\(error)")
                }
            } else {
                #expect(try future.result(timeout: testDeadline) == 1, "task \(index)")
            }
        }
        #expect(eventually { pool.workerPIDs.count == 2 })
        #expect(try pool.submit(Twice(value: 1)).result(timeout: testDeadline) == 2)
    }

    @Test func aKilledWorkerFailsTheTaskItRan() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        let long = try pool.submit(Nap(milliseconds: 600_000))
        let after = try pool.submit(Twice(value: 21))
        #expect(eventually { long.isRunning && !pool.workerPIDs.isEmpty })
        let victim = try #require(pool.workerPIDs.first)
        kill(victim, SIGKILL)
        do {
            _ = try long.result(timeout: testDeadline)
            Issue.record("the killed task returned")
        } catch PoolError.workerDied(let report, let task, let attempts) {
            // Not the pool's doing, not the OOM killer's: someone else's.
            #expect(report.worker.pid == victim && report.exitCode == -SIGKILL && report.reason == .killed(signal: SIGKILL))
            #expect(task == "Nap(milliseconds: 600000)" && attempts == 1)
        }
        // The next task was given to the dead worker too, but had not started: it runs elsewhere.
        #expect(try after.result(timeout: testDeadline) == 42)
    }

    @Test func aTaskPastItsTimeoutFailsAndItsWorkerIsStopped() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, killGrace: .milliseconds(200))
        defer { pool.terminate() }
        let slow = try pool.submit(Nap(milliseconds: 600_000), timeout: .milliseconds(100))
        #expect(throws: PoolError.timedOut(after: .milliseconds(100), task: "Nap(milliseconds: 600000)")) {
            try slow.result(timeout: testDeadline)
        }
        #expect(try pool.submit(Twice(value: 5)).result(timeout: testDeadline) == 10)
    }

    @Test func maxTasksPerChildReplacesWorkers() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1, maxTasksPerChild: 1)
        defer { pool.terminate() }
        let pids = try (0..<4).map { _ in try pool.submit(WhoRuns()).result(timeout: testDeadline) }
        #expect(Set(pids).count == 4)
    }

    @Test func shutdownDrainsCancelsAndRefuses() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        let first = try pool.submit(Nap(milliseconds: 200))
        let queued = try (0..<5).map { _ in try pool.submit(Twice(value: 1)) }
        #expect(eventually { first.isRunning })
        let workers = pool.workerPIDs
        #expect(!workers.isEmpty)
        pool.shutdown(wait: true, cancelFutures: true)
        #expect(try first.result(timeout: .zero) > 0, "a started task finishes")
        #expect(queued.allSatisfy { $0.isCancelled || $0.isDone })
        #expect(queued.contains { $0.isCancelled })
        #expect(throws: ExecutorError.shutDown) { try pool.submit(Twice(value: 1)) }
        #expect(pool.workerPIDs.isEmpty)
        // Reaped, not zombies: a zombie still answers kill(pid, 0).
        for pid in workers { #expect(kill(pid, 0) == -1 && errno == ESRCH, "worker \(pid) was not reaped") }
    }

    @Test func aTaskThatCannotBeEncodedThrowsAtSubmit() throws {
        struct Unsendable: ProcessTask {
            func run() -> Int { 0 }
            func encode(to encoder: any Encoder) throws { throw PoolTaskError() }
            init() {}
            init(from decoder: any Decoder) throws {}
        }
        let pool = try ProcessPoolExecutor(maxWorkers: 1)
        defer { pool.terminate() }
        #expect(throws: PoolTaskError.self) { try pool.submit(Unsendable()) }
        #expect(try pool.submit(Twice(value: 3)).result(timeout: testDeadline) == 6)
    }
}

/// Traps on its first run (counted in shared memory), returns `value` on later runs.
struct CrashesOnce: ProcessTask {
    var runs: SharedValue<Int>
    var value: Int
    func run() throws -> Int {
        let attempt = try runs.withLock { count -> Int in
            count += 1
            return count
        }
        if attempt == 1 { fatalError("first run") }
        return value
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessPoolMapAndRetryTests {
    @Test func mapReturnsOutputsInOrderLazily() throws {
        let pool = try ProcessPoolExecutor(maxWorkers: 2)
        defer { pool.terminate() }
        let results = pool.map((0..<200).lazy.map { Twice(value: $0) }, bufferSize: 8)
        var expected = 0
        while let value = try results.next() {
            #expect(value == expected * 2)
            expected += 1
        }
        #expect(expected == 200)
        let withFailure = pool.map([MaybeTrap(crash: false), MaybeTrap(crash: true), MaybeTrap(crash: false)])
        #expect(try withFailure.next() == 1)
        #expect(throws: PoolError.self) { try withFailure.next() }
        #expect(try withFailure.next() == 1, "the tasks after a failure still run")
    }

    @Test func aTaskWhoseWorkerDiedIsRetriedWhenAllowed() throws {
        let retrying = try ProcessPoolExecutor(maxWorkers: 1, maxRetries: 1)
        defer { retrying.shutdown() }
        let runs = try SharedValue(0)
        #expect(try retrying.submit(CrashesOnce(runs: runs, value: 7)).result(timeout: testDeadline) == 7)
        #expect(runs.value == 2)

        let strict = try ProcessPoolExecutor(maxWorkers: 1)
        defer { strict.shutdown() }
        let again = try SharedValue(0)
        #expect(throws: PoolError.self) { try strict.submit(CrashesOnce(runs: again, value: 7)).result(timeout: testDeadline) }
        #expect(again.value == 1)
        // A task that always crashes fails once its retries are used, counting the deaths.
        let doomed = try ProcessPoolExecutor(maxWorkers: 1, maxRetries: 2)
        defer { doomed.shutdown() }
        do {
            _ = try doomed.submit(MaybeTrap(crash: true)).result(timeout: testDeadline)
            Issue.record("a trapping task returned")
        } catch PoolError.workerDied(let report, _, let attempts) {
            #expect(report.exitCode == -SIGILL && attempts == 3)
        }
    }
}

@Suite struct PoolRequestTests {
    @Test func requestsRoundTripAndMalformedOnesAreRefused() {
        let requests: [PoolRequest] = [.define(index: 3, typeName: "$s4Main5TwiceV"), .run(id: 1 << 40, type: 3, count: 2, format: .raw, payload: [1, 2, 3]),
                                       .run(id: 0, type: 0, count: 0, format: .coded, payload: []), .stop]
        for request in requests { #expect(PoolRequest(bytes: request.bytes) == request) }
        #expect(PoolRequest(bytes: []) == nil)
        #expect(PoolRequest(bytes: [9]) == nil)
        #expect(PoolRequest(bytes: [1, 0, 0]) == nil, "a run too short for its id")
        #expect(PoolRequest(bytes: [1] + [UInt8](repeating: 0, count: 15)) == nil, "a run too short for its count")
        #expect(PoolRequest(bytes: [1] + [UInt8](repeating: 0, count: 16) + [7]) == nil, "an unknown chunk format")
        #expect(PoolRequest(bytes: [0, 1]) == nil, "a define too short for its index")
    }
}

/// A task that is not plain data (its String is a reference): its chunks are coded, not copied.
struct Label: ProcessTask {
    var text: String
    var fail = false
    func run() throws -> String {
        if fail { throw PoolTaskError() }
        return text.uppercased()
    }
}

/// Plain data with padding between its fields.
struct Padded: Codable {
    var small: UInt8
    var large: Int
}

@Suite struct PoolChunkTests {
    @Test func plainDataIsCopiedAndEverythingElseIsCoded() throws {
        #expect(try ChunkFormat.choose(for: [Twice(value: 1)]) == .raw)
        #expect(try ChunkFormat.choose(for: [Label(text: "a")]) == .coded, "a String is a reference")
        #expect(try ChunkFormat.choose(for: [Int?.some(1)]) == .coded, "an Optional's encoding (presence first) is not its memory")
        #expect(try ChunkFormat.choose(for: [Padded(small: 1, large: 2)]) == .coded, "padding is not encoded")
        for tasks in [[Twice](), [Twice(value: -1)], (0..<1_000).map { Twice(value: $0) }] {
            var bytes: [UInt8] = [7, 7]
            let format = try PoolChunk.append(tasks, to: &bytes)
            #expect(format == (tasks.isEmpty ? .coded : .raw))
            #expect(try PoolChunk.decode(Twice.self, format: format, count: tasks.count, from: bytes, at: 2).map(\.value) == tasks.map(\.value))
            #expect(throws: WireError.self) { try PoolChunk.decode(Twice.self, format: format, count: tasks.count + 1, from: bytes, at: 2) }
        }
        let labels = ["a", "", "long text: \(String(repeating: "x", count: 300))"].map { Label(text: $0) }
        var bytes: [UInt8] = []
        #expect(try PoolChunk.append(labels, to: &bytes) == .coded)
        #expect(try PoolChunk.decode(Label.self, format: .coded, count: 3, from: bytes, at: 0).map(\.text) == labels.map(\.text))
        #expect(throws: WireError.self) { try PoolChunk.decode(Label.self, format: .coded, count: 2, from: bytes, at: 0) }
        #expect(throws: WireError.self) { try PoolChunk.decode(Label.self, format: .coded, count: 3, from: Array(bytes.dropLast()), at: 0) }
        #expect(throws: WireError.self, "raw bytes never become references") {
            try PoolChunk.decode(Label.self, format: .raw, count: 1, from: [UInt8](repeating: 0xAB, count: MemoryLayout<Label>.stride), at: 0)
        }
    }

    @Test func aReplyCarriesEveryOutcomeEvenWhenATaskThrows() throws {
        func outcomes(_ tasks: [Label]) throws -> [Result<String, any Error>] {
            var payload: [UInt8] = [0, 0, 0]
            let format = try PoolChunk.append(tasks, to: &payload)
            let frame = PoolReply.running(Label.self, id: 42, count: tasks.count, format: format, payload: payload, at: 3)
            #expect(frame.prefix(8) == [42, 0, 0, 0, 0, 0, 0, 0])
            return try PoolReply.outcomes(String.self, count: tasks.count, from: frame, at: 8).results
        }
        let fine = try outcomes([Label(text: "a"), Label(text: "b")])
        #expect(try fine.map { try $0.get() } == ["A", "B"])
        let mixed = try outcomes([Label(text: "a"), Label(text: "b", fail: true), Label(text: "c")])
        #expect(mixed.count == 3)
        #expect(try mixed[0].get() == "A")
        #expect(throws: ProcessError.taskFailed(type: String(reflecting: PoolTaskError.self), message: "the task gave up")) { try mixed[1].get() }
        #expect(try mixed[2].get() == "C", "the tasks after a failure still run")
        for failing in [0, 3] { // the first task, and the last
            let tasks = (0..<4).map { Label(text: "t\($0)", fail: $0 == failing) }
            let results = try outcomes(tasks)
            #expect(results.count == 4)
            for (index, result) in results.enumerated() {
                if index == failing { #expect(throws: ProcessError.self) { try result.get() } }
                else { #expect(try result.get() == "T\(index)") }
            }
        }

        let twice = PoolReply.running(Twice.self, id: 1, count: 2, format: .raw, payload: [1, 2, 3], at: 0)
        let failed = try PoolReply.outcomes(Int.self, count: 2, from: twice, at: 8).results
        #expect(failed.count == 2, "an undecodable chunk fails each of its tasks")
        #expect(throws: ProcessError.self) { try failed[1].get() }
    }

    @Test func aMalformedReplyIsAnErrorNotACrash() throws {
        let good = PoolReply.running(Twice.self, id: 1, count: 1, format: .raw, payload: withUnsafeBytes(of: Twice(value: 3)) { Array($0) }, at: 0)
        #expect(try PoolReply.outcomes(Int.self, count: 1, from: good, at: 8).allValues() == [6])
        #expect(throws: ProcessError.self) { try PoolReply.outcomes(Int.self, count: 2, from: good, at: 8) }
        #expect(throws: ProcessError.self) { try PoolReply.outcomes(Int.self, count: 1, from: Array(good.dropLast()), at: 8) }
        #expect(throws: ProcessError.self) { try PoolReply.outcomes(Int.self, count: 1, from: Array(good.prefix(8)), at: 8) }
        #expect(throws: ProcessError.self) { try PoolReply.outcomes(Int.self, count: 1, from: Array(good.prefix(8)) + [9], at: 8) }
        #expect(throws: ProcessError.self) { try PoolReply.outcomes(Int.self, count: 1, from: Array(good.prefix(8)) + [1, 5, 0], at: 8) }
    }
}

/// What a worker's initializer set up, read by its tasks.
enum WorkerSetup {
    nonisolated(unsafe) static var greeting = "not initialized"
}

/// An initializer: counts its runs, then sets the greeting (or throws, on the runs `failing` lists).
struct Greet: ProcessTask {
    var text: String
    var runs: SharedValue<Int>
    var failing: [Int] = []
    func run() throws -> Bool {
        let run = try runs.withLock { count -> Int in
            count += 1
            return count
        }
        if failing.contains(run) { throw PoolTaskError() }
        WorkerSetup.greeting = text
        return true
    }
}

struct ReadGreeting: ProcessTask {
    func run() -> String { WorkerSetup.greeting }
}

@Suite(.timeLimit(.minutes(5))) struct PoolInitializerTests {
    @Test func eachWorkerRunsTheInitializerOnceBeforeItsTasks() throws {
        let runs = try SharedValue(0)
        let pool = try ProcessPoolExecutor(maxWorkers: 2, maxTasksPerChild: 5, initializer: Greet(text: "hello", runs: runs))
        defer { pool.terminate() }
        let greetings = try (0..<20).map { _ in try pool.submit(ReadGreeting()) }.map { try $0.result(timeout: testDeadline) }
        #expect(greetings == Array(repeating: "hello", count: 20))
        #expect(WorkerSetup.greeting == "not initialized", "it runs in the workers, not here")
        // 20 tasks, 5 per worker: at least 4 workers, each initialized once (spares may be up).
        let count = try runs.withLock { $0 }
        #expect(count >= 4 && count <= 6, "\(count) initializer runs")
    }

    @Test func aThrowingInitializerFailsTheWaitingTasksAndThePoolCarriesOn() throws {
        let runs = try SharedValue(0)
        // The first two runs throw (the first two workers); later workers start fine.
        let pool = try ProcessPoolExecutor(maxWorkers: 1, initializer: Greet(text: "late", runs: runs, failing: [1, 2]))
        defer { pool.terminate() }
        let early = try pool.submit(ReadGreeting())
        do {
            _ = try early.result(timeout: testDeadline)
            Issue.record("a task ran on a worker whose initializer failed")
        } catch let error as PoolError {
            guard case .initializerFailed(let pid, let type, let message) = error else { Issue.record("\(error)"); return }
            #expect(pid > 0 && type == String(reflecting: PoolTaskError.self) && message == "the task gave up")
        }
        // Usable: a later task runs once a worker initializes (after at most one more failure).
        var outcome: Result<String, any Error> = .failure(PoolTaskError())
        for _ in 0..<3 {
            outcome = Result { try pool.submit(ReadGreeting()).result(timeout: testDeadline) }
            if case .success = outcome { break }
            #expect(throws: PoolError.self) { try outcome.get() }
        }
        #expect(try outcome.get() == "late")
    }

    @Test func anInitializerThatAlwaysThrowsNeverHangsTheTasks() throws {
        let runs = try SharedValue(0)
        let pool = try Pool(processes: 2, initializer: Greet(text: "never", runs: runs, failing: Array(1...1_000)))
        defer { pool.terminate() }
        #expect(throws: PoolError.self) { try pool.mapAsync((0..<50).map { Twice(value: $0) }, chunksize: 5).get(timeout: testDeadline) }
        #expect(throws: PoolError.self) { try pool.applyAsync(Twice(value: 1)).get(timeout: testDeadline) }
        // Idle, it does not keep starting workers that fail.
        let before = try runs.withLock { $0 }
        usleep(300_000)
        #expect(try runs.withLock { $0 } <= before + 2)
    }
}
