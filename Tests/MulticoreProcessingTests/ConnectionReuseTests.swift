import Testing
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
}
