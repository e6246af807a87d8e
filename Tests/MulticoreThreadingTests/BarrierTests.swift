import Testing
@testable import MulticoreThreading

@Suite struct BarrierTests {
    @Test func invalidArguments() {
        #expect(throws: ThreadingError.invalidParties) { _ = try Barrier(parties: 0) }
        #expect(throws: ThreadingError.negativeTimeout) { _ = try Barrier(parties: 1, timeout: .seconds(-1)) }
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func everyCycleGivesDistinctIndicesAndRunsTheActionOnce(parties: Int) throws {
        let actions = Counter()
        let barrier = try Barrier(parties: parties, timeout: testDeadline) { actions.add() }
        let indices = Recorder<Int>()
        let cycles = 5
        try race(parties) { _ in
            for _ in 0..<cycles { indices.append(try barrier.wait()) }
        }
        #expect(actions.value == cycles)
        #expect(indices.items.sorted() == (0..<parties).flatMap { Array(repeating: $0, count: cycles) })
        #expect(barrier.waitingCount == 0)
        #expect(!barrier.isBroken)
    }

    @Test func timeoutBreaksTheBarrierForEveryone() throws {
        let barrier = try Barrier(parties: 3)
        let other = try spawn { () throws in
            #expect(throws: BrokenBarrierError.self) { try barrier.wait(timeout: testDeadline) }
        }
        #expect(eventually { barrier.waitingCount == 1 })
        #expect(throws: BrokenBarrierError.self) { try barrier.wait(timeout: .milliseconds(10)) }
        #expect(barrier.isBroken)
        #expect(try other.join(timeout: testDeadline))
        #expect(throws: BrokenBarrierError.self) { try barrier.wait(timeout: testDeadline) }
    }

    @Test func defaultTimeoutAppliesAndPerCallTimeoutOverridesIt() throws {
        let barrier = try Barrier(parties: 2, timeout: .milliseconds(10))
        #expect(throws: BrokenBarrierError.self) { try barrier.wait() }
        #expect(barrier.isBroken)
        barrier.reset()
        // A per-call timeout longer than the default: the second party arrives in time.
        let other = try spawn { () throws in
            #expect(eventually { barrier.waitingCount == 1 })
            try barrier.wait(timeout: testDeadline)
        }
        try barrier.wait(timeout: testDeadline)
        #expect(try other.join(timeout: testDeadline))
        #expect(!barrier.isBroken)
    }

    @Test func abortBreaksAndResetRepairs() throws {
        let barrier = try Barrier(parties: 2)
        let waiter = try spawn { () throws in
            #expect(throws: BrokenBarrierError.self) { try barrier.wait(timeout: testDeadline) }
        }
        #expect(eventually { barrier.waitingCount == 1 })
        barrier.abort()
        #expect(try waiter.join(timeout: testDeadline))
        #expect(barrier.isBroken)
        barrier.reset()
        #expect(!barrier.isBroken)
        let indices = Recorder<Int>()
        try race(2) { _ in indices.append(try barrier.wait(timeout: testDeadline)) }
        #expect(indices.items.sorted() == [0, 1])
    }

    @Test func resetReleasesWaitersWithBrokenBarrierError() throws {
        let barrier = try Barrier(parties: 3)
        let waiters = try (0..<2).map { _ in
            try spawn { () throws in
                #expect(throws: BrokenBarrierError.self) { try barrier.wait(timeout: testDeadline) }
            }
        }
        #expect(eventually { barrier.waitingCount == 2 })
        barrier.reset()
        for waiter in waiters { #expect(try waiter.join(timeout: testDeadline)) }
        #expect(!barrier.isBroken, "after the reset drains, the barrier is usable")
        let indices = Recorder<Int>()
        try race(3) { _ in indices.append(try barrier.wait(timeout: testDeadline)) }
        #expect(indices.items.sorted() == [0, 1, 2])
    }

    @Test func throwingActionBreaksTheBarrier() throws {
        struct ActionFailed: Error {}
        let barrier = try Barrier(parties: 2) { throw ActionFailed() }
        let outcomes = Recorder<String>()
        let threads = try (0..<2).map { _ in
            try spawn {
                do { try barrier.wait(timeout: testDeadline); outcomes.append("passed") }
                catch is ActionFailed { outcomes.append("action") }
                catch is BrokenBarrierError { outcomes.append("broken") }
            }
        }
        for thread in threads { #expect(try thread.join(timeout: testDeadline)) }
        #expect(outcomes.items.sorted() == ["action", "broken"])
        #expect(barrier.isBroken)
    }
}
