import Testing
@testable import MulticoreThreading

@Suite struct SemaphoreTests {
    @Test func negativeValueIsRejected() {
        #expect(throws: ThreadingError.negativeSemaphoreValue) { _ = try Semaphore(value: -1) }
        #expect(throws: ThreadingError.negativeSemaphoreValue) { _ = try BoundedSemaphore(value: -1) }
    }

    @Test func acquireDecrementsAndBlocksAtZero() throws {
        let semaphore = try Semaphore(value: 2)
        #expect(try semaphore.acquire(blocking: false))
        #expect(try semaphore.acquire(blocking: false))
        #expect(try !semaphore.acquire(blocking: false))
        #expect(try !semaphore.acquire(timeout: .milliseconds(10)))
        #expect(semaphore.currentValue == 0)
        try semaphore.release()
        #expect(try semaphore.acquire(timeout: .zero))
    }

    @Test func argumentRules() throws {
        let semaphore = try Semaphore(value: 0)
        #expect(throws: ThreadingError.timeoutOnNonBlockingCall) {
            _ = try semaphore.acquire(blocking: false, timeout: .seconds(1))
        }
        #expect(throws: ThreadingError.negativeTimeout) { _ = try semaphore.acquire(timeout: .seconds(-1)) }
        #expect(throws: ThreadingError.releaseCountBelowOne) { try semaphore.release(0) }
    }

    @Test func releaseNWakesNWaiters() throws {
        let semaphore = try Semaphore(value: 0)
        let passed = Counter()
        let waiters = try (0..<5).map { _ in
            try spawn { () throws in
                #expect(try semaphore.acquire(timeout: testDeadline))
                passed.add()
            }
        }
        try semaphore.release(3)
        #expect(eventually { passed.value == 3 })
        #expect(semaphore.currentValue == 0)
        try semaphore.release(2)
        for waiter in waiters { #expect(try waiter.join(timeout: testDeadline)) }
        #expect(passed.value == 5)
    }

    @Test func plainSemaphoreMayGrowPastItsInitialValue() throws {
        let semaphore = try Semaphore(value: 1)
        try semaphore.release(5)
        #expect(semaphore.currentValue == 6)
    }

    @Test func boundedSemaphoreRefusesOverRelease() throws {
        let semaphore = try BoundedSemaphore(value: 2)
        #expect(throws: ThreadingError.semaphoreOverReleased) { try semaphore.release() }
        semaphore.acquire()
        #expect(throws: ThreadingError.semaphoreOverReleased) { try semaphore.release(2) }
        #expect(semaphore.currentValue == 1, "a refused release changes nothing")
        try semaphore.release()
        #expect(semaphore.currentValue == 2)
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func neverMoreHoldersThanTheValue(threads: Int) throws {
        let semaphore = try BoundedSemaphore(value: 3)
        let inside = Counter()
        let overLimit = Counter()
        try race(threads) { _ in
            for _ in 0..<500 {
                semaphore.withAcquired {
                    inside.add(1)
                    if inside.value > 3 { overLimit.add() }
                    inside.add(-1)
                }
            }
        }
        #expect(overLimit.value == 0)
        #expect(semaphore.currentValue == 3)
    }
}

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
}

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

@Suite struct TimerThreadTests {
    @Test func firesAfterTheInterval() throws {
        let fired = Event()
        let start = ContinuousClock.now
        let timer = TimerThread(interval: .milliseconds(20), daemon: true) { fired.set() }
        try timer.start()
        #expect(try fired.wait(timeout: testDeadline))
        #expect(ContinuousClock.now - start >= .milliseconds(20))
        #expect(try timer.join(timeout: testDeadline))
    }

    @Test func cancelledTimerNeverFires() throws {
        let fired = Event()
        let timer = TimerThread(interval: .seconds(60), daemon: true) { fired.set() }
        try timer.start()
        timer.cancel()
        #expect(try timer.join(timeout: testDeadline))
        #expect(!fired.isSet)
    }

    @Test func timerIsAThreadNamedLikeOne() throws {
        let timer = TimerThread(interval: .zero, daemon: true) {}
        #expect(timer.name.hasPrefix("Thread-"))
        try timer.start()
        #expect(throws: ThreadingError.alreadyStarted) { try timer.start() }
        #expect(try timer.join(timeout: testDeadline))
    }
}

@Suite struct ThreadLocalTests {
    @Test(arguments: [1, 2, 4, 8, 16])
    func eachThreadSeesItsOwnValue(threads: Int) throws {
        let local = ThreadLocal<Int> { -1 }
        local.value = 1000
        let seen = Recorder<Int>()
        try race(threads) { index in
            seen.append(local.value) // a fresh thread starts from the default
            local.value = index
            for _ in 0..<100 { #expect(local.value == index) }
        }
        #expect(seen.items == Array(repeating: -1, count: threads))
        #expect(local.value == 1000)
    }

    @Test func separateLocalsAreIndependent() {
        let a = ThreadLocal<String> { "a" }
        let b = ThreadLocal<String> { "b" }
        a.value = "changed"
        #expect(b.value == "b")
        #expect(a.value == "changed")
    }

    @Test func valuesAreReleasedWhenTheThreadEnds() throws {
        final class Tracked: Sendable {
            let released: Event
            init(_ released: Event) { self.released = released }
            deinit { released.set() }
        }
        let released = Event()
        let local = ThreadLocal<Tracked?> { nil }
        let thread = try spawn { local.value = Tracked(released) }
        #expect(try thread.join(timeout: testDeadline))
        #expect(try released.wait(timeout: testDeadline))
    }
}
