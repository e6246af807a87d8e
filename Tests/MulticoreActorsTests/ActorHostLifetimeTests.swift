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
    for round in 0..<count {
        let host = try await ActorHost()
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
    /// Spawn and release, many times on one host: the host keeps none of them, the program
    /// waits for no answer.
    @Test func spawnAndReleaseCyclesLeaveNothingBehind() async throws {
        let host = try await ActorHost()
        let probe = try await host.spawn(Counter.self)
        let cycles = 1_000
        for cycle in 0..<cycles {
            let counter = try await host.spawn(Counter.self)
            #expect(try await counter.add(cycle) == cycle)
            try await counter.release()
        }
        #expect(try await probe.keptActors() == 1)
        #expect(host.pendingCallsForTests == 0)
        await host.shutdown()
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
