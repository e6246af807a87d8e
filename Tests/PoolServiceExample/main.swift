#if canImport(Glibc)
import Glibc
#endif
import Logging
import Multicore
import MulticoreServiceLifecycle
import MulticoreTestSupport
import ServiceLifecycle

// A ServiceGroup running a ProcessPoolExecutor and a Pool as services, each with a task that
// finishes once the group shuts down and one that never would. Prints its workers' pids and
// "ready" once all four tasks run and the group handles SIGTERM; on SIGTERM the group shuts down gracefully; then it prints
// each task's outcome and "outcome: ok" if they are as promised (exit 0), else what differed
// (exit 1).

/// Says "ready" once the group handles SIGTERM, and sets `release` when the group shuts down
/// gracefully. Listed after the pools, it is shut down before them (a group goes in reverse
/// order): the held tasks finish during the drain.
struct Releaser: Service {
    let release: SharedEvent
    let ready: String
    func run() async {
        // The group installs its handler as it starts: a SIGTERM before that would kill us.
        let until = ContinuousClock.now + testDeadline
        while !catchesSIGTERM(), ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(1)) }
        line(catchesSIGTERM() ? ready : "outcome: no SIGTERM handler was installed")
        try? await gracefulShutdown()
        release.set()
    }
}

func line(_ text: String) {
    print(text)
    fflush(nil)
}

/// Whether this process has a handler for SIGTERM (/proc/self/status, SigCgt).
func catchesSIGTERM() -> Bool {
    guard let file = fopen("/proc/self/status", "r") else { return false }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 256)
    while fgets(&buffer, Int32(buffer.count), file) != nil {
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("SigCgt:"), let mask = UInt64(text.dropFirst(7).filter(\.isHexDigit), radix: 16) else { continue }
        return mask & (1 << (SIGTERM - 1)) != 0
    }
    return false
}

let grace = Duration.seconds(2)
let executor = try ProcessPoolExecutor(maxWorkers: 2, maxTasksPerChild: 1) // one task per worker
let pool = try Pool(processes: 2, maxTasksPerChild: 1)
let release = try SharedEvent(), never = try SharedEvent()
let started = try (0..<4).map { _ in try SharedEvent() }
let executorHeld = try executor.submit(HeldTask(started: started[0], release: release, value: 7))
let executorLong = try executor.submit(HeldTask(started: started[1], release: never, value: 0))
let poolHeld = try pool.applyAsync(HeldTask(started: started[2], release: release, value: 5))
let poolLong = try pool.applyAsync(HeldTask(started: started[3], release: never, value: 0))
let until = ContinuousClock.now + testDeadline
while !started.allSatisfy(\.isSet) {
    guard ContinuousClock.now < until else {
        line("outcome: the tasks did not all start")
        exit(1)
    }
    try await Task.sleep(for: .milliseconds(1))
}
let workers = (executor.workerPIDs + pool.workers.map(\.pid)).map(String.init).joined(separator: " ")
let releaser = Releaser(release: release, ready: "workers: \(workers)\nready")

let group = ServiceGroup(
    services: [PoolService(executor, gracePeriod: grace), PoolService(pool, gracePeriod: grace), releaser],
    gracefulShutdownSignals: [.sigterm],
    logger: Logger(label: "PoolServiceExample") { _ in SwiftLogNoOpLogHandler() })
try await group.run()

/// Prints a task's outcome; what differs from `expected`, or nil.
func check<T: Equatable>(_ name: String, _ outcome: () async throws -> T, _ expected: Result<T, PoolShutdownError>) async -> String? {
    let seen: String
    do { seen = "\(try await outcome())" } catch { seen = "\(type(of: error)): \(error)" }
    let wanted = switch expected {
    case .success(let value): "\(value)"
    case .failure(let error): "\(PoolShutdownError.self): \(error)"
    }
    line("\(name): \(seen)")
    return seen == wanted ? nil : "\(name): \(seen), not \(wanted)"
}
let problems = [
    await check("executor held", { try await executorHeld.value }, .success(7)),
    await check("executor long", { try await executorLong.value }, .failure(.gracePeriodExpired(grace))),
    await check("pool held", { try await poolHeld.value }, .success(5)),
    await check("pool long", { try await poolLong.value }, .failure(.gracePeriodExpired(grace))),
].compactMap { $0 }
line(problems.isEmpty ? "outcome: ok" : "outcome: \(problems.joined(separator: "; "))")
exit(problems.isEmpty ? 0 : 1)
