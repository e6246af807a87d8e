import Distributed
@testable import MulticoreActors
import MulticoreTestSupport
import MulticoreThreading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An actor of a second host that uses the managed objects of the manager's host (through the
/// program): the other process of each contended test. Each waits at `gate` before it starts.
distributed actor ManagedUser: HostedActor {
    /// Appends `from..<from + count` to `list`, one call each.
    distributed func append(to list: ManagedList<Int>, from: Int, count: Int, after gate: ManagedEvent) async throws {
        guard try await gate.wait(timeout: testDeadline) else { throw ManagedError.lockTimedOut }
        for value in from..<(from + count) { try await list.append(value) }
    }

    /// Sets `count` keys of its own (`prefix-i` to i), and counts each call in `calls` under `lock`.
    distributed func fill(_ dictionary: ManagedDictionary<String, Int>, prefix: String, count: Int,
                          calls: ManagedValue<Int>, lock: ManagedLock, after gate: ManagedEvent) async throws {
        guard try await gate.wait(timeout: testDeadline) else { throw ManagedError.lockTimedOut }
        for index in 0..<count {
            try await dictionary.set("\(prefix)-\(index)", index)
            try await increment(calls, under: lock)
        }
    }

    /// Adds 1 to `value` `times` times, each a read and a write under `lock`.
    distributed func increment(_ value: ManagedValue<Int>, under lock: ManagedLock, times: Int, after gate: ManagedEvent) async throws {
        guard try await gate.wait(timeout: testDeadline) else { throw ManagedError.lockTimedOut }
        for _ in 0..<times { try await increment(value, under: lock) }
    }

    private func increment(_ value: ManagedValue<Int>, under lock: ManagedLock) async throws {
        try await lock.withLock(timeout: testDeadline) {
            try await value.set(try await value.get() + 1)
        }
    }

    /// Puts `from..<from + count` in `queue` (waiting for room).
    distributed func produce(into queue: ManagedQueue<Int>, from: Int, count: Int, after gate: ManagedEvent) async throws {
        guard try await gate.wait(timeout: testDeadline) else { throw ManagedError.lockTimedOut }
        for value in from..<(from + count) { try await queue.put(value, timeout: testDeadline) }
    }

    /// Waits for `event`; says whether it was set and this process's pid.
    distributed func wait(for event: ManagedEvent) async throws -> Int32? {
        try await event.wait(timeout: testDeadline) ? getpid() : nil
    }
}

/// The tasks these tests start, and their polling, run on threads of their own: on the
/// cooperative pool (2 threads, shared with every suite running meanwhile, many of whose tests
/// block a thread while they wait) a task of this file was seen to wait 22 s to start in a full
/// run, and over 100 s, past its test's deadline, under ThreadSanitizer. (Nil if no thread could
/// be had: the tasks then run on the cooperative pool.)
private let ownThreads = try? ThreadPoolExecutor(maxWorkers: 4, threadNamePrefix: "managed-tests")

/// A task of its own that runs on `ownThreads`.
private func started<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Task<T, any Error> {
    Task(executorPreference: ownThreads, operation: body)
}

/// Polls `condition` until it holds or the test deadline passes, on `ownThreads`.
private func eventuallyTrue(_ condition: () async throws -> Bool) async throws -> Bool {
    try await withTaskExecutorPreference(ownThreads) {
        let deadline = ContinuousClock.now + testDeadline
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(1))
        }
        return false
    }
}

/// The ready-made managed objects (`ActorManager`), each used from the program and from actors
/// of other hosts at once.
@Suite(.timeLimit(.minutes(5)))
struct ManagedObjectsTests {
    @Test func aDictionaryIsSharedAcrossProcesses() async throws {
        let manager = try await ActorManager()
        let users = try await ActorHost()
        let scores = try await manager.dict(["ada": 1])
        #expect(try await scores.get("ada") == 1)
        #expect(try await scores.get("bob") == nil)
        #expect(try await scores.get("bob", default: 7) == 7)
        await #expect(throws: ManagedError.keyNotFound("bob")) { _ = try await scores.value(for: "bob") }
        #expect(try await scores.setDefault("bob", 2) == 2)
        #expect(try await scores.setDefault("bob", 9) == 2)
        try await scores.update(["cy": 3, "ada": 10])
        #expect(try await scores.copy() == ["ada": 10, "bob": 2, "cy": 3])
        #expect(try await scores.pop("cy") == 3)
        await #expect(throws: ManagedError.keyNotFound("cy")) { _ = try await scores.pop("cy") }
        #expect(try await scores.remove("cy") == nil)
        #expect(try await scores.contains("bob"))
        #expect(try await Set(scores.keys()) == ["ada", "bob"])
        try await scores.clear()
        #expect(try await scores.count() == 0)

        // Two actors of another host and the program fill it at once, after one gate.
        let gate = try await manager.event()
        let lock = try await manager.lock()
        let calls = try await manager.value(0)
        let first = try await users.spawn(ManagedUser.self), second = try await users.spawn(ManagedUser.self)
        let count = 40
        async let a: Void = first.fill(scores, prefix: "a", count: count, calls: calls, lock: lock, after: gate)
        async let b: Void = second.fill(scores, prefix: "b", count: count, calls: calls, lock: lock, after: gate)
        #expect(try await eventuallyTrue { try await gate.waitingCount() == 2 })
        try await gate.set()
        for index in 0..<count { try await scores.set("p-\(index)", index) }
        _ = try await (a, b)
        let all = try await scores.copy()
        #expect(all.count == 3 * count)
        for prefix in ["a", "b", "p"] {
            for index in 0..<count { #expect(all["\(prefix)-\(index)"] == index) }
        }
        #expect(try await calls.get() == 2 * count)
        await users.shutdown()
        await manager.shutdown()
    }

    @Test func aListTakesPythonsIndicesAndKeepsEachWritersOrder() async throws {
        let manager = try await ActorManager()
        let users = try await ActorHost()
        let list = try await manager.list(["a", "b"])
        try await list.append("c")
        try await list.extend(["d", "e"])
        #expect(try await list.get(0) == "a")
        #expect(try await list.get(-1) == "e")
        try await list.set(-2, "D")
        try await list.insert("z", at: -100)
        try await list.insert("y", at: 100)
        #expect(try await list.elements() == ["z", "a", "b", "c", "D", "e", "y"])
        #expect(try await list.pop() == "y")
        #expect(try await list.pop(0) == "z")
        await #expect(throws: ManagedError.indexOutOfRange(index: 5, count: 5)) { _ = try await list.get(5) }
        await #expect(throws: ManagedError.indexOutOfRange(index: -6, count: 5)) { try await list.set(-6, "x") }
        try await list.clear()
        await #expect(throws: ManagedError.indexOutOfRange(index: -1, count: 0)) { _ = try await list.pop() }

        // Two actors in two other hosts append at once, after one gate: nothing lost, each in its order.
        let numbers: ManagedList<Int> = try await manager.list()
        let gate = try await manager.event()
        let other = try await ActorHost()
        let first = try await users.spawn(ManagedUser.self), second = try await other.spawn(ManagedUser.self)
        let count = 100
        async let a: Void = first.append(to: numbers, from: 0, count: count, after: gate)
        async let b: Void = second.append(to: numbers, from: 1000, count: count, after: gate)
        #expect(try await eventuallyTrue { try await gate.waitingCount() == 2 })
        try await gate.set()
        _ = try await (a, b)
        let all = try await numbers.elements()
        #expect(all.count == 2 * count)
        #expect(all.filter { $0 < 1000 } == Array(0..<count))
        #expect(all.filter { $0 >= 1000 } == Array(1000..<(1000 + count)))
        await other.shutdown()
        await users.shutdown()
        await manager.shutdown()
    }

    /// A read-modify-write of a managed value under a managed lock, from actors of two other
    /// hosts and the program at once: no increment is lost.
    @Test func aLockMakesReadModifyWriteExact() async throws {
        let manager = try await ActorManager()
        let hosts = [try await ActorHost(), try await ActorHost()]
        let value = try await manager.value(0)
        let lock = try await manager.lock()
        let gate = try await manager.event()
        let users = [try await hosts[0].spawn(ManagedUser.self), try await hosts[1].spawn(ManagedUser.self)]
        let times = 50
        async let a: Void = users[0].increment(value, under: lock, times: times, after: gate)
        async let b: Void = users[1].increment(value, under: lock, times: times, after: gate)
        #expect(try await eventuallyTrue { try await gate.waitingCount() == 2 })
        try await gate.set()
        for _ in 0..<times {
            try await lock.withLock(timeout: testDeadline) { try await value.set(try await value.get() + 1) }
        }
        _ = try await (a, b)
        #expect(try await value.get() == 3 * times)
        #expect(try await !lock.isLocked())
        #expect(try await value.exchange(-1) == 3 * times)
        for host in hosts { await host.shutdown() }
        await manager.shutdown()
    }

    @Test func aWaitingAcquireHoldsUpNothingAndGetsTheLockOnRelease() async throws {
        let manager = try await ActorManager()
        let lock = try await manager.lock()
        let value = try await manager.value("x")
        await #expect(throws: ManagedError.lockNotHeld) { try await lock.unlock() }
        #expect(try await lock.acquire(timeout: .zero))
        #expect(try await !lock.tryAcquire())
        #expect(try await !lock.acquire(timeout: .milliseconds(20)))
        let waiting = started { try await lock.acquire(timeout: testDeadline) }
        #expect(try await eventuallyTrue { try await lock.waitingCount() == 1 })
        // The host serves other calls, on the lock and on other objects, while the acquire waits.
        try await value.set("y")
        #expect(try await value.get() == "y")
        #expect(try await lock.isLocked())
        try await lock.unlock()
        #expect(try await waiting.value)
        #expect(try await lock.isLocked()) // handed over, never free between
        try await lock.unlock()
        #expect(try await !lock.isLocked())
        // withLock releases when its body throws.
        await #expect(throws: ManagedError.keyNotFound("k")) {
            try await lock.withLock { throw ManagedError.keyNotFound("k") }
        }
        #expect(try await !lock.isLocked())
        // A held lock: withLock times out with a typed error.
        #expect(try await lock.acquire())
        await #expect(throws: ManagedError.lockTimedOut) { try await lock.withLock(timeout: .milliseconds(10)) {} }
        try await lock.unlock()
        await manager.shutdown()
    }

    @Test func aCancelledAcquireLeavesTheLineAndTakesNothing() async throws {
        let manager = try await ActorManager()
        let lock = try await manager.lock()
        #expect(try await lock.acquire())
        let waiting = started { try await lock.acquire() } // no timeout: only cancellation ends it
        #expect(try await eventuallyTrue { try await lock.waitingCount() == 1 })
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        #expect(try await eventuallyTrue { try await lock.waitingCount() == 0 })
        try await lock.unlock()
        #expect(try await !lock.isLocked())
        await manager.shutdown()
    }

    @Test func aQueueIsFirstInFirstOutAndBounded() async throws {
        let manager = try await ActorManager()
        let queue = try await manager.queue(of: String.self, maxSize: 2)
        await #expect(throws: ManagedError.empty) { _ = try await queue.getNowait() }
        await #expect(throws: ManagedError.empty) { _ = try await queue.get(timeout: .milliseconds(20)) }
        try await queue.put("a")
        try await queue.putNowait("b")
        #expect(try await queue.isFull())
        await #expect(throws: ManagedError.full) { try await queue.putNowait("c") }
        await #expect(throws: ManagedError.full) { try await queue.put("c", timeout: .milliseconds(20)) }
        // A put that waits for room holds up nothing, and goes in when a get makes room.
        let waitingPut = started { try await queue.put("c", timeout: testDeadline) }
        #expect(try await eventuallyTrue { try await queue.waitingCount() == 1 })
        #expect(try await queue.count() == 2)
        #expect(try await queue.get() == "a")
        try await waitingPut.value
        #expect(try await queue.getNowait() == "b")
        #expect(try await queue.get(timeout: .zero) == "c")
        #expect(try await queue.isEmpty())
        await #expect(throws: ManagedError.negativeMaxSize(-1)) { _ = try await manager.queue(of: Int.self, maxSize: -1) }

        // A get that waits for an item holds up nothing, and takes the next put.
        let waitingGet = started { try await queue.get(timeout: testDeadline) }
        #expect(try await eventuallyTrue { try await queue.waitingCount() == 1 })
        #expect(try await queue.count() == 0)
        try await queue.put("d")
        #expect(try await waitingGet.value == "d")
        #expect(try await queue.isEmpty())

        // taskDone and join: join waits until every item put is marked done.
        #expect(try await !queue.join(timeout: .zero))
        for _ in 0..<3 { try await queue.taskDone() }
        #expect(try await !queue.join(timeout: .milliseconds(10)))
        let joined = started { try await queue.join(timeout: testDeadline) }
        #expect(try await eventuallyTrue { try await queue.waitingCount() == 1 })
        try await queue.taskDone()
        #expect(try await joined.value)
        await #expect(throws: ManagedError.taskDoneTooManyTimes) { try await queue.taskDone() }
        await manager.shutdown()
    }

    @Test func aCancelledGetLeavesTheLineAndTakesNoItem() async throws {
        let manager = try await ActorManager()
        let queue: ManagedQueue<Int> = try await manager.queue()
        let waiting = started { try await queue.get() } // no timeout: only cancellation ends it
        #expect(try await eventuallyTrue { try await queue.waitingCount() == 1 })
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        #expect(try await eventuallyTrue { try await queue.waitingCount() == 0 })
        try await queue.put(5)
        #expect(try await queue.count() == 1)
        #expect(try await queue.getNowait() == 5)
        await manager.shutdown()
    }

    /// Producers in two other hosts and a consumer in the program at once, through a small
    /// bounded queue: every item arrives once, each producer's in its order.
    @Test func producersInOtherHostsFeedAConsumer() async throws {
        let manager = try await ActorManager()
        let hosts = [try await ActorHost(), try await ActorHost()]
        let queue = try await manager.queue(of: Int.self, maxSize: 4)
        let gate = try await manager.event()
        let producers = [try await hosts[0].spawn(ManagedUser.self), try await hosts[1].spawn(ManagedUser.self)]
        let count = 100
        async let a: Void = producers[0].produce(into: queue, from: 0, count: count, after: gate)
        async let b: Void = producers[1].produce(into: queue, from: 1000, count: count, after: gate)
        #expect(try await eventuallyTrue { try await gate.waitingCount() == 2 })
        try await gate.set()
        var received: [Int] = []
        for _ in 0..<(2 * count) {
            received.append(try await queue.get(timeout: testDeadline))
            #expect(try await queue.count() <= 4)
        }
        _ = try await (a, b)
        #expect(received.filter { $0 < 1000 } == Array(0..<count))
        #expect(received.filter { $0 >= 1000 } == Array(1000..<(1000 + count)))
        #expect(try await queue.isEmpty())
        for host in hosts { await host.shutdown() }
        await manager.shutdown()
    }

    /// Waiters in two other hosts: one `set()` wakes both; a wait on a clear flag times out.
    @Test func anEventWakesEveryWaiter() async throws {
        let manager = try await ActorManager()
        let hosts = [try await ActorHost(), try await ActorHost()]
        let event = try await manager.event()
        #expect(try await !event.wait(timeout: .milliseconds(10)))
        let users = [try await hosts[0].spawn(ManagedUser.self), try await hosts[1].spawn(ManagedUser.self)]
        async let a = users[0].wait(for: event)
        async let b = users[1].wait(for: event)
        #expect(try await eventuallyTrue { try await event.waitingCount() == 2 })
        #expect(try await !event.isSet())
        try await event.set()
        let pids = try await [a, b]
        #expect(pids == [hosts[0].pid, hosts[1].pid])
        #expect(try await event.isSet())
        #expect(try await event.wait(timeout: .zero))
        try await event.clear()
        #expect(try await !event.isSet())
        for host in hosts { await host.shutdown() }
        await manager.shutdown()
    }

    /// The objects live in the manager's host: they die with it, with its typed error.
    @Test func objectsGoWithTheirManagersHost() async throws {
        let manager = try await ActorManager()
        let list: ManagedList<Int> = try await manager.list([1])
        let queue: ManagedQueue<Int> = try await manager.queue()
        let waiting = started { try await queue.get() }
        #expect(try await eventuallyTrue { try await queue.waitingCount() == 1 })
        kill(manager.host.pid, SIGKILL)
        await #expect(throws: ActorHostError.self) { _ = try await waiting.value }
        await #expect(throws: ActorHostError.self) { _ = try await list.count() }
        await manager.shutdown()
    }
}

/// The README's Manager example, as it is written there (its timeouts the tests' deadline: a
/// loaded machine starts processes slowly).
distributed actor Worker: HostedActor {
    distributed func work(_ name: String, _ scores: ManagedDictionary<String, Int>, _ lock: ManagedLock,
                          _ total: ManagedValue<Int>, _ done: ManagedQueue<String>) async throws {
        try await lock.withLock(timeout: testDeadline) {             // with lock:
            try await total.set(try await total.get() + 1)           //     total.value += 1
        }
        try await scores.set(name, name.count)                       // scores[name] = len(name)
        try await done.put(name)                                     // done.put(name)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct ManagerExampleTests {
    @Test func theReadmeExampleRuns() async throws {
        let manager = try await ActorManager()                                // with Manager() as manager:
        let scores: ManagedDictionary<String, Int> = try await manager.dict() //     scores = manager.dict()
        let lock = try await manager.lock()                                   //     lock = manager.Lock()
        let total = try await manager.value(0)                                //     total = manager.Value("i", 0)
        let done: ManagedQueue<String> = try await manager.queue()            //     done = manager.Queue()
        let hosts = [try await ActorHost(), try await ActorHost()]            //     (a process each)
        let workers = [try await hosts[0].spawn(Worker.self), try await hosts[1].spawn(Worker.self)]
        let calls = zip(["ada", "alan"], workers).map { name, worker in       //     workers = [Process(...)]
            Task { try await worker.work(name, scores, lock, total, done) }   //     w.start()
        }
        var finished: [String] = []
        for _ in calls { finished.append(try await done.get(timeout: testDeadline)) }
        #expect(finished.sorted() == ["ada", "alan"])                         //     ['ada', 'alan']
        #expect(try await total.get() == 2)                                   //     total.value: 2
        #expect(try await scores.copy() == ["ada": 3, "alan": 4])             //     dict(scores)
        for call in calls { try await call.value }                            //     w.join()
        for host in hosts { await host.shutdown() }
        await manager.shutdown()
    }
}
