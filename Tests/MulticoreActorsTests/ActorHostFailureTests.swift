import Distributed
@testable import MulticoreActors
import MulticoreProcessing
import MulticoreTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a caller sees when a host dies, and when it stops waiting.
@Suite(.timeLimit(.minutes(5)))
struct ActorHostFailureTests {
    /// The death that `body` throws, or a recorded issue.
    private func death(_ body: () async throws -> Void) async -> ActorHostDeath? {
        do {
            try await body()
            Issue.record("the call returned")
        } catch ActorHostError.hostDied(let death) {
            return death
        } catch {
            Issue.record("unexpected error: \(error)")
        }
        return nil
    }

    @Test func aKilledHostFailsEveryCallInFlightAndLater() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let other = try await host.spawn(Counter.self)
        let pid = host.pid
        // Two calls that would hold the host for 20 s each, in flight when it is killed.
        async let first = death { _ = try await counter.hold(seconds: 20) }
        async let second = death { _ = try await other.hold(seconds: 20) }
        #expect(await eventually { host.pendingCallsForTests == 2 })
        kill(pid, SIGKILL)
        for death in await [first, second] {
            #expect(death?.pid == pid)
            #expect(death?.signal == SIGKILL)
            #expect(death?.report.reason == .killed(signal: SIGKILL))
            #expect(death?.name == host.name)
            #expect(death?.description.contains("a restarted host starts with none") == true)
        }
        // Later calls throw the same, at once.
        let later = await death { _ = try await counter.add(1) }
        #expect(later?.pid == pid)
        await #expect(throws: ActorHostError.self) { _ = try await host.spawn(Counter.self) }
    }

    @Test(arguments: ["trap", "kill", "exit"])
    func aHostThatEndsItselfNamesHow(_ how: String) async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let pid = host.pid
        let death = await death { try await counter.crash(how) }
        #expect(death?.pid == pid)
        switch how {
        case "trap":
            #expect(death?.signal == SIGILL || death?.signal == SIGTRAP)
            #expect(death?.report.reason.message?.contains("the test asked for a trap") == true)
        case "kill": #expect(death?.signal == SIGKILL)
        default:
            #expect(death?.signal == nil)
            #expect(death?.report.exitCode == 3)
        }
    }

    @Test func aRestartedHostIsFreshAndTheOldActorsStayGone() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        #expect(try await counter.add(5) == 5)
        let oldPID = host.pid
        kill(oldPID, SIGKILL)
        _ = await death { _ = try await counter.add(1) }
        try await host.restart()
        #expect(host.pid != oldPID)
        let fresh = try await host.spawn(Counter.self)
        #expect(try await fresh.add(1) == 1) // no state carried over
        #expect(try await fresh.keptActors() == 1)
        let again = await death { _ = try await counter.add(1) }
        #expect(again?.pid == oldPID)
        await host.shutdown()
    }

    @Test func cancellingTheCallerCancelsTheRemoteTask() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let call = Task { try await counter.hold(seconds: 20) }
        #expect(await eventually { host.pendingCallsForTests == 1 })
        call.cancel()
        await #expect(throws: CancellationError.self) { _ = try await call.value }
        // The host's task saw the cancellation: its sleep ended early.
        var cancelled = false
        let deadline = ContinuousClock.now + testDeadline
        while !cancelled, ContinuousClock.now < deadline {
            cancelled = try await counter.wasCancelled()
            if !cancelled { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(cancelled)
        // The actor is still usable.
        #expect(try await counter.add(2) == 2)
        await host.shutdown()
    }

    @Test func aHostCallsBackAnActorOfTheProgram() async throws {
        let host = try await ActorHost()
        let counter = try await host.spawn(Counter.self)
        let sink = Sink.local()
        _ = try await counter.add(7)
        #expect(try await counter.report(to: sink, times: 3) == 3)
        #expect(try await sink.count() == 3)
        // The program keeps its actor alive for the host until released.
        try await sink.release()
        await host.shutdown()
    }

    /// Two hosts with a counter each.
    func twoHostsWithACounterEach() async throws -> (first: ActorHost, second: ActorHost, a: Counter, b: Counter) {
        let first = try await ActorHost()
        let second = try await ActorHost()
        return (first, second, try await first.spawn(Counter.self), try await second.spawn(Counter.self))
    }

    @Test func anActorOfOneHostIsPassedToAnother() async throws {
        let (first, second, a, b) = try await twoHostsWithACounterEach()
        // b's host calls a through the program.
        #expect(try await b.addThrough(a, amount: 4) == 4)
        #expect(try await a.total() == 4)
        // An actor made in a host and returned lives until released.
        let made = try await a.makeCounter()
        #expect(try await made.add(9) == 9)
        #expect(try await made.processID() == first.pid)
        try await made.release()
        await first.shutdown()
        await second.shutdown()
    }

    @Test func aCallForwardedToAHostThatIsGoneThrowsThatHostsErrorTyped() async throws {
        let (first, second, a, b) = try await twoHostsWithACounterEach()
        #expect(try await b.addThrough(a, amount: 1) == 1)
        let (name, pid) = (first.name, first.pid)
        await first.shutdown()
        // b's host calls a through the program, which knows a's host is gone: the error crosses
        // two processes as itself (an `ActorHostError`, not a `RemoteCallError`).
        do {
            _ = try await b.addThrough(a, amount: 1)
            Issue.record("a call on an actor of a host that was shut down returned")
        } catch ActorHostError.hostShutDown(let thrownName, let thrownPid) {
            #expect(thrownName == name && thrownPid == pid)
        }
        #expect(try await b.total() == 0)
        await second.shutdown()
    }
}
