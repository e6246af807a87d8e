import CMulticore
import MulticoreSystem
import MulticoreThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The engine of the process queues: a ring of length-prefixed messages in shared memory, with
/// one lock for producers and one for consumers, so a producer and a consumer never wait for
/// each other while the ring is neither empty nor full.
///
/// A put writes the message past `tail` and then publishes the new tail and the message count;
/// a get reads at `head` and then publishes the new head. Neither makes a system call unless
/// someone must sleep or be woken (futex words with sleeper counts). A producer or consumer
/// killed halfway has published nothing: the next one takes its lock over (`OwnerDiedError` is
/// absorbed) and the queue stays consistent.
///
/// The ring's memory is a sparse file: pages exist only where messages are, and consumed pages
/// of a large ring are given back (MADV_REMOVE), so a 1 GiB ring costs what it holds.
final class SharedRing: Sendable {
    let region: SharedRegion
    let capacity: Int
    /// The ring starts on a page of its own (4096 bytes into the block), so that its chunks are
    /// whole pages that can be given back.
    static let dataOffset = 4096 - SharedRegion.headerSize
    static let defaultCapacity = 1 << 30
    /// Consumed memory is given back in chunks of this size (rings at least 4 chunks long).
    static let discardChunk = 1 << 20

    private var putLock: SharedLockWord { SharedLockWord(word: region.word(0)) }
    private var getLock: SharedLockWord { SharedLockWord(word: region.word(4)) }
    /// Published messages not yet taken: consumers sleep on it.
    private var messages: UnsafeMutablePointer<Atomic<UInt32>> { region.word(8) }
    private var getSleepers: UnsafeMutablePointer<Atomic<UInt32>> { region.word(12) }
    /// Bumped when consumers free space, if a producer sleeps on it.
    private var spaceSequence: UnsafeMutablePointer<Atomic<UInt32>> { region.word(16) }
    private var putSleepers: UnsafeMutablePointer<Atomic<UInt32>> { region.word(20) }
    /// Items put and not yet marked done (JoinableQueue).
    private var unfinished: UnsafeMutablePointer<Atomic<UInt32>> { region.word(24) }
    private var joinSleepers: UnsafeMutablePointer<Atomic<UInt32>> { region.word(28) }
    private var maxsizeWord: UnsafeMutablePointer<Atomic<UInt32>> { region.word(32) }
    /// Ring positions below this have their pages reserved (large rings reserve as they go).
    private var reserved: UnsafeMutablePointer<Atomic<UInt64>> { region.word64(40) }
    private var head: UnsafeMutablePointer<Atomic<UInt64>> { region.word64(48) }
    private var tail: UnsafeMutablePointer<Atomic<UInt64>> { region.word64(56) }
    private var data: UnsafeMutableRawPointer { region.fields + Self.dataOffset }

    init(maxsize: Int, capacity: Int) throws(SharedMemoryError) {
        guard capacity >= 64, capacity <= 1 << 40 else { throw .invalidSize(capacity) }
        // Whole discard chunks, so that a chunk never wraps around the end.
        let rounded = capacity >= 4 * Self.discardChunk ? (capacity + Self.discardChunk - 1) / Self.discardChunk * Self.discardChunk : capacity
        region = try SharedRegion(create: .queue, size: Self.dataOffset + rounded, layout: UInt64(rounded), allocate: false)
        self.capacity = rounded
        // The header's page, and a small ring whole, now: a full /dev/shm fails here, not with
        // a SIGBUS at the first write. A large ring reserves its chunks as producers reach them.
        let first = discards ? Self.dataOffset : Self.dataOffset + rounded
        guard let address = region.memory.address,
              (try? SharedMemoryObject.populate(address, length: SharedRegion.headerSize + first)) != nil else {
            throw .noSpace(size: SharedRegion.headerSize + first)
        }
        maxsizeWord.pointee.store(UInt32(clamping: max(0, maxsize)), ordering: .releasing)
    }

    /// Whether consumed chunks are given back (rings of at least 4 chunks).
    private var discards: Bool { capacity >= 4 * Self.discardChunk }

    /// The bytes producers may fill: a ring that gives chunks back keeps one chunk free, so that
    /// a producer never writes into the chunk the consumer is about to give back.
    var usable: Int { discards ? capacity - Self.discardChunk : capacity }

    init(attach name: String) throws(SharedMemoryError) {
        let memory = try SharedMemory(attach: name)
        guard let base = memory.address, memory.size >= SharedRegion.headerSize + Self.dataOffset else {
            throw .incompatible(name: name, reason: "it is not a Multicore queue")
        }
        let stored = Int(base.load(fromByteOffset: 8, as: UInt64.self))
        memory.close()
        guard memory.size >= SharedRegion.headerSize + Self.dataOffset + stored else {
            throw .incompatible(name: name, reason: "it is not a Multicore queue")
        }
        region = try SharedRegion(attach: name, kind: .queue, size: Self.dataOffset + stored, layout: UInt64(stored))
        capacity = stored
    }

    var name: String { region.name }
    var maxsize: Int { Int(maxsizeWord.pointee.load(ordering: .relaxed)) }

    /// Changes the size limit in every process at once; producers waiting for room look again.
    func setMaxsize(_ value: Int) {
        maxsizeWord.pointee.store(UInt32(clamping: max(0, value)), ordering: .sequentiallyConsistent)
        spaceSequence.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        SharedFutex.wakeSleepers(on: spaceSequence, countedIn: putSleepers, .max)
    }
    var count: Int { Int(messages.pointee.load(ordering: .relaxed)) }
    /// Whether a producer sleeps until space frees (for tests: the ring is full).
    var hasBlockedProducer: Bool { putSleepers.pointee.load(ordering: .relaxed) > 0 }

    // MARK: Put

    /// Appends `payload` as one message. Throws `QueueError.full` when the queue stayed full
    /// (by `maxsize` or by the ring's capacity) until `deadline`.
    func put(_ payload: UnsafeRawBufferPointer, deadline: Deadline) throws {
        let need = UInt64(4 + payload.count)
        let me = mc_getpid()
        switch putLock.acquire(as: me, deadline: deadline) {
        case .timedOut: throw QueueError.full
        case .acquired, .ownerDied: break // a dead producer published nothing
        }
        defer { _ = putLock.release() }
        func hasRoom() -> Bool {
            let limit = maxsizeWord.pointee.load(ordering: .sequentiallyConsistent) // may change while waiting
            let used = tail.pointee.load(ordering: .relaxed) &- head.pointee.load(ordering: .sequentiallyConsistent)
            let roomy = UInt64(usable) - min(used, UInt64(usable)) >= need
            return roomy && (limit == 0 || messages.pointee.load(ordering: .sequentiallyConsistent) < limit)
        }
        while true {
            let sequence = spaceSequence.pointee.load(ordering: .acquiring)
            if hasRoom() { break }
            if deadline.hasPassed { throw QueueError.full }
            // Looked at again once counted as a sleeper: a get that freed space before it could
            // see the count did not bump the sequence, and the wait would never end.
            SharedFutex.sleep(on: spaceSequence, expected: sequence, countedIn: putSleepers, deadline: deadline) { !hasRoom() }
        }
        let position = tail.pointee.load(ordering: .relaxed)
        if discards { try reserve(upTo: position + need) }
        var length = UInt32(payload.count)
        withUnsafeBytes(of: &length) { write($0, at: position) }
        write(payload, at: position + 4)
        tail.pointee.store(position + need, ordering: .releasing)
        unfinished.pointee.wrappingAdd(1, ordering: .relaxed)
        messages.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        SharedFutex.wakeSleepers(on: messages, countedIn: getSleepers, 1)
    }

    /// Makes the pages exist for ring positions up to `end` (in whole chunks): a full /dev/shm
    /// is then `SharedMemoryError.noSpace` for this put, instead of a SIGBUS while writing.
    private func reserve(upTo end: UInt64) throws(SharedMemoryError) {
        let chunk = UInt64(Self.discardChunk)
        var next = reserved.pointee.load(ordering: .relaxed)
        while next < end {
            let offset = Int(next % UInt64(capacity))
            guard (try? SharedMemoryObject.populate(data + offset, length: Self.discardChunk)) != nil else {
                throw .noSpace(size: Self.discardChunk)
            }
            next = (next / chunk + 1) * chunk
            reserved.pointee.store(next, ordering: .relaxed)
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at position: UInt64) {
        guard bytes.count > 0 else { return }
        let offset = Int(position % UInt64(capacity))
        let first = min(bytes.count, capacity - offset)
        (data + offset).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count {
            data.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
        }
    }

    private func read(into bytes: UnsafeMutableRawBufferPointer, at position: UInt64) {
        guard bytes.count > 0 else { return }
        let offset = Int(position % UInt64(capacity))
        let first = min(bytes.count, capacity - offset)
        bytes.baseAddress!.copyMemory(from: data + offset, byteCount: first)
        if first < bytes.count {
            (bytes.baseAddress! + first).copyMemory(from: data, byteCount: bytes.count - first)
        }
    }

    // MARK: Get

    private static let spinLimit = 2_000

    /// Takes the oldest message. Throws `QueueError.empty` when none came until `deadline`.
    func get(deadline: Deadline) throws(QueueError) -> [UInt8] {
        try get(deadline: deadline) { size, copy in
            // None for an empty payload: `unsafeUninitializedCapacity: 0` writes to the shared
            // empty array's storage (a race ThreadSanitizer reports).
            size == 0 ? [] : [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                copy(UnsafeMutableRawBufferPointer(buffer))
                initialized = size
            }
        }
    }

    /// Takes the oldest message and hands its size to `body`, with `copy`, which copies its
    /// bytes (at most as many as the buffer holds) out of the ring: a value can be read
    /// straight into its place, without an array between. Throws `QueueError.empty` when none
    /// came until `deadline`.
    func get<R>(deadline: Deadline,
                _ body: (_ size: Int, _ copy: (UnsafeMutableRawBufferPointer) -> Void) -> R) throws(QueueError) -> R {
        let me = mc_getpid()
        switch getLock.acquire(as: me, deadline: deadline) {
        case .timedOut: throw .empty
        case .acquired: break
        case .ownerDied: recount()
        }
        defer { _ = getLock.release() }
        var spins = 0
        while messages.pointee.load(ordering: .acquiring) == 0 {
            if spins < Self.spinLimit, !deadline.hasPassed {
                spins += 1
                mc_cpu_relax()
                continue
            }
            if deadline.hasPassed { throw .empty }
            SharedFutex.sleep(on: messages, expected: 0, countedIn: getSleepers, deadline: deadline) {
                messages.pointee.load(ordering: .sequentiallyConsistent) == 0
            }
        }
        let position = head.pointee.load(ordering: .relaxed)
        let available = tail.pointee.load(ordering: .acquiring) &- position
        var length: UInt32 = 0
        withUnsafeMutableBytes(of: &length) { read(into: $0, at: position) }
        // Only this process's own memory could be wrong here; never read past what was written.
        let size = max(0, min(Int(length), Int(available) - 4))
        let result = body(size) { buffer in
            read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(size)), at: position + 4)
        }
        let next = position + 4 + UInt64(length)
        discardConsumed(from: position, to: next)
        head.pointee.store(next, ordering: .releasing)
        messages.pointee.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        if putSleepers.pointee.load(ordering: .sequentiallyConsistent) > 0 {
            spaceSequence.pointee.wrappingAdd(1, ordering: .releasing)
            SharedFutex.wake(spaceSequence, .max)
        }
        return result
    }

    /// Gives back the pages of the chunks that moving the head from `start` to `end` finishes
    /// (those whose last byte lies in between), before the head moves: a producer may write
    /// there only once the head has passed (it keeps a chunk of distance, see `usable`).
    private func discardConsumed(from start: UInt64, to end: UInt64) {
        let chunk = UInt64(Self.discardChunk)
        guard discards, end / chunk > start / chunk else { return }
        var index = start / chunk
        while index < end / chunk {
            let offset = Int((index * chunk) % UInt64(capacity))
            try? SharedMemoryObject.discard(data + offset, length: Self.discardChunk)
            index += 1
        }
    }

    /// After a consumer died holding the get lock: recounts the messages between head and tail
    /// with producers held off, in case it died between moving the head and the count.
    private func recount() {
        _ = putLock.acquire(as: mc_getpid(), deadline: .never)
        defer { _ = putLock.release() }
        var position = head.pointee.load(ordering: .relaxed)
        let end = tail.pointee.load(ordering: .acquiring)
        var found: UInt32 = 0
        while end &- position >= 4 {
            var length: UInt32 = 0
            withUnsafeMutableBytes(of: &length) { read(into: $0, at: position) }
            position += 4 + UInt64(length)
            found += 1
        }
        messages.pointee.store(found, ordering: .sequentiallyConsistent)
    }

    // MARK: Task accounting

    func taskDone() throws(QueueError) {
        var current = unfinished.pointee.load(ordering: .relaxed)
        while true {
            guard current > 0 else { throw .taskDoneTooManyTimes }
            let (exchanged, found) = unfinished.pointee.compareExchange(expected: current, desired: current - 1, ordering: .sequentiallyConsistent)
            if exchanged { break }
            current = found
        }
        if current == 1, joinSleepers.pointee.load(ordering: .sequentiallyConsistent) > 0 {
            SharedFutex.wake(unfinished, .max)
        }
    }

    func join(deadline: Deadline) -> Bool {
        while true {
            let current = unfinished.pointee.load(ordering: .sequentiallyConsistent)
            if current == 0 { return true }
            if deadline.hasPassed { return false }
            SharedFutex.sleep(on: unfinished, expected: current, countedIn: joinSleepers, deadline: deadline)
        }
    }
}
