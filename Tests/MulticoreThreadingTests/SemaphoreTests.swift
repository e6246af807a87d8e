import Testing
@testable import MulticoreThreading

@Suite struct SemaphoreTests {
    @Test func negativeValueIsRejected() {
        #expect(throws: ThreadingError.negativeSemaphoreValue) { _ = try CountingSemaphore(value: -1) }
        #expect(throws: ThreadingError.negativeSemaphoreValue) { _ = try BoundedSemaphore(value: -1) }
    }

    @Test func acquireDecrementsAndBlocksAtZero() throws {
        let semaphore = try CountingSemaphore(value: 2)
        #expect(try semaphore.acquire(blocking: false))
        #expect(try semaphore.acquire(blocking: false))
        #expect(try !semaphore.acquire(blocking: false))
        #expect(try !semaphore.acquire(timeout: .milliseconds(10)))
        #expect(semaphore.currentValue == 0)
        try semaphore.release()
        #expect(try semaphore.acquire(timeout: .zero))
    }

    @Test func argumentRules() throws {
        let semaphore = try CountingSemaphore(value: 0)
        #expect(throws: ThreadingError.timeoutOnNonBlockingCall) {
            _ = try semaphore.acquire(blocking: false, timeout: .seconds(1))
        }
        #expect(throws: ThreadingError.negativeTimeout) { _ = try semaphore.acquire(timeout: .seconds(-1)) }
        #expect(throws: ThreadingError.releaseCountBelowOne) { try semaphore.release(0) }
    }

    @Test func releaseNWakesNWaiters() throws {
        let semaphore = try CountingSemaphore(value: 0)
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
        let semaphore = try CountingSemaphore(value: 1)
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
