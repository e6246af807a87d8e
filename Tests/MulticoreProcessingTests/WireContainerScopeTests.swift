import Testing
@testable import MulticoreProcessing

/// Where the containers a type's coding took are kept after it ran (a test's own, on one thread).
final class ContainerSink {
    var encoding: KeyedEncodingContainer<Kept.CodingKeys>?
    var decoding: KeyedDecodingContainer<Kept.CodingKeys>?
    /// What a value decoded later reads through `decoding` (the error it threw, if any).
    var laterRead: Result<Int, any Error>?
}

/// A value whose coding keeps its keyed container (in `sink`, not coded) beyond its coding.
struct Kept: Codable {
    enum CodingKeys: String, CodingKey { case number }
    var number: Int
    var sink: ContainerSink?

    init(number: Int, sink: ContainerSink?) {
        self.number = number
        self.sink = sink
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number, forKey: .number)
        sink?.encoding = container
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        number = try container.decode(Int.self, forKey: .number)
        sink = nil
        Self.lastDecoding = container
    }

    /// The last container a decoding took (one test at a time uses it, on its own thread).
    nonisolated(unsafe) static var lastDecoding: KeyedDecodingContainer<CodingKeys>?
}

/// Decodes by reading through a container that another value's decoding kept.
struct ReadsAnother: Decodable {
    init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: Kept.CodingKeys.self)
        let read = Result { try Kept.lastDecoding!.decode(Int.self, forKey: .number) }
        Self.outcome = read
    }

    nonisolated(unsafe) static var outcome: Result<Int, any Error>?
}

/// Codes another message in the middle of its own, between two of its fields.
struct CodesAnother: Codable, Equatable {
    enum CodingKeys: CodingKey { case before, inner, after }
    var before: Int?
    var inner: [UInt8]
    var after: String

    init(before: Int?, after: String) {
        self.before = before
        self.after = after
        inner = []
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(before, forKey: .before)
        try container.encode(try WireEncoder().encode(MaybeNumber(value: before)), forKey: .inner)
        try container.encode(after, forKey: .after)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        before = try container.decodeIfPresent(Int.self, forKey: .before)
        inner = try container.decode([UInt8].self, forKey: .inner)
        #expect(try WireDecoder().decode(MaybeNumber.self, from: inner) == MaybeNumber(value: before))
        after = try container.decode(String.self, forKey: .after)
    }
}

/// Keyed containers find their coder through the thread it runs on, not through a reference
/// (`WireCoderIdentity`): one used outside of its coding throws, never reaches a freed coder.
@Suite struct WireContainerScopeTests {
    @Test func aMessageCodedInsideAnotherLeavesTheOuterOneItsContainers() throws {
        let values = [CodesAnother(before: 3, after: "x"), CodesAnother(before: nil, after: "yz")]
        let bytes = try WireEncoder().encode(values)
        #expect(try WireDecoder().decode([CodesAnother].self, from: bytes).map(\.after) == ["x", "yz"])
    }

    @Test func anEncodingContainerKeptPastItsEncodingThrows() throws {
        let sink = ContainerSink()
        #expect(try WireEncoder().encode(Kept(number: 5, sink: sink)) == [5, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: WireCoderIdentity.misuse) { try sink.encoding?.encode(6, forKey: .number) }
        #expect(throws: WireCoderIdentity.misuse) { try sink.encoding?.encodeIfPresent(Int?.none, forKey: .number) }
        // And while another encoder runs: the container is not that encoder's.
        let other = Kept(number: 7, sink: sink)
        #expect(try WireEncoder().encode([other]).count == 12)
        #expect(throws: WireCoderIdentity.misuse) { try sink.encoding?.encode("late", forKey: .number) }
    }

    @Test func aDecodingContainerKeptPastItsDecodingThrows() throws {
        let bytes = try WireEncoder().encode(Kept(number: 9, sink: nil))
        #expect(try WireDecoder().decode(Kept.self, from: bytes).number == 9)
        let kept = try #require(Kept.lastDecoding)
        #expect(throws: WireCoderIdentity.misuse) { try kept.decode(Int.self, forKey: .number) }
        #expect(throws: WireCoderIdentity.misuse) { try kept.decodeIfPresent(Int.self, forKey: .number) }
        #expect(throws: WireCoderIdentity.misuse) { try kept.nestedUnkeyedContainer(forKey: .number) }
        #expect(kept.allKeys.isEmpty)
        // Used while another decoder runs (which may sit where the first one was): refused too.
        _ = try WireDecoder().decode(ReadsAnother.self, from: [])
        #expect(throws: WireCoderIdentity.misuse) { try ReadsAnother.outcome?.get() }
        Kept.lastDecoding = nil
    }
}
