import Distributed
@testable import MulticoreActors
import MulticoreProcessing
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A call waiting for its answer on its own thread (`callerWait`, `ReadTurn`): answered there
/// when quick, suspended when not, and the same calls, errors and deaths as a suspended one.
@Suite(.timeLimit(.minutes(5)))
struct ReadTurnTests {
    @Test func quickCallsAreAnsweredInTheCallersTurn() async throws {
        // A wait far longer than any call here: every call of this one caller is answered in
        // its turn (the loop reads nothing: nothing comes between turns).
        let host = try await ActorHost(callerWait: .seconds(60))
        let counter = try await host.spawn(Counter.self)
        let before = host.turnCountsForTests
        var total = 0
        for value in 1...200 { total = try await counter.add(value) }
        #expect(total == 200 * 201 / 2)
        let after = host.turnCountsForTests
        #expect(after.answered - before.answered == 200)
        #expect(after.missed == 0)
        await host.shutdown()
    }

    @Test func aHostsCallsBackAndOtherCallersAnswersAreHandedOnByATurn() async throws {
        let host = try await ActorHost(callerWait: .seconds(60))
        let counter = try await host.spawn(Counter.self)
        let sink = Sink.local()
        let gate = TaskGate(parties: 4)
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for caller in 0..<4 {
                group.addTask {
                    await gate.arrive()
                    var reported = 0
                    for _ in 0..<50 { _ = try await counter.add(1) }
                    if caller.isMultiple(of: 2) { reported = try await counter.report(to: sink, times: 5) }
                    return (caller, reported)
                }
            }
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        // What `report` returns is the sink's count after its last note: 5 to 10.
        #expect(results.keys.sorted() == [0, 1, 2, 3])
        #expect(results[1] == 0 && results[3] == 0)
        #expect((5...10).contains(results[0] ?? 0) && (5...10).contains(results[2] ?? 0))
        #expect(try await counter.total() == 200)
        #expect(try await sink.count() == 10)
        #expect(host.turnCountsForTests.answered > 0)
        #expect(host.turnCountsForTests.missed == 0)
        await host.shutdown()
    }

    @Test func aCallSlowerThanTheWaitSuspendsAndTheNextCallsBackOff() async throws {
        // Long enough for the quick calls here, shorter than the slow one.
        let host = try await ActorHost(callerWait: .milliseconds(200))
        let counter = try await host.spawn(Counter.self)
        // Quick calls until one is answered in its turn. The spawn or a first call may outlast
        // the wait on a loaded machine (under ThreadSanitizer, say): a miss leaves the next
        // calls without a turn, and an answered turn ends that, so from here the state is known.
        var total = 0
        var before = host.turnCountsForTests
        var settled = false
        for _ in 0..<200 where !settled {
            total = try await counter.add(1)
            let now = host.turnCountsForTests
            settled = now.answered > before.answered
            before = now
        }
        try #require(settled, "no quick call of 200 was answered in its turn")
        // A second-long call outlasts its turn, then is answered suspended.
        #expect(try await counter.hold(seconds: 1) == false)
        let missed = host.turnCountsForTests
        #expect(missed.missed - before.missed == 1)
        #expect(missed.answered == before.answered)
        // The next call takes no turn (one skipped after one miss); a later one does (the one
        // right after may find the loop still busy with the skipped call's answer).
        total += 1
        #expect(try await counter.add(1) == total)
        #expect(host.turnCountsForTests.answered == before.answered)
        for _ in 0..<20 where host.turnCountsForTests.answered == before.answered {
            total = try await counter.add(1)
        }
        #expect(host.turnCountsForTests.answered == before.answered + 1)
        #expect(try await counter.total() == total)
        await host.shutdown()
    }

    @Test func aZeroWaitSuspendsEveryCall() async throws {
        let host = try await ActorHost(callerWait: .zero)
        let counter = try await host.spawn(Counter.self)
        var total = 0
        for _ in 0..<50 { total = try await counter.add(2) }
        #expect(total == 100)
        #expect(host.turnCountsForTests.answered == 0)
        #expect(host.callerWait == .zero)
        await host.shutdown()
    }

    @Test func aNegativeWaitOrSpinIsRefused() async throws {
        await #expect(throws: ActorHostError.self) { _ = try await ActorHost(callerWait: .milliseconds(-1)) }
        await #expect(throws: ActorHostError.self) { _ = try await ActorHost(spin: .microseconds(-1)) }
        let messages = [ActorHostError.callerWaitNegative(.milliseconds(-1)), .spinNegative(.microseconds(-1))].map(\.description)
        #expect(messages == ["callerWait must be zero or more, not -0.001 seconds", "spin must be zero or more, not -1e-06 seconds"])
        do {
            _ = try await ActorHost(callerWait: .milliseconds(-1))
        } catch ActorHostError.callerWaitNegative(let wait) {
            #expect(wait == .milliseconds(-1))
        }
    }

    @Test func aHostThatDiesDuringATurnFailsTheCallAtOnce() async throws {
        // The turn reads the end of the link and ends (it does not run out its minute); the
        // loop then fails the call with the host's death.
        let host = try await ActorHost(callerWait: .seconds(60))
        let counter = try await host.spawn(Counter.self)
        _ = try await counter.add(1)
        do {
            try await counter.crash("kill")
            Issue.record("the call returned")
        } catch ActorHostError.hostDied(let death) {
            #expect(death.signal == SIGKILL)
        }
        #expect(host.turnCountsForTests.missed == 0)
        await #expect(throws: ActorHostError.self) { _ = try await counter.add(1) }
        await host.shutdown()
    }
}

/// The busy wait before a link's end sleeps (`SpinWait`).
@Suite
struct SpinWaitTests {
    @Test func aSpinEndsWhenReadyAndBacksOffAfterMisses() {
        var spin = SpinWait(limit: .microseconds(200))
        guard cpuCount() > 1 else {
            // With one CPU it never spins: the peer could not run meanwhile.
            #expect(spin.limit == 0)
            #expect(!spin.spin { Issue.record("polled with one CPU"); return true })
            return
        }
        // It polls until ready (a limit no preemption can reach here), at least once.
        var long = SpinWait(limit: .seconds(60))
        var polls = 0
        #expect(long.spin { polls += 1; return polls == 3 })
        #expect(polls == 3)
        // A miss polls until the time is up, then skips the next spin; two in a row skip three.
        #expect(!spin.spin { false })
        #expect(!spin.spin { Issue.record("polled during the back-off"); return true })
        #expect(!spin.spin { false })
        for _ in 0..<3 { #expect(!spin.spin { Issue.record("polled during the back-off"); return true }) }
        // The back-off over, a spin that finds its message resets it.
        #expect(spin.spin { true })
        #expect(!spin.spin { false })
        #expect(!spin.spin { Issue.record("polled during the back-off"); return true })
        #expect(spin.spin { true })
    }

    @Test func aZeroLimitNeverSpins() {
        var spin = SpinWait(limit: .zero)
        #expect(!spin.spin { Issue.record("polled with no limit"); return true })
    }

    @Test func callsWithoutSpinningAreTheSameCalls() async throws {
        let host = try await ActorHost(spin: .zero)
        let counter = try await host.spawn(Counter.self)
        var total = 0
        for value in 1...100 { total = try await counter.add(value) }
        #expect(total == 5050)
        #expect(host.spin == .zero)
        await host.shutdown()
    }
}
