@testable import MulticoreCluster
import Testing

/// The cluster loops' wake-up: a ring wakes the waiter or is kept for the next wait, a wait
/// ends at its limit, and a cancelled waiter returns. No database here.
@Suite(.timeLimit(.minutes(1)))
struct DoorbellTests {
    /// Whether `body` finished before `seconds` passed (the other way round: it was still waiting).
    private func finishes(within seconds: Int, _ body: @escaping @Sendable () async -> Void) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await body(); return true }
            group.addTask { try? await Task.sleep(for: .seconds(seconds)); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    @Test func aRingWhileNobodyWaitsIsKeptForTheNextWaitOnly() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring() // rings do not count
        #expect(await finishes(within: 20) { await bell.wait(upTo: .seconds(600)) })
        // Used up: the next wait lasts its limit.
        #expect(await finishes(within: 20) { await bell.wait(upTo: .milliseconds(20)) })
        let waiter = Task { await bell.wait(upTo: .seconds(600)) }
        #expect(await eventuallyAsync { bell.isWaitingForTests })
        waiter.cancel()
        #expect(await finishes(within: 20) { await waiter.value })
    }

    @Test func aRingWakesTheTaskThatWaits() async {
        let bell = Doorbell()
        for _ in 0..<50 {
            let waiter = Task { await bell.wait(upTo: .seconds(600)) }
            #expect(await eventuallyAsync { bell.isWaitingForTests })
            bell.ring()
            #expect(await finishes(within: 20) { await waiter.value })
            #expect(!bell.isWaitingForTests)
        }
    }

    @Test func aWaitEndsAtItsLimitAndOnlyItsOwn() async {
        let bell = Doorbell()
        #expect(await finishes(within: 20) { await bell.wait(upTo: .milliseconds(10)) })
        #expect(!bell.isWaitingForTests)
        // A wait that a ring ended before its 30 ms limit: that limit, when it comes, does not
        // end the next wait (each limit knows its own wait).
        let short = Task { await bell.wait(upTo: .milliseconds(30)) }
        #expect(await eventuallyAsync { bell.isWaitingForTests })
        bell.ring()
        await short.value
        let waiter = Task { await bell.wait(upTo: .seconds(600)) }
        #expect(await eventuallyAsync { bell.isWaitingForTests })
        try? await Task.sleep(for: .milliseconds(100)) // past the first wait's limit
        #expect(bell.isWaitingForTests, "an earlier wait's limit ended this one")
        bell.ring()
        #expect(await finishes(within: 20) { await waiter.value })
    }

    @Test func aCancelledTaskDoesNotWait() async {
        let bell = Doorbell()
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await bell.wait(upTo: .seconds(600))
        }
        #expect(await finishes(within: 20) { await waiter.value })
    }
}

/// Polls `condition` every millisecond for up to 20 s.
private func eventuallyAsync(_ condition: @Sendable () -> Bool) async -> Bool {
    for _ in 0..<20_000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return condition()
}
