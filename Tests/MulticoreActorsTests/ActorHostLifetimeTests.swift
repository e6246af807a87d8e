import Distributed
@testable import MulticoreActors
import MulticoreProcessing
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A process that starts a host, says its pid on `report`, and waits to be killed.
struct HostStarter: ProcessTask {
    var report: Connection

    func run() throws -> Int {
        let report = report
        Task {
            let host = try await ActorHost()
            Self.say(host.pid, on: report)
            try await Task.sleep(for: .seconds(60))
            _ = host
        }
        sleep(60)
        return 0
    }

    private static func say(_ pid: Int32, on connection: Connection) {
        try? connection.send(pid)
    }
}

/// Starts `count` hosts one after the other, calls an actor in each and shuts it down; returns
/// what was left behind, or nil.
func startAndShutDownHosts(_ count: Int) async throws -> String? {
    // A first host starts what stays for the program's life (the output reader thread...).
    let warmup = try await ActorHost()
    await warmup.shutdown()
    let readerGone = await eventually { !Threading.enumerate().contains { $0.name.hasPrefix("mc-actor-host") } }
    guard readerGone else { return "the first host's reader thread did not end" }
    let descriptors = openDescriptorCount(), threads = Threading.activeCount()
    var pids: [Int32] = []
    // The hosts are kept until the count: a host that was shut down holds no descriptor.
    var hosts: [ActorHost] = []
    defer { withExtendedLifetime(hosts) {} }
    for round in 0..<count {
        let host = try await ActorHost()
        hosts.append(host)
        let counter = try await host.spawn(Counter.self)
        guard try await counter.add(round) == round else { return "a wrong total" }
        pids.append(host.pid)
        await host.shutdown()
    }
    // The reader threads end just after the shutdown returns.
    let deadline = ContinuousClock.now + testDeadline
    while ContinuousClock.now < deadline {
        if pids.allSatisfy(processIsGone), zombieChildCount() == 0, openDescriptorCount() == descriptors,
           Threading.activeCount() == threads, activeChildren().isEmpty {
            return nil
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return "hosts alive \(pids.filter { !processIsGone($0) }.count) of \(count), descriptors \(descriptors) -> \(openDescriptorCount()), "
        + "threads \(threads) -> \(Threading.activeCount()), zombies \(zombieChildCount()), children \(activeChildren().count)"
}

/// Spawns and releases `cycles` actors in one host, `callers` at a time (each calls its actor
/// once in a hundred cycles), then shuts the host down; returns what was left behind, or nil.
func spawnAndReleaseActors(_ cycles: Int, callers: Int) async throws -> String? {
    let warmup = try await ActorHost()
    await warmup.shutdown()
    guard await eventually({ !Threading.enumerate().contains { $0.name.hasPrefix("mc-actor-host") } }) else {
        return "the first host's reader thread did not end"
    }
    let descriptors = openDescriptorCount(), threads = Threading.activeCount()
    let pid: Int32
    switch try await cycleActors(cycles, callers: callers) {
    case .success(let hostPID): pid = hostPID
    case .failure(let failure): return failure.message
    }
    let deadline = ContinuousClock.now + testDeadline
    while ContinuousClock.now < deadline {
        if processIsGone(pid), zombieChildCount() == 0, openDescriptorCount() == descriptors,
           Threading.activeCount() == threads, activeChildren().isEmpty {
            return nil
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return "host alive \(!processIsGone(pid)), descriptors \(descriptors) -> \(openDescriptorCount()), "
        + "threads \(threads) -> \(Threading.activeCount()), zombies \(zombieChildCount()), children \(activeChildren().count)"
}

/// A failure that `spawnAndReleaseActors` reports.
struct LeftBehind: Error {
    let message: String
}

/// The cycles of `spawnAndReleaseActors` in a host of their own; the host's pid once it is shut down.
private func cycleActors(_ cycles: Int, callers: Int) async throws -> Result<Int32, LeftBehind> {
    let host = try await ActorHost()
    let probe = try await host.spawn(Counter.self)
    let hostDescriptors = try await probe.openDescriptors()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for caller in 0..<callers {
            group.addTask {
                for cycle in stride(from: caller, to: cycles, by: callers) {
                    let counter = try await host.spawn(Counter.self)
                    if cycle % 100 == 0, try await counter.add(cycle) != cycle { throw CounterError.negative(cycle) }
                    try await counter.release()
                }
            }
        }
        try await group.waitForAll()
    }
    let kept = try await probe.keptActors(), hostDescriptorsAfter = try await probe.openDescriptors()
    guard kept == 1, hostDescriptorsAfter == hostDescriptors, host.pendingCallsForTests == 0 else {
        return .failure(LeftBehind(message: "the host keeps \(kept) actors, its descriptors \(hostDescriptors) -> \(hostDescriptorsAfter), "
            + "\(host.pendingCallsForTests) calls pending"))
    }
    await host.shutdown()
    return .success(host.pid)
}

/// Runs `body` on the cooperative pool and blocks this thread until it is done (an exit
/// test's body is synchronous).
func waitFor(_ body: @escaping @Sendable () async throws -> String?) throws -> String? {
    let outcome = Locked<Result<String?, any Error>?>(nil)
    let done = Event()
    Task {
        let result: Result<String?, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        outcome.withLock { $0 = result }
        done.set()
    }
    guard try done.wait(timeout: .seconds(120)) else { return "did not finish within 120 s" }
    return try outcome.withLock { $0 }!.get()
}

@Suite(.timeLimit(.minutes(5)))
struct ActorHostLifetimeTests {
    /// 10,000 actor spawn/release cycles on one host (8 callers at once, as the issue asks):
    /// the host keeps none of the actors, and no host process, descriptor (the program's or the
    /// host's), thread or zombie is left. Counted in a process of its own: other tests open
    /// descriptors and threads meanwhile.
    @Test func spawnAndReleaseCyclesLeaveNothingBehind() async {
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            exitReporting(try waitFor { try await spawnAndReleaseActors(10_000, callers: 8) }, as: "actors spawned and released")
        }
        if let failure = exitTestFailure(outcome?.standardOutputContent) {
            Issue.record("\(failure)")
        }
    }

    /// Hosts started and shut down, many times: no process, descriptor, thread or zombie is
    /// left. Counted in a process of its own: other tests open descriptors and threads meanwhile.
    @Test func hostsLeaveNoProcessDescriptorOrZombie() async {
        let outcome = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            exitReporting(try waitFor { try await startAndShutDownHosts(50) }, as: "hosts started and shut down")
        }
        if let failure = exitTestFailure(outcome?.standardOutputContent) {
            Issue.record("\(failure)")
        }
    }

    /// A host dies with the program that started it: no orphan.
    @Test func aHostWhoseProgramDiedExits() throws {
        let (mine, theirs) = try Connection.pipe()
        let starter = ChildProcess(task: HostStarter(report: theirs), daemon: true)
        try starter.start()
        theirs.close()
        #expect(try mine.poll(timeout: testDeadline))
        let hostPID = try mine.recv(Int32.self)
        #expect(!processIsGone(hostPID))
        try starter.kill()
        #expect(try starter.join(timeout: testDeadline))
        #expect(eventually { processIsGone(hostPID) })
    }
}

