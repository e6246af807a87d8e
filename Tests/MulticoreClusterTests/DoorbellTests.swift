@testable import MulticoreCluster
import MulticoreTestSupport
import Testing

/// The cluster loops' wake-up: a ring wakes the waiter or is kept for the next wait, a wait
/// ends at its limit, and a cancelled waiter returns. No database here. A wait that should end
/// and does not runs into its 600 s limit, past the suite's time limit: the test fails then.
@Suite(.timeLimit(.minutes(5)))
struct DoorbellTests {
    @Test func aRingWhileNobodyWaitsIsKeptForTheNextWaitOnly() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring() // rings do not count
        await bell.wait(upTo: .seconds(600))
        // Used up: the next wait waits.
        let waiter = Task { await bell.wait(upTo: .seconds(600)) }
        #expect(await eventually { bell.isWaitingForTests })
        waiter.cancel()
        await waiter.value
        #expect(!bell.isWaitingForTests)
    }

    @Test func aRingWakesTheTaskThatWaits() async {
        let bell = Doorbell()
        for _ in 0..<50 {
            let waiter = Task { await bell.wait(upTo: .seconds(600)) }
            #expect(await eventually { bell.isWaitingForTests })
            bell.ring()
            await waiter.value
            #expect(!bell.isWaitingForTests)
        }
    }

    @Test func aWaitEndsAtItsLimitAndOnlyItsOwn() async {
        let bell = Doorbell()
        await bell.wait(upTo: .milliseconds(10))
        #expect(!bell.isWaitingForTests)
        // A wait that a ring ended before its 30 ms limit: that limit, when it comes, does not
        // end the next wait (each limit knows its own wait).
        let short = Task { await bell.wait(upTo: .milliseconds(30)) }
        #expect(await eventually { bell.isWaitingForTests })
        bell.ring()
        await short.value
        let waiter = Task { await bell.wait(upTo: .seconds(600)) }
        #expect(await eventually { bell.isWaitingForTests })
        try? await Task.sleep(for: .milliseconds(100)) // past the first wait's limit
        #expect(bell.isWaitingForTests, "an earlier wait's limit ended this one")
        bell.ring()
        await waiter.value
    }

    @Test func aCancelledTaskDoesNotWait() async {
        let bell = Doorbell()
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await bell.wait(upTo: .seconds(600))
        }
        await waiter.value
        #expect(!bell.isWaitingForTests)
    }
}
