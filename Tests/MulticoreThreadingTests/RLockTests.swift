import Testing
@testable import MulticoreThreading

@Suite struct RLockTests {
    @Test func reentrantAcquireCountsLevels() throws {
        let lock = RLock()
        #expect(lock.owner == nil)
        lock.acquire()
        lock.acquire()
        #expect(try lock.acquire(blocking: false))
        #expect(lock.recursionCount == 3)
        #expect(lock.owner == Threading.getIdent())
        try lock.release()
        try lock.release()
        #expect(lock.locked)
        try lock.release()
        #expect(!lock.locked)
        #expect(lock.owner == nil)
        #expect(lock.recursionCount == 0)
    }

    @Test func releaseWhenUnheldThrows() {
        let lock = RLock()
        #expect(throws: ThreadingError.releaseNotOwned) { try lock.release() }
    }

    @Test func releaseByNonOwnerThrowsAndKeepsTheLock() throws {
        let lock = RLock()
        lock.acquire()
        let other = try spawn { () throws in
            #expect(throws: ThreadingError.releaseNotOwned) { try lock.release() }
            #expect(lock.recursionCount == 0)
            #expect(try !lock.acquire(blocking: false))
        }
        #expect(try other.join(timeout: testDeadline))
        #expect(lock.isOwnedByCurrentThread)
        try lock.release()
    }

    @Test func otherThreadWaitsForFullRelease() throws {
        let lock = RLock()
        lock.acquire()
        lock.acquire()
        let acquired = Event()
        let other = try spawn { () throws in
            lock.acquire()
            acquired.set()
            try lock.release()
        }
        try lock.release()
        #expect(try !acquired.wait(timeout: shortWait), "one level is still held")
        try lock.release()
        #expect(try acquired.wait(timeout: testDeadline))
        #expect(try other.join(timeout: testDeadline))
    }

    @Test func timedAcquireAndArgumentRules() throws {
        let lock = RLock()
        lock.acquire()
        let other = try spawn { () throws in
            #expect(try !lock.acquire(timeout: .milliseconds(20)))
            #expect(throws: ThreadingError.timeoutOnNonBlockingCall) {
                _ = try lock.acquire(blocking: false, timeout: .seconds(1))
            }
            #expect(throws: ThreadingError.negativeTimeout) { _ = try lock.acquire(timeout: .seconds(-1)) }
        }
        #expect(try other.join(timeout: testDeadline))
        try lock.release()
    }

    @Test func withLockNestsAndReleasesOnThrow() {
        struct Boom: Error {}
        let lock = RLock()
        #expect(throws: Boom.self) {
            try lock.withLock {
                try lock.withLock {
                    #expect(lock.recursionCount == 2)
                    throw Boom()
                }
            }
        }
        #expect(!lock.locked)
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func mutualExclusionWithRecursion(threads: Int) throws {
        let lock = RLock()
        final class Unprotected: @unchecked Sendable { var value = 0 } // guarded by `lock` in this test
        let shared = Unprotected()
        try race(threads) { _ in
            for _ in 0..<5_000 {
                lock.withLock { lock.withLock { shared.value += 1 } }
            }
        }
        #expect(shared.value == threads * 5_000)
        #expect(!lock.locked)
    }
}
