import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreThreading

struct Tagged: Codable, Equatable, Sendable {
    var producer: Int
    var sequence: Int
    var text: String
}

/// Puts `count` tagged items with texts of varying length.
struct QueueProducer: ProcessTask {
    var queue: ProcessQueue<Tagged>
    var producer: Int
    var count: Int
    func run() throws -> Int {
        for sequence in 0..<count {
            try queue.put(Tagged(producer: producer, sequence: sequence, text: String(repeating: "x", count: sequence % 37)))
        }
        return count
    }
}

/// Gets `count` items, marking each done, and returns their sum.
struct QueueWorker: ProcessTask {
    var queue: ProcessJoinableQueue<Int>
    var count: Int
    func run() throws -> Int {
        var sum = 0
        for _ in 0..<count {
            sum += try queue.get(timeout: .seconds(20))
            try queue.taskDone()
        }
        return sum
    }
}

/// Waits in `get` on an empty queue until killed.
struct BlockedConsumer: ProcessTask {
    var queue: ProcessQueue<Int>
    func run() throws -> Int { try queue.get() }
}

/// Echoes through a simple queue: reads `count` values, sends back each doubled.
struct SimpleEcho: ProcessTask {
    var requests: ProcessSimpleQueue<Int>
    var replies: ProcessSimpleQueue<Int>
    var count: Int
    func run() throws -> Int {
        for _ in 0..<count { try replies.put(requests.get() * 2) }
        return count
    }
}

/// A value whose encoding fails when `poisoned`.
struct Fragile: Codable, Sendable, Equatable {
    struct Poisoned: Error {}
    var value: Int
    var poisoned = false
    init(value: Int, poisoned: Bool = false) { self.value = value; self.poisoned = poisoned }
    func encode(to encoder: any Encoder) throws {
        if poisoned { throw Poisoned() }
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
    init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(Int.self) }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessQueueTests {
    @Test func itemsComeOutInOrderWithPythonsLimits() throws {
        let queue = try ProcessQueue<String>(maxsize: 2)
        #expect(queue.isEmpty && !queue.isFull && queue.maxsize == 2)
        try queue.put("a")
        try queue.put("b", timeout: .seconds(1))
        #expect(queue.count == 2 && queue.isFull)
        #expect(throws: QueueError.full) { try queue.putNowait("c") }
        #expect(throws: QueueError.full) { try queue.put("c", timeout: .milliseconds(10)) }
        #expect(try queue.get() == "a")
        #expect(try queue.getNowait() == "b")
        #expect(throws: QueueError.empty) { try queue.getNowait() }
        #expect(throws: QueueError.empty) { try queue.get(timeout: .milliseconds(10)) }
        #expect(throws: QueueError.negativeTimeout) { try queue.get(timeout: .seconds(-1)) }
    }

    @Test func aValueThatCannotBeEncodedThrowsAtPutAndNothingIsQueued() throws {
        let queue = try ProcessQueue<Fragile>()
        #expect(throws: Fragile.Poisoned.self) { try queue.put(Fragile(value: 1, poisoned: true)) }
        #expect(queue.isEmpty)
        try queue.put(Fragile(value: 2))
        #expect(try queue.get(timeout: testDeadline) == Fragile(value: 2))
    }

    /// Fixed-width numbers travel as their memory, which is also their bytes in the format: a
    /// queue of Ints and one of optional Ints (coded) on the same ring agree; an item put as a
    /// number of another size is refused at `get` with the format's error, and consumed.
    @Test func numbersTravelAsTheirMemoryAndAnotherSizeIsRefused() throws {
        let queue = try ProcessQueue<Int>()
        let values = [0, 1, -1, .max, .min, 0x0102_0304_0506_0708]
        for value in values { try queue.put(value) }
        #expect(try values.map { _ in try queue.get(timeout: testDeadline) } == values)
        let name = try WireEncoder().encode(queue)
        let asInt32 = try WireDecoder().decode(ProcessQueue<Int32>.self, from: name)
        let asCoded = try WireDecoder().decode(ProcessQueue<Int?>.self, from: name)
        try queue.put(7)
        #expect(throws: WireError.trailingBytes(4)) { try asInt32.get(timeout: testDeadline) }
        try asInt32.put(7)
        #expect(throws: WireError.truncated(offset: 4, needed: 4)) { try queue.get(timeout: testDeadline) }
        #expect(queue.isEmpty, "the refused items were consumed")
        try asCoded.put(9) // a presence byte, then the Int
        #expect(throws: WireError.trailingBytes(1)) { try queue.get(timeout: testDeadline) }
        try queue.put(9)
        #expect(throws: WireError.self) { try asCoded.get(timeout: testDeadline) }
        try queue.put(11)
        #expect(try queue.get(timeout: testDeadline) == 11, "the queue goes on")
    }

    /// maxsize may change while the queue is in use (CPython's test_shrinking_queue); a larger
    /// one lets a blocked put go on.
    @Test func maxsizeCanChangeWhileInUse() throws {
        let queue = try ProcessQueue<Int>(maxsize: 3)
        for value in 1...3 { try queue.put(value) }
        queue.maxsize = 2
        #expect(queue.maxsize == 2)
        #expect(throws: QueueError.full) { try queue.putNowait(4) }
        #expect(try queue.get() == 1)
        #expect(throws: QueueError.full) { try queue.putNowait(4) }
        let putter = ValueThread<Bool>(daemon: true) { try queue.put(4, timeout: testDeadline); return true }
        try putter.start()
        #expect(eventually { queue.ring.hasBlockedProducer }, "the put waits for room")
        queue.maxsize = 5
        #expect(try putter.join(timeout: testDeadline), "a larger maxsize wakes the waiting put")
        #expect(try putter.value())
        #expect(queue.count == 3)
    }

    /// Python's close() and join_thread(): after close, this process neither puts nor gets.
    @Test func closeAndJoinThreadFollowPythonsRules() throws {
        let queue = try ProcessQueue<Int>()
        #expect(throws: QueueError.notClosed) { try queue.joinThread() }
        try queue.put(1)
        queue.close()
        #expect(throws: QueueError.closed) { try queue.put(2) }
        #expect(throws: QueueError.closed) { try queue.get(timeout: .zero) }
        try queue.joinThread()
        queue.close()
        // Another handle on the same queue (as a child would have) still works.
        let other = try WireDecoder().decode(ProcessQueue<Int>.self, from: try WireEncoder().encode(queue))
        #expect(try other.get(timeout: testDeadline) == 1)
    }

    @Test func messagesWrapAroundASmallRing() throws {
        let queue = try ProcessQueue<Tagged>(capacity: 512)
        #expect(throws: ConnectionError.self) {
            try queue.put(Tagged(producer: 0, sequence: 0, text: String(repeating: "y", count: 600)))
        }
        let child = ChildProcess(task: QueueProducer(queue: queue, producer: 1, count: 2_000))
        try child.start()
        for sequence in 0..<2_000 {
            let item = try queue.get(timeout: testDeadline)
            #expect(item == Tagged(producer: 1, sequence: sequence, text: String(repeating: "x", count: sequence % 37)))
        }
        #expect(try child.join(timeout: testDeadline))
        #expect(queue.isEmpty)
    }

    @Test func producersInSeveralProcessesKeepTheirOwnOrder() throws {
        let queue = try ProcessQueue<Tagged>()
        let children = try startAll((0..<3).map { QueueProducer(queue: queue, producer: $0, count: 5_000) })
        var next = [0, 0, 0]
        for _ in 0..<15_000 {
            let item = try queue.get(timeout: testDeadline)
            #expect(item.sequence == next[item.producer])
            next[item.producer] += 1
        }
        #expect(try joinAll(children) == [5_000, 5_000, 5_000])
        #expect(next == [5_000, 5_000, 5_000] && queue.isEmpty)
    }

    @Test func joiningAChildThatPutALotBeforeGettingNeverDeadlocks() throws {
        // Python's multiprocessing.Queue deadlocks here: the child cannot exit until its feeder
        // thread has flushed into a pipe nobody reads.
        let queue = try ProcessQueue<Tagged>()
        let child = ChildProcess(task: QueueProducer(queue: queue, producer: 0, count: 100_000))
        try child.start()
        #expect(try child.join(timeout: testDeadline), "the child exited with its items still queued")
        #expect(try child.exitCode == 0)
        #expect(queue.count == 100_000)
        for sequence in 0..<100_000 { #expect(try queue.get(timeout: testDeadline).sequence == sequence) }
    }

    @Test func joinableQueueCountsUnfinishedTasksAcrossProcesses() throws {
        let queue = try ProcessJoinableQueue<Int>()
        #expect(throws: QueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        #expect(try queue.join(timeout: .zero), "nothing was put")
        for value in 1...100 { try queue.put(value) }
        #expect(try !queue.join(timeout: .milliseconds(10)))
        let worker = ChildProcess(task: QueueWorker(queue: queue, count: 100))
        try worker.start()
        #expect(try queue.join(timeout: testDeadline))
        #expect(try worker.join(timeout: testDeadline))
        #expect(try worker.result() == 5_050)
    }

    @Test func aConsumerKilledWhileWaitingDoesNotBlockTheOthers() throws {
        let queue = try ProcessQueue<Int>()
        let child = ChildProcess(task: BlockedConsumer(queue: queue))
        try child.start()
        // The child waits inside `get`, holding the consumers' lock.
        #expect(eventually { SharedLockWord(word: queue.ring.region.word(4)).owner == child.pid })
        try child.kill()
        #expect(try child.join(timeout: testDeadline))
        try queue.put(7)
        #expect(try queue.get(timeout: testDeadline) == 7)
    }

    @Test func aSimpleQueueCarriesRequestsAndReplies() throws {
        let requests = try ProcessSimpleQueue<Int>()
        let replies = try ProcessSimpleQueue<Int>()
        let child = ChildProcess(task: SimpleEcho(requests: requests, replies: replies, count: 50))
        try child.start()
        for value in 0..<50 {
            try requests.put(value)
            #expect(try replies.get() == value * 2)
        }
        #expect(try child.join(timeout: testDeadline))
        #expect(requests.isEmpty && replies.isEmpty)
    }
}

/// Puts `count` byte arrays of `size` bytes, each filled with its sequence number (mod 251)
/// and ending with its full sequence number.
struct ByteProducer: ProcessTask {
    var queue: ProcessQueue<[UInt8]>
    var count: Int
    var size: Int
    func run() throws -> Int {
        for sequence in 0..<count { try queue.put(ByteProducer.item(sequence, size: size)) }
        return count
    }

    static func item(_ sequence: Int, size: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(sequence % 251), count: size)
        withUnsafeBytes(of: UInt32(sequence).littleEndian) { bytes.replaceSubrange(size - 4 ..< size, with: $0) }
        return bytes
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessQueueRingTests {
    @Test func aLargeRingWrapsManyTimesAndGivesBackWhatWasConsumed() throws {
        // 4 MiB: the ring gives consumed chunks back; 24 MB go through it, six times around.
        let queue = try ProcessQueue<[UInt8]>(capacity: 4 << 20)
        let child = ChildProcess(task: ByteProducer(queue: queue, count: 6_000, size: 4_000))
        try child.start()
        // Let the producer fill the ring first: from then on it writes into every bit of space
        // a get frees, right behind the consumer, where consumed chunks are given back.
        #expect(eventually { queue.ring.hasBlockedProducer })
        for sequence in 0..<6_000 {
            let item = try queue.get(timeout: testDeadline)
            let expected = ByteProducer.item(sequence, size: 4_000)
            let intact = item.count == 4_000 && memcmp(item, expected, 4_000) == 0
            #expect(intact, "item \(sequence) was damaged")
            if !intact { break }
        }
        #expect(try child.join(timeout: testDeadline))
        #expect(queue.isEmpty)
        // What was consumed went back to the system: at most the last chunks stay allocated.
        var status = stat()
        #expect(stat("/dev/shm/" + queue.name, &status) == 0)
        #expect(Int(status.st_blocks) * 512 <= 2 << 20, "\(Int(status.st_blocks) * 512) bytes still allocated")
    }

    @Test func anItemLargerThanTheRingIsRefusedAtPut() throws {
        let queue = try ProcessQueue<[UInt8]>(capacity: 4 << 20)
        #expect(throws: ConnectionError.self) { try queue.put([UInt8](repeating: 1, count: 3_500_000)) }
        try queue.put([UInt8](repeating: 2, count: 3_000_000))
        #expect(try queue.get(timeout: testDeadline).count == 3_000_000)
    }
}
