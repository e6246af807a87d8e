import Testing
@testable import MulticoreThreading

@Suite struct EventTests {
    @Test func setClearAndWait() throws {
        let event = Event()
        #expect(!event.isSet)
        #expect(try !event.wait(timeout: .milliseconds(5)))
        event.set()
        #expect(event.isSet)
        #expect(try event.wait(timeout: .zero))
        #expect(try event.wait())
        event.clear()
        #expect(!event.isSet)
        #expect(throws: ThreadingError.negativeTimeout) { try event.wait(timeout: .seconds(-1)) }
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func setWakesEveryWaiter(threads: Int) throws {
        let event = Event()
        let started = Counter()
        let waiters = try (0..<threads).map { _ in
            try spawn { () throws in
                started.add()
                #expect(try event.wait(timeout: testDeadline))
            }
        }
        #expect(eventually { started.value == threads })
        event.set()
        for waiter in waiters { #expect(try waiter.join(timeout: testDeadline)) }
    }

    /// gh-57711: a `set()` followed at once by `clear()` releases every waiter, each with true,
    /// even those that get the lock back only after the `clear()`.
    @Test(arguments: [false, true])
    func aPulseReleasesEveryWaiter(timed: Bool) throws {
        for _ in 0..<10 {
            let event = Event()
            let results = Recorder<Bool>()
            let waiters = try (0..<25).map { _ in
                try spawn { results.append(try timed ? event.wait(timeout: testDeadline) : event.wait()) }
            }
            #expect(eventually { event.waitingCount == 25 })
            event.set()
            event.clear()
            let limit = ContinuousClock.now + testDeadline // one deadline for all: a failure fails fast
            let ended = try waiters.allSatisfy { try $0.join(timeout: max(.zero, limit - .now)) }
            #expect(ended, "a waiter missed the pulse")
            #expect(results.items == [Bool](repeating: true, count: 25))
            #expect(!event.isSet)
            if !ended { event.set(); break } // releases the stuck ones
        }
    }
}
