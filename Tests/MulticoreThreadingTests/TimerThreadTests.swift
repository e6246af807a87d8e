import Testing
@testable import MulticoreThreading

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
