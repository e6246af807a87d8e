import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreThreading

/// Where a value's coding keeps its keyed containers past its message (this suite's own).
final class ReuseSink: @unchecked Sendable { // touched by one test at a time (a serialized suite), on one thread
    var encoding: KeyedEncodingContainer<Stash.CodingKeys>?
    var decoding: KeyedDecodingContainer<Stash.CodingKeys>?
    static let shared = ReuseSink()
}

/// A value whose coding keeps its keyed container in `ReuseSink.shared`.
struct Stash: Codable, Equatable {
    enum CodingKeys: String, CodingKey { case number }
    var number: Int

    init(number: Int) { self.number = number }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number, forKey: .number)
        ReuseSink.shared.encoding = container
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        number = try container.decode(Int.self, forKey: .number)
        ReuseSink.shared.decoding = container
    }
}

/// Encodes by writing through the container an earlier `Stash` kept.
struct WritesThroughStash: Encodable {
    func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: Stash.CodingKeys.self)
        try ReuseSink.shared.encoding?.encode(6, forKey: .number)
    }
}

/// Decodes by reading through the container an earlier `Stash` kept.
struct ReadsThroughStash: Decodable {
    var number: Int
    init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: Stash.CodingKeys.self)
        number = try ReuseSink.shared.decoding?.decode(Int.self, forKey: .number) ?? -1
    }
}

struct NothingCoded: Codable {}

/// Large arrays of numbers among other fields: sent from where they lie, not copied.
struct Measurements: Codable, Equatable, Sendable {
    var name: String
    var samples: [Double]
    var flags: [UInt8]
    var counts: [Int32]
    var note: String?
}

struct Pair: Codable, Equatable, Sendable {
    var thread: Int
    var index: Int
    var label: String
}

/// A connection codes its messages with an encoder and a decoder it keeps from one message to
/// the next, and decodes a message where it was received: neither may let one message reach
/// into another.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ConnectionReuseTests {
    @Test func anEncodingContainerKeptFromAnEarlierSendThrowsInALaterOne() throws {
        let (a, b) = try Connection.pipe()
        try a.send(Stash(number: 5))
        // The same (kept) encoder codes this message: the old container is still not its own.
        #expect(throws: WireCoderIdentity.misuse) { try a.send(WritesThroughStash()) }
        try a.send(Stash(number: 7))
        #expect(try b.recv(Stash.self) == Stash(number: 5))
        #expect(try b.recv(Stash.self) == Stash(number: 7)) // nothing of the failed send went out
        #expect(try !b.poll())
        ReuseSink.shared.encoding = nil
    }

    @Test func aDecodingContainerKeptFromAnEarlierReceiveThrowsInALaterOne() throws {
        let (a, b) = try Connection.pipe()
        try a.send(Stash(number: 9))
        try a.send(NothingCoded())
        try a.send(Stash(number: 10))
        #expect(try b.recv(Stash.self) == Stash(number: 9))
        #expect(throws: WireCoderIdentity.misuse) { try b.recv(ReadsThroughStash.self) }
        // A message that does not decode is consumed; the next one is whole.
        #expect(try b.recv(Stash.self) == Stash(number: 10))
        ReuseSink.shared.decoding = nil
    }

    @Test func messagesThatArriveTogetherAreEachDecodedWhole() throws {
        let (a, b) = try Connection.pipe()
        let pairs = (0..<50).map { Pair(thread: 0, index: $0, label: String(repeating: "x", count: $0)) }
        for pair in pairs { try a.send(pair) }
        try a.send(7)
        try a.sendBytes([1, 2, 3])
        try a.send("end")
        for pair in pairs { #expect(try b.recv(Pair.self) == pair) }
        #expect(try b.recv(Int.self) == 7)
        #expect(try b.recvBytes() == [1, 2, 3])
        #expect(try b.recv(String.self) == "end")
    }

    @Test func aValueKeptFromAnEarlierMessageIsNotChangedByLaterOnes() throws {
        let (a, b) = try Connection.pipe()
        try a.send([UInt8](repeating: 1, count: 100))
        try a.sendBytes([2, 2, 2])
        let first = try b.recv([UInt8].self)
        let bytes = try b.recvBytes()
        try a.send([UInt8](repeating: 3, count: 100))
        _ = try b.recv([UInt8].self)
        #expect(first == [UInt8](repeating: 1, count: 100))
        #expect(bytes == [2, 2, 2])
    }

    @Test func threadsSendingAndReceivingAtOnceEachGetWholeMessages() throws {
        let (a, b) = try Connection.pipe()
        let perThread = 300, senders = 4
        let threads = (0..<senders).map { thread in
            JoinableThread(daemon: true) {
                for index in 0..<perThread { try a.send(Pair(thread: thread, index: index, label: "t\(thread)-\(index)")) }
            }
        }
        let receivers = (0..<2).map { _ in
            ValueThread(daemon: true) { () throws -> [Pair] in
                var got: [Pair] = []
                for _ in 0..<(senders * perThread / 2) { got.append(try b.recv(Pair.self)) }
                return got
            }
        }
        for thread in threads { try thread.start() }
        for receiver in receivers { try receiver.start() }
        for thread in threads { #expect(try thread.join(timeout: testDeadline)) }
        var received: [Pair] = []
        for receiver in receivers {
            #expect(try receiver.join(timeout: testDeadline))
            received += try receiver.value()
        }
        #expect(received.count == senders * perThread)
        let wrong = received.filter { $0.label != "t\($0.thread)-\($0.index)" }
        #expect(wrong.isEmpty)
        let seen = Set(received.map { $0.thread * perThread + $0.index })
        #expect(seen.count == senders * perThread)
    }

    /// A large message (64 KiB or more) is read into a buffer of its own, which the connection
    /// keeps for the next one once it is decoded: a shorter message after a longer one, and a
    /// message taken as bytes after a decoded one, come out whole and alone.
    @Test func largeMessagesOfDifferentSizesAreEachReceivedWhole() throws {
        let (a, b) = try Connection.pipe()
        let long = (0..<300_000).map { Double($0) }, short = (0..<20_000).map { Double(-$0) }
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let sender = JoinableThread(daemon: true) {
            try a.send(long)
            try a.send(short)
            try a.sendBytes(bytes)
            try a.send(long)
            try a.send(Pair(thread: 1, index: 2, label: "small"))
        }
        try sender.start()
        #expect(try b.recv([Double].self) == long)
        #expect(try b.recv([Double].self) == short)
        #expect(try b.recvBytes() == bytes)
        #expect(try b.recv([Double].self) == long)
        #expect(try b.recv(Pair.self) == Pair(thread: 1, index: 2, label: "small"))
        #expect(try sender.join(timeout: testDeadline))
    }

    /// The checksum of a large message is taken as its pieces arrive: a corrupt byte anywhere in
    /// it is still found, and breaks the receiving side.
    @Test func aCorruptLargeMessageIsDetected() throws {
        let (a, b) = try Connection.pipe()
        for corrupted in [WireFrame.headerSize, WireFrame.headerSize + 70_000, WireFrame.headerSize + 199_999] {
            let (c, d) = try Connection.pipe()
            var frame = try WireFrame.frame([UInt8](repeating: 5, count: 200_000))
            frame[corrupted] ^= 0x10
            let corrupt = frame
            let writer = JoinableThread(daemon: true) {
                _ = corrupt.withUnsafeBytes { write(d.fileDescriptor, $0.baseAddress, $0.count) }
            }
            try writer.start()
            #expect { try c.recvBytes() } throws: { error in
                if case WireError.checksumMismatch = error { return true }
                return false
            }
            #expect(throws: ConnectionError.self) { try c.poll() }
            #expect(try writer.join(timeout: testDeadline))
        }
        // A whole one between two connections is unharmed.
        let payload = [UInt8](repeating: 6, count: 200_000)
        let sender = JoinableThread(daemon: true) { try a.sendBytes(payload) }
        try sender.start()
        #expect(try b.recvBytes() == payload)
        #expect(try sender.join(timeout: testDeadline))
    }

    /// A connection sends large arrays of numbers from where they lie (a frame in pieces, its
    /// checksum taken over them): the receiver gets what a copy would have given, and the
    /// sender's arrays are neither kept nor changed.
    @Test func largeArraysAmongOtherFieldsArriveWhole() throws {
        let (a, b) = try Connection.pipe()
        var samples = (0..<100_000).map { Double($0) / 3 }
        let value = Measurements(name: "run", samples: samples, flags: [UInt8](repeating: 7, count: 300_000),
                                 counts: (0..<70_000).map { Int32(-$0) }, note: nil)
        let small = Measurements(name: "small", samples: [1, 2], flags: [], counts: [3], note: "n")
        let sender = JoinableThread(daemon: true) {
            try a.send(value)
            try a.send(small)
            try a.send([value, value])
        }
        try sender.start()
        #expect(try b.recv(Measurements.self) == value)
        #expect(try b.recv(Measurements.self) == small)
        #expect(try b.recv([Measurements].self) == [value, value])
        #expect(try sender.join(timeout: testDeadline))
        samples[0] = -1 // the sender's copy was not shared with anything the connection kept
        #expect(value.samples[0] == 0)
        // The same frame as an array of its bytes: what a copy of the value would have made.
        let again = JoinableThread(daemon: true) { try a.send(value) }
        try again.start()
        let frame = try WireFrame.frame(WireEncoder().encode(value))
        #expect(try b.recvBytes() == Array(frame[WireFrame.headerSize ..< frame.count - WireFrame.trailerSize]))
        #expect(try again.join(timeout: testDeadline))
    }
}
