import Testing
@testable import MulticoreThreading

@Suite struct QueueTests {
    @Test func orderOfEachKind() throws {
        let fifo = Queue<Int>()
        let lifo = LifoQueue<Int>()
        let priority = PriorityQueue<Int>()
        for n in [3, 1, 2] {
            try fifo.put(n); try lifo.put(n); try priority.put(n)
        }
        #expect(try (0..<3).map { _ in try fifo.get() } == [3, 1, 2])
        #expect(try (0..<3).map { _ in try lifo.get() } == [2, 1, 3])
        #expect(try (0..<3).map { _ in try priority.get() } == [1, 2, 3])
    }

    @Test func fullAndEmpty() throws {
        let queue = Queue<String>(maxsize: 2)
        #expect(queue.isEmpty && !queue.isFull && queue.qsize == 0)
        #expect(throws: QueueError.empty) { try queue.getNowait() }
        #expect(throws: QueueError.empty) { try queue.get(timeout: .milliseconds(5)) }
        try queue.putNowait("a")
        try queue.put("b", blocking: false)
        #expect(queue.isFull && queue.qsize == 2)
        #expect(throws: QueueError.full) { try queue.putNowait("c") }
        #expect(throws: QueueError.full) { try queue.put("c", timeout: .milliseconds(5)) }
        #expect(try queue.get(blocking: false) == "a")
        #expect(try queue.get(timeout: .zero) == "b")
    }

    @Test func nonPositiveMaxsizeIsUnbounded() throws {
        let queue = Queue<Int>(maxsize: -1)
        for n in 0..<1000 { try queue.putNowait(n) }
        #expect(!queue.isFull)
        #expect(queue.qsize == 1000)
    }

    @Test func negativeTimeoutThrows() {
        let queue = Queue<Int>()
        #expect(throws: QueueError.negativeTimeout) { try queue.put(1, timeout: .seconds(-1)) }
        #expect(throws: QueueError.negativeTimeout) { try queue.get(timeout: .seconds(-1)) }
    }

    @Test func blockedPutResumesWhenAGetMakesRoom() throws {
        let queue = Queue<Int>(maxsize: 1)
        try queue.put(1)
        let putter = try spawn { try queue.put(2, timeout: testDeadline) }
        #expect(try !putter.join(timeout: shortWait), "put blocks while the queue is full")
        #expect(try queue.get(timeout: testDeadline) == 1)
        #expect(try putter.join(timeout: testDeadline))
        #expect(try queue.get(timeout: testDeadline) == 2)
    }

    /// CPython's test_shrinking_queue, and the other way: maxsize may change while the queue is
    /// in use, honoured at once; a larger one lets a blocked put go on.
    @Test func maxsizeCanChangeWhileInUse() throws {
        let queue = Queue<Int>(maxsize: 3)
        for value in 1...3 { try queue.put(value) }
        #expect(throws: QueueError.full) { try queue.putNowait(4) }
        queue.maxsize = 2
        #expect(queue.maxsize == 2)
        #expect(throws: QueueError.full) { try queue.putNowait(4) }
        #expect(try queue.get() == 1)
        #expect(throws: QueueError.full) { try queue.putNowait(4) }
        #expect(try queue.get() == 2)
        try queue.putNowait(4)
        let putter = try spawn { try queue.put(5, timeout: testDeadline) }
        #expect(eventually { queue.notFull.waitingCount == 1 }, "the put waits for room")
        queue.maxsize = 3
        #expect(try putter.join(timeout: testDeadline), "a larger maxsize wakes the waiting put")
        #expect(queue.qsize == 3)
    }

    @Test func blockedGetResumesWhenAPutArrives() throws {
        let queue = Queue<Int>()
        let got = Recorder<Int>()
        let getter = try spawn { got.append(try queue.get(timeout: testDeadline)) }
        #expect(try !getter.join(timeout: shortWait))
        try queue.put(42)
        #expect(try getter.join(timeout: testDeadline))
        #expect(got.items == [42])
    }

    @Test func taskDoneAndJoin() throws {
        let queue = Queue<Int>()
        #expect(throws: QueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        for n in 0..<10 { try queue.put(n) }
        #expect(queue.unfinishedTaskCount == 10)
        #expect(try !queue.join(timeout: .milliseconds(5)))
        let processed = Counter()
        let workers = try (0..<3).map { _ in
            try spawn {
                while let item = try? queue.get(timeout: .milliseconds(100)) {
                    processed.add(item)
                    try queue.taskDone()
                }
            }
        }
        #expect(try queue.join(timeout: testDeadline))
        #expect(processed.value == 45)
        #expect(throws: QueueError.taskDoneTooManyTimes) { try queue.taskDone() }
        for worker in workers { #expect(try worker.join(timeout: testDeadline)) }
    }

    @Test func shutdownStopsPutsAndDrainsGets() throws {
        let queue = Queue<Int>()
        try queue.put(1)
        try queue.put(2)
        queue.shutdown()
        #expect(queue.isShutDown)
        #expect(throws: QueueError.shutDown) { try queue.put(3) }
        #expect(try queue.get() == 1, "items already queued can still be taken")
        #expect(try queue.get() == 2)
        #expect(throws: QueueError.shutDown) { try queue.get() }
        #expect(throws: QueueError.shutDown) { try queue.getNowait() }
    }

    @Test func shutdownWakesBlockedGettersAndPutters() throws {
        let empty = Queue<Int>()
        let full = Queue<Int>(maxsize: 1)
        try full.put(0)
        let getter = try spawn { #expect(throws: QueueError.shutDown) { try empty.get(timeout: testDeadline) } }
        let putter = try spawn { #expect(throws: QueueError.shutDown) { try full.put(1, timeout: testDeadline) } }
        #expect(try !getter.join(timeout: shortWait))
        empty.shutdown()
        full.shutdown()
        #expect(try getter.join(timeout: testDeadline))
        #expect(try putter.join(timeout: testDeadline))
    }

    @Test func immediateShutdownDropsItemsAndCountsThemDone() throws {
        let queue = Queue<Int>()
        for n in 0..<5 { try queue.put(n) }
        _ = try queue.get()
        let joiner = try spawn { () throws in #expect(try queue.join(timeout: testDeadline)) }
        #expect(try !joiner.join(timeout: shortWait))
        queue.shutdown(immediate: true)
        #expect(queue.qsize == 0)
        #expect(queue.unfinishedTaskCount == 1, "the item taken before the shutdown is still unfinished")
        #expect(throws: QueueError.shutDown) { try queue.get() }
        #expect(try !joiner.join(timeout: shortWait), "as in Python 3.13, join still waits for that item")
        try queue.taskDone()
        #expect(try joiner.join(timeout: testDeadline))
    }

    @Test func immediateShutdownReleasesJoinWhenNothingWasTaken() throws {
        let queue = Queue<Int>()
        for n in 0..<5 { try queue.put(n) }
        let joiner = try spawn { () throws in #expect(try queue.join(timeout: testDeadline)) }
        #expect(try !joiner.join(timeout: shortWait))
        queue.shutdown(immediate: true)
        #expect(try joiner.join(timeout: testDeadline))
        #expect(queue.unfinishedTaskCount == 0)
    }

    @Test func customBufferOrder() throws {
        /// Python: subclass Queue and override _put/_get. Here: a buffer that hands out the
        /// longest string first.
        struct LongestFirst: QueueBuffer {
            var items: [String] = []
            var count: Int { items.count }
            mutating func put(_ item: String) { items.append(item) }
            mutating func get() -> String {
                let index = items.indices.max { items[$0].count < items[$1].count }!
                return items.remove(at: index)
            }
            mutating func removeAll() { items.removeAll() }
        }
        let queue = BlockingQueue<LongestFirst>()
        for word in ["a", "abc", "ab"] { try queue.put(word) }
        #expect(try [queue.get(), queue.get(), queue.get()] == ["abc", "ab", "a"])
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func everyItemArrivesExactlyOnce(threads: Int) throws {
        let queue = Queue<Int>(maxsize: 8)
        let perProducer = 2_000
        let received = Recorder<Int>()
        try race(threads * 2) { index in
            if index % 2 == 0 {
                let base = (index / 2) * perProducer
                for n in 0..<perProducer { try queue.put(base + n, timeout: testDeadline) }
            } else {
                var local: [Int] = []
                for _ in 0..<perProducer { local.append(try queue.get(timeout: testDeadline)) }
                for item in local { received.append(item) }
            }
        }
        #expect(received.items.sorted() == Array(0..<(threads * perProducer)))
        #expect(queue.isEmpty)
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func fifoOrderPerProducerIsKept(threads: Int) throws {
        let queue = Queue<(producer: Int, sequence: Int)>()
        try race(threads) { producer in
            for sequence in 0..<1_000 { try queue.put((producer, sequence)) }
        }
        var next = [Int](repeating: 0, count: threads)
        while let item = try? queue.getNowait() {
            #expect(item.sequence == next[item.producer])
            next[item.producer] += 1
        }
        #expect(next == [Int](repeating: 1_000, count: threads))
    }
}

@Suite struct SimpleQueueTests {
    @Test func putNeverBlocksAndGetFollowsFIFO() throws {
        let queue = SimpleQueue<Int>()
        #expect(queue.isEmpty)
        for n in 0..<10_000 { queue.put(n) }
        #expect(queue.qsize == 10_000)
        for n in 0..<10_000 { #expect(try queue.get() == n) }
        #expect(throws: QueueError.empty) { try queue.getNowait() }
        #expect(throws: QueueError.empty) { try queue.get(timeout: .milliseconds(5)) }
        #expect(throws: QueueError.negativeTimeout) { try queue.get(timeout: .seconds(-1)) }
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func concurrentProducersAndConsumers(threads: Int) throws {
        let queue = SimpleQueue<Int>()
        let sum = Counter()
        try race(threads * 2) { index in
            if index % 2 == 0 {
                for n in 1...500 { queue.put(n) }
            } else {
                for _ in 0..<500 { sum.add(try queue.get(timeout: testDeadline)) }
            }
        }
        #expect(sum.value == threads * 500 * 501 / 2)
    }
}
