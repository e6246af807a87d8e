import Testing
@testable import MulticoreThreading

@Suite struct LockTests {
    @Test func acquireAndRelease() throws {
        let lock = Lock()
        #expect(!lock.locked)
        lock.acquire()
        #expect(lock.locked)
        try lock.release()
        #expect(!lock.locked)
    }

    @Test func releaseUnlockedThrows() {
        let lock = Lock()
        #expect(throws: ThreadingError.releaseUnlocked) { try lock.release() }
        lock.acquire()
        #expect(throws: Never.self) { try lock.release() }
        #expect(throws: ThreadingError.releaseUnlocked) { try lock.release() }
    }

    @Test func nonBlockingAcquireFailsWhenHeld() throws {
        let lock = Lock()
        #expect(try lock.acquire(blocking: false))
        #expect(try !lock.acquire(blocking: false))
        #expect(!lock.tryAcquire())
        try lock.release()
        #expect(lock.tryAcquire())
    }

    @Test func argumentRules() {
        let lock = Lock()
        #expect(throws: ThreadingError.timeoutOnNonBlockingCall) {
            _ = try lock.acquire(blocking: false, timeout: .seconds(1))
        }
        #expect(throws: ThreadingError.negativeTimeout) {
            _ = try lock.acquire(timeout: .seconds(-1))
        }
        #expect(!lock.locked)
    }

    @Test func timedAcquireTimesOutWhileHeld() throws {
        let lock = Lock()
        lock.acquire()
        let start = ContinuousClock.now
        #expect(try !lock.acquire(timeout: .milliseconds(30)))
        #expect(ContinuousClock.now - start >= .milliseconds(30))
        #expect(try lock.acquire(blocking: true, timeout: .zero) == false)
    }

    @Test func anotherThreadMayRelease() throws {
        let lock = Lock()
        lock.acquire()
        let releaser = try spawn { try lock.release() }
        #expect(try releaser.join(timeout: testDeadline))
        #expect(releaser.error == nil)
        #expect(try lock.acquire(timeout: testDeadline))
    }

    @Test func blockedAcquirerWakesOnRelease() throws {
        let lock = Lock()
        lock.acquire()
        let acquired = Event()
        let waiter = try spawn { () throws in
            lock.acquire()
            acquired.set()
        }
        #expect(try !acquired.wait(timeout: shortWait))
        try lock.release()
        #expect(try acquired.wait(timeout: testDeadline))
        #expect(try waiter.join(timeout: testDeadline))
        #expect(lock.locked)
    }

    @Test func withLockReleasesWhenBodyThrows() {
        struct Boom: Error {}
        let lock = Lock()
        #expect(throws: Boom.self) { try lock.withLock { throw Boom() } }
        #expect(!lock.locked)
        #expect(lock.withLock { 42 } == 42)
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func mutualExclusionUnderContention(threads: Int) throws {
        let lock = Lock()
        final class Unprotected: @unchecked Sendable { var value = 0 } // guarded by `lock` in this test
        let shared = Unprotected()
        let perThread = 20_000
        try race(threads) { _ in
            for _ in 0..<perThread {
                lock.acquire()
                shared.value += 1
                try lock.release()
            }
        }
        #expect(shared.value == threads * perThread)
        #expect(!lock.locked)
    }

    @Test(arguments: [2, 4, 8, 16])
    func timedAcquiresUnderContentionNeverDoubleHold(threads: Int) throws {
        let lock = Lock()
        let inside = Counter()
        let violations = Counter()
        try race(threads) { _ in
            for _ in 0..<2_000 {
                if try lock.acquire(timeout: .microseconds(50)) {
                    inside.add(1)
                    if inside.value != 1 { violations.add() }
                    inside.add(-1)
                    try lock.release()
                }
            }
        }
        #expect(violations.value == 0)
        #expect(!lock.locked)
    }
}
