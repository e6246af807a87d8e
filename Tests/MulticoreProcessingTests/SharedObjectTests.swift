import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreThreading

/// Adds 1 to `counter` `times` times, each under the value's lock, after the start gate.
struct Incrementer: ProcessTask {
    var counter: SharedValue<Int>
    var gate: SharedEvent
    var times: Int
    func run() throws -> Int {
        try gate.wait(timeout: .seconds(20))
        for _ in 0..<times { try counter.withLock { $0 += 1 } }
        return times
    }
}

/// Takes `lock`, says so, and sleeps until killed.
struct LockHolder: ProcessTask {
    var lock: SharedLock
    var holding: SharedEvent
    func run() throws -> Int {
        try lock.acquire()
        holding.set()
        while true { pause() }
    }
}

/// Waits for `event`, or reports false after 20 s.
struct EventWaiter: ProcessTask {
    var event: SharedEvent
    func run() throws -> Bool { try event.wait(timeout: .seconds(20)) }
}

/// Acquires `semaphore` (20 s at most) and reports whether it did.
struct SemaphoreTaker: ProcessTask {
    var semaphore: SharedSemaphore
    var started: SharedEvent
    func run() throws -> Bool {
        started.set()
        return try semaphore.acquire(timeout: .seconds(20))
    }
}

/// Waits on `condition` until `value` reaches `target`, then returns it.
struct ConditionWaiter: ProcessTask {
    var condition: SharedCondition
    var value: SharedValue<Int>
    var target: Int
    func run() throws -> Int {
        try condition.withLock {
            guard try condition.waitFor(timeout: .seconds(20), { value.value >= target }) else { return -1 }
            return value.value
        }
    }
}

/// Waits at `barrier` and returns its arrival index.
struct BarrierParty: ProcessTask {
    var barrier: SharedBarrier
    func run() throws -> Int { try barrier.wait(timeout: .seconds(20)) }
}

/// Fills `array` with its indices times `factor`.
struct ArrayFiller: ProcessTask {
    var array: SharedArray<Double>
    var factor: Double
    func run() throws -> Int {
        array.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices { buffer[index] = Double(index) * factor }
        }
        return array.count
    }
}

func startAll<T: ProcessTask>(_ tasks: [T]) throws -> [ChildProcess<T>] {
    let children = tasks.map { ChildProcess(task: $0) }
    for child in children { try child.start() }
    return children
}

func joinAll<T: ProcessTask>(_ children: [ChildProcess<T>]) throws -> [T.Output] {
    try children.map { child in
        #expect(try child.join(timeout: testDeadline))
        return try child.result()
    }
}

@Suite(.timeLimit(.minutes(5))) struct SharedLockTests {
    @Test func processesIncrementASharedValueUnderItsLock() throws {
        let counter = try SharedValue(0)
        let gate = try SharedEvent()
        let children = try startAll((0..<4).map { _ in Incrementer(counter: counter, gate: gate, times: 5_000) })
        gate.set()
        for _ in 0..<5_000 { try counter.withLock { $0 += 1 } }
        #expect(try joinAll(children) == [5_000, 5_000, 5_000, 5_000])
        #expect(counter.value == 25_000)
    }

    @Test func aLockWhoseHolderDiedGoesToTheNextAcquirerWithAnError() throws {
        let lock = try SharedLock()
        let holding = try SharedEvent()
        let child = ChildProcess(task: LockHolder(lock: lock, holding: holding))
        try child.start()
        #expect(try holding.wait(timeout: testDeadline))
        #expect(lock.locked && lock.ownerProcess == child.pid)
        #expect(try !lock.acquire(blocking: false))
        #expect(try !lock.acquire(timeout: .milliseconds(20)))
        try child.kill()
        #expect(try child.join(timeout: testDeadline))
        #expect(throws: OwnerDiedError(owner: child.pid!)) { try lock.acquire(timeout: testDeadline) }
        #expect(lock.ownerProcess == getpid(), "the lock is held by the one that was told")
        try lock.release()
        #expect(try lock.acquire(timeout: testDeadline))
        try lock.release()
    }

    @Test func lockMisuseThrows() throws {
        let lock = try SharedLock()
        #expect(throws: ThreadingError.releaseUnlocked) { try lock.release() }
        #expect(throws: ThreadingError.timeoutOnNonBlockingCall) { try lock.acquire(blocking: false, timeout: .seconds(1)) }
        #expect(throws: ThreadingError.negativeTimeout) { try lock.acquire(timeout: .seconds(-1)) }
        // Any thread may release a held lock, as in Python.
        try lock.acquire()
        let releaser = JoinableThread { try? lock.release() }
        try releaser.start()
        #expect(try releaser.join(timeout: testDeadline))
        #expect(!lock.locked)
    }

    @Test func anRLockIsReentrantAndOwned() throws {
        let lock = try SharedRLock()
        #expect(!lock.locked)
        try lock.acquire()
        #expect(lock.locked)
        try lock.acquire()
        #expect(lock.recursionCount == 2)
        let outsider = ValueThread<Bool> {
            do { try lock.release(); return false } catch { return error as? ThreadingError == .releaseNotOwned }
        }
        try outsider.start()
        #expect(try outsider.join(timeout: testDeadline))
        #expect(try outsider.value() == true)
        try lock.release()
        #expect(lock.isOwnedByCurrentThread)
        try lock.release()
        #expect(!lock.isOwnedByCurrentThread && !lock.locked)
        #expect(throws: ThreadingError.releaseNotOwned) { try lock.release() }
    }

    @Test func anRLockHeldByALiveThreadIsNotTakenOver() throws {
        let lock = try SharedRLock()
        let holding = Event(), release = Event()
        let holder = JoinableThread {
            _ = try? lock.acquire()
            holding.set()
            _ = try? release.wait(timeout: .seconds(20))
            try? lock.release()
        }
        try holder.start()
        #expect(try holding.wait(timeout: testDeadline))
        // Longer than the 10 ms liveness slices: the holder is checked and found alive.
        #expect(try !lock.acquire(timeout: .milliseconds(60)))
        release.set()
        #expect(try holder.join(timeout: testDeadline))
        #expect(try lock.acquire(timeout: testDeadline))
        try lock.release()
    }

    @Test func anRLockWhoseThreadEndedGoesToTheNextAcquirerWithAnError() throws {
        let lock = try SharedRLock()
        let holder = ValueThread<Int32> {
            _ = try? lock.acquire()
            return Int32(Threading.getNativeID())
        }
        try holder.start()
        #expect(try holder.join(timeout: testDeadline))
        let tid = try holder.value()
        #expect(eventually { processIsGone(tid) || !threadExists(tid) })
        #expect(throws: OwnerDiedError(owner: tid)) { try lock.acquire(timeout: testDeadline) }
        #expect(lock.recursionCount == 1)
        try lock.release()
    }
}

extension SharedLockTests {
    /// `SharedValue.withLock` takes its lock itself (not through the array's and the lock's
    /// `withLock`): the same behaviour, reentrancy and a dead holder included.
    @Test func aValuesWithLockIsReentrantAndReportsADeadHolder() throws {
        let value = try SharedValue(40)
        try value.withLock { outer in
            outer += 1
            #expect(value.lock?.recursionCount == 1)
            #expect(value.value == 41, "reading the value takes the lock once more")
        }
        #expect(value.lock?.locked == false)
        let holder = ValueThread<Int32> {
            _ = try? value.lock?.acquire()
            return Int32(Threading.getNativeID())
        }
        try holder.start()
        #expect(try holder.join(timeout: testDeadline))
        let tid = try holder.value()
        #expect(eventually { processIsGone(tid) || !threadExists(tid) })
        var ran = false
        #expect(throws: OwnerDiedError(owner: tid)) { try value.withLock { _ in ran = true } }
        #expect(!ran, "the body does not run when the holder died")
        #expect(value.lock?.locked == false, "the lock is released after the error")
        try value.withLock { $0 += 1 }
        #expect(value.value == 42)

        let unlocked = try SharedValue(7, lock: false)
        #expect(try unlocked.withLock { $0 *= 6; return $0 } == 42)
    }
}

func threadExists(_ tid: Int32) -> Bool { access("/proc/self/task/\(tid)", F_OK) == 0 }

@Suite(.timeLimit(.minutes(5))) struct SharedSyncTests {
    @Test func aSemaphoreReleasedInOneProcessWakesAnother() throws {
        let semaphore = try SharedSemaphore(value: 0)
        let started = try SharedEvent()
        let child = ChildProcess(task: SemaphoreTaker(semaphore: semaphore, started: started))
        try child.start()
        #expect(try started.wait(timeout: testDeadline))
        try semaphore.release()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == true)
        #expect(semaphore.currentValue == 0)
        #expect(try !semaphore.acquire(blocking: false))
        #expect(try !semaphore.acquire(timeout: .milliseconds(20)))
    }

    @Test func aBoundedSemaphoreRefusesToGoAboveItsStart() throws {
        let semaphore = try SharedBoundedSemaphore(value: 2)
        #expect(throws: ThreadingError.semaphoreOverReleased) { try semaphore.release() }
        #expect(try semaphore.acquire(blocking: false))
        #expect(throws: ThreadingError.semaphoreOverReleased) { try semaphore.release(2) }
        try semaphore.release()
        #expect(semaphore.currentValue == 2)
        #expect(throws: ThreadingError.releaseCountBelowOne) { try semaphore.release(0) }
        #expect(throws: ThreadingError.negativeSemaphoreValue) { try SharedSemaphore(value: -1) }
        // A bounded semaphore sent to another process stays bounded.
        let attached = try WireDecoder().decode(SharedBoundedSemaphore.self, from: WireEncoder().encode(semaphore))
        #expect(throws: ThreadingError.semaphoreOverReleased) { try attached.release() }
    }

    @Test func anEventSetInTheParentWakesChildren() throws {
        let event = try SharedEvent()
        #expect(try !event.wait(timeout: .milliseconds(10)))
        let children = try startAll([EventWaiter(event: event), EventWaiter(event: event)])
        event.set()
        #expect(try joinAll(children) == [true, true])
        #expect(event.isSet)
        event.clear()
        #expect(!event.isSet)
    }

    /// A `set()` then `clear()` releases every waiter, threads and processes, each with true.
    @Test func aPulseReleasesEveryWaiterInEveryProcess() throws {
        for _ in 0..<3 {
            let event = try SharedEvent()
            let children = try startAll([EventWaiter](repeating: EventWaiter(event: event), count: 4))
            let threads = try (0..<8).map { _ in
                let thread = ValueThread<Bool>(daemon: true) { try event.wait(timeout: testDeadline) }
                try thread.start()
                return thread
            }
            #expect(eventually { event.sleeperCount == 12 })
            event.set()
            event.clear()
            for thread in threads {
                #expect(try thread.join(timeout: testDeadline))
                #expect(try thread.value(), "a thread missed the pulse")
            }
            let outputs = try joinAll(children)
            #expect(outputs == [Bool](repeating: true, count: 4), "a process missed the pulse")
            #expect(!event.isSet)
            if outputs.contains(false) { break } // each miss cost its 20 s: once is enough
        }
    }

    @Test(arguments: [false, true])
    func aConditionWakesAWaiterInAnotherProcess(recursive: Bool) throws {
        let condition = recursive ? try SharedCondition() : try SharedCondition(lock: SharedLock())
        let value = try SharedValue(0, lock: false)
        let child = ChildProcess(task: ConditionWaiter(condition: condition, value: value, target: 3))
        try child.start()
        for step in 1...3 {
            try condition.withLock {
                value.value = step
                try condition.notifyAll()
            }
        }
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == 3)
    }

    @Test func conditionMisuseThrows() throws {
        let condition = try SharedCondition()
        #expect(throws: ThreadingError.waitWithoutLock) { try condition.wait(timeout: .zero) }
        #expect(throws: ThreadingError.notifyWithoutLock) { try condition.notify() }
        try condition.withLock {
            #expect(try !condition.wait(timeout: .milliseconds(10)), "a wait with nobody notifying times out")
            try condition.notify() // nobody sleeps: returns at once
        }
    }

    @Test func notifyWakesExactlyN() throws {
        let condition = try SharedCondition()
        let woken = Locked(0)
        let waiters = (0..<4).map { _ in
            JoinableThread {
                try? condition.withLock {
                    if try condition.wait(timeout: .seconds(20)) { woken.withLock { $0 += 1 } }
                }
            }
        }
        for thread in waiters { try thread.start() }
        // All four are asleep once the condition counts four sleepers.
        #expect(eventually { condition.sleeperCount == 4 })
        try condition.withLock { try condition.notify(2) }
        // notify returns once the two are awake; each counts itself before its lock is free.
        #expect(eventually { woken.withLock { $0 } == 2 })
        #expect(condition.sleeperCount == 2)
        try condition.withLock { try condition.notifyAll() }
        for thread in waiters { #expect(try thread.join(timeout: testDeadline)) }
        #expect(woken.withLock { $0 } == 4)
    }

    @Test func childrenAndParentMeetAtABarrier() throws {
        let barrier = try SharedBarrier(parties: 4)
        let children = try startAll((0..<3).map { _ in BarrierParty(barrier: barrier) })
        let mine = try barrier.wait(timeout: testDeadline)
        let indices = try joinAll(children) + [mine]
        #expect(Set(indices) == [0, 1, 2, 3])
    }

    @Test func aBarrierTimesOutAndBreaks() throws {
        let barrier = try SharedBarrier(parties: 2, timeout: .milliseconds(20))
        #expect(throws: BrokenBarrierError()) { try barrier.wait() }
        #expect(barrier.isBroken)
        #expect(throws: BrokenBarrierError()) { try barrier.wait() }
        try barrier.reset()
        #expect(!barrier.isBroken)
        try barrier.abort()
        #expect(throws: BrokenBarrierError()) { try barrier.wait(timeout: testDeadline) }
        #expect(throws: ThreadingError.invalidParties) { try SharedBarrier(parties: 0) }
    }

    @Test func aChildFillsASharedArray() throws {
        let array = try SharedArray(repeating: -1.0, count: 100_000)
        #expect(array[99_999] == -1)
        let child = ChildProcess(task: ArrayFiller(array: array, factor: 0.5))
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result() == 100_000)
        #expect(array[10] == 5 && array[99_999] == 49_999.5)
        let values = array.values
        #expect(values.count == 100_000 && values[2] == 1)
        let small = try SharedArray<Int32>([1, 2, 3], lock: false)
        small[1] = 20
        #expect(small.values == [1, 20, 3] && small.lock == nil)
    }

    /// A large array's elements start on a page of their own (a large copy into them runs at
    /// full speed), a small one's one cache line into its block; a child attaches to either.
    @Test func aLargeSharedArrayStartsOnAPage() throws {
        let large = try SharedArray(repeating: -1.0, count: 300_000, lock: false)
        let small = try SharedArray(repeating: -1.0, count: 1_000, lock: false)
        let address = { (array: SharedArray<Double>) in array.withUnsafeMutableBufferPointer { Int(bitPattern: $0.baseAddress) } }
        #expect(address(large) % 4096 == 0)
        #expect(address(small) % 4096 == SharedRegion.headerSize + SharedArray<Double>.smallDataOffset)
        for array in [large, small] {
            let child = ChildProcess(task: ArrayFiller(array: array, factor: 2))
            try child.start()
            #expect(try child.join(timeout: testDeadline))
            #expect(try child.result() == array.count)
            #expect(array[0] == 0 && array[array.count - 1] == Double(array.count - 1) * 2)
        }
    }
}

/// A timeout above `Threading.timeoutMax` is refused (Python: `OverflowError`), not read as "no limit".
@Suite(.timeLimit(.minutes(5))) struct ProcessTimeoutLimitTests {
    @Test func sharedObjectsQueuesAndJoinsRefuseATimeoutAboveTheMaximum() throws {
        let tooLarge = Threading.timeoutMax + .seconds(1)
        #expect(throws: ThreadingError.timeoutTooLarge) { try SharedLock().acquire(timeout: tooLarge) }
        #expect(throws: ThreadingError.timeoutTooLarge) { try SharedRLock().acquire(timeout: tooLarge) }
        #expect(throws: ThreadingError.timeoutTooLarge) { try SharedSemaphore(value: 0).acquire(timeout: tooLarge) }
        let event = try SharedEvent()
        #expect(throws: ThreadingError.timeoutTooLarge) { try event.wait(timeout: tooLarge) }
        let queue = try ProcessJoinableQueue<Int>()
        #expect(throws: QueueError.timeoutTooLarge) { try queue.get(timeout: tooLarge) }
        #expect(throws: QueueError.timeoutTooLarge) { try queue.put(1, timeout: tooLarge) }
        #expect(throws: QueueError.timeoutTooLarge) { try queue.join(timeout: tooLarge) }
        event.set()
        let child = ChildProcess(task: EventWaiter(event: event))
        try child.start()
        #expect(throws: ProcessError.timeoutTooLarge) { try child.join(timeout: tooLarge) }
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.result())
    }
}
