import Testing
@testable import MulticoreProcessing

/// A task-like struct with an optional field (issue 15's cliff).
struct MaybeNumber: Codable, Equatable {
    var value: Int?
}

/// A struct whose field is a struct of its own, with a string and an optional of a struct.
struct Nested: Codable, Equatable {
    struct Point: Codable, Equatable {
        var x: Int
        var y: Double
    }
    var name: String
    var point: Point
    var maybePoint: Point?
    var flags: [Bool?]
}

/// Writes its items through an unkeyed container, as `Array.encode(to:)` does: the bytes the
/// format's own array path must keep producing.
struct ViaUnkeyed<Element: Codable & Equatable>: Codable, Equatable {
    var items: [Element]
    init(_ items: [Element]) { self.items = items }
    func encode(to encoder: any Encoder) throws {
        var list = encoder.unkeyedContainer()
        for item in items { try list.encode(item) }
    }
    init(from decoder: any Decoder) throws {
        var list = try decoder.unkeyedContainer()
        items = []
        while !list.isAtEnd { items.append(try list.decode(Element.self)) }
    }
}

// Ten key types, more than a coder remembers (`WireTypeMemo.capacity`), used in turn.
struct K0: Codable, Equatable { var a: Int8 }
struct K1: Codable, Equatable { var b: Int16? }
struct K2: Codable, Equatable { var c: String }
struct K3: Codable, Equatable { var d: UInt32 }
struct K4: Codable, Equatable { var e: Double? }
struct K5: Codable, Equatable { var f: Bool }
struct K6: Codable, Equatable { var g: [Int] }
struct K7: Codable, Equatable { var h: Float }
struct K8: Codable, Equatable { var i: UInt64? }
struct K9: Codable, Equatable { var j: Shape }
struct ManyKeys: Codable, Equatable {
    var k0: K0, k1: K1, k2: K2, k3: K3, k4: K4, k5: K5, k6: K6, k7: K7, k8: K8, k9: K9

    init(_ n: Int) {
        k0 = K0(a: Int8(truncatingIfNeeded: n)); k1 = K1(b: n % 2 == 0 ? nil : Int16(truncatingIfNeeded: n))
        k2 = K2(c: "k\(n)"); k3 = K3(d: UInt32(n)); k4 = K4(e: n % 3 == 0 ? nil : Double(n) / 4)
        k5 = K5(f: n % 2 == 0); k6 = K6(g: Array(0..<(n % 4))); k7 = K7(h: Float(n)); k8 = K8(i: n % 5 == 0 ? nil : UInt64(n))
        k9 = K9(j: n % 2 == 0 ? .circle(radius: Double(n)) : .rectangle(width: 1, height: 2, label: n % 3 == 0 ? nil : "r\(n)"))
    }
}

/// The general `Codable` path (issue 15): what it remembers per type (kinds, keyed containers),
/// arrays written by the format itself, and ASCII strings decoded without validation.
@Suite struct WireCodingPathTests {
    @Test func optionalFieldsRoundTripNilAndNot() throws {
        let values = (0..<1_000).map { MaybeNumber(value: $0 % 3 == 0 ? nil : $0 - 500) }
        #expect(try roundTrip(values) == values)
        #expect(try roundTrip(MaybeNumber(value: nil)) == MaybeNumber(value: nil))
        #expect(try WireEncoder().encode(MaybeNumber(value: nil)) == [0])
        #expect(try WireEncoder().encode(MaybeNumber(value: 1)) == [1, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(try WireEncoder().encode([MaybeNumber(value: nil), MaybeNumber(value: 2)]) == [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func nestedStructsStringsAndEnumsRoundTrip() throws {
        let values = (0..<300).map { (n: Int) -> Nested in
            let name = n % 2 == 0 ? "plain \(n)" : "héllo \(n) 🌍"
            let maybePoint: Nested.Point? = n % 3 == 0 ? nil : Nested.Point(x: -n, y: 0.25)
            return Nested(name: name, point: Nested.Point(x: n, y: Double(n) / 2), maybePoint: maybePoint, flags: [true, nil, n % 2 == 0])
        }
        #expect(try roundTrip(values) == values)
        let shapes: [Shape] = [.empty, .circle(radius: 1), .rectangle(width: 2, height: 3, label: nil), .rectangle(width: 0, height: 0, label: "x")]
        #expect(try roundTrip(shapes) == shapes)
        #expect(try roundTrip([[Nested.Point]]([[], [.init(x: 1, y: 2)], [.init(x: 3, y: 4), .init(x: 5, y: 6)]])).count == 3)
        #expect(try roundTrip(["", "a", String(repeating: "z", count: 100), "ünïcödé", "\u{7F}"]) == ["", "a", String(repeating: "z", count: 100), "ünïcödé", "\u{7F}"])
    }

    @Test func arraysKeepTheBytesOfAnUnkeyedContainer() throws {
        let outers = [Nested(name: "a", point: .init(x: 1, y: 2), maybePoint: nil, flags: []),
                      Nested(name: "b", point: .init(x: 3, y: 4), maybePoint: .init(x: 5, y: 6), flags: [nil])]
        try expectSameBytes(outers)
        try expectSameBytes([MaybeNumber(value: 7), MaybeNumber(value: nil)])
        try expectSameBytes(["x", "yz"])
        try expectSameBytes([Int?.none, 3])
        try expectSameBytes([Empty(), Empty()])
        try expectSameBytes([[1, 2], [3]])
        try expectSameBytes([Shape.empty, .circle(radius: 2)])
    }

    /// `[T]` and a struct writing the same elements through an unkeyed container give the same
    /// bytes, and each decodes the other's.
    private func expectSameBytes<T: Codable & Equatable>(_ items: [T]) throws {
        let direct = try WireEncoder().encode(items)
        let unkeyed = try WireEncoder().encode(ViaUnkeyed(items))
        #expect(direct == unkeyed, "\(T.self)")
        #expect(try WireDecoder().decode([T].self, from: unkeyed) == items)
        #expect(try WireDecoder().decode(ViaUnkeyed<T>.self, from: direct) == ViaUnkeyed(items))
    }

    @Test func aSliceIsWrittenAsTheArrayOfItsElements() throws {
        func expectSame<T: Codable & Equatable>(_ values: [T]) throws {
            for range in [0..<values.count, 1..<values.count, 2..<2, (values.count - 1)..<values.count] {
                let slice = values[range]
                let bytes = try WireEncoder().encode(contentsOf: slice)
                #expect(bytes == (try WireEncoder().encode(Array(slice))), "\(T.self) \(range)")
                #expect(try WireDecoder().decode([T].self, from: bytes) == Array(slice))
            }
        }
        try expectSame((0..<50).map { MaybeNumber(value: $0 % 3 == 0 ? nil : $0) }) // coded
        try expectSame((0..<50).map { $0 * 3 }) // numbers, in one copy
        try expectSame((0..<50).map { "s\($0)" }) // the format's own
        try expectSame([Empty](repeating: Empty(), count: 5)) // no bytes of their own
        try expectSame((0..<20).map { n in Nested(name: "\(n)", point: .init(x: n, y: 1), maybePoint: nil, flags: [nil]) })
    }

    @Test func moreKeyTypesThanTheCoderRemembers() throws {
        let values = (0..<200).map(ManyKeys.init)
        #expect(try roundTrip(values) == values)
        #expect(try roundTrip(ManyKeys(7)) == ManyKeys(7))
        // Cycling through the key types makes containers over and over: only the remembered are kept.
        let encoder = _WireEncoder()
        try encoder.encodeValue(values)
        #expect(encoder.keyedContainers.count <= WireTypeMemo<Int>.capacity)
        let decoder = _WireDecoder(reader: WireReader(encoder.writer.bytes), maximumDepth: 16)
        #expect(try decoder.decodeValue([ManyKeys].self) == values)
        #expect(decoder.keyedContainers.count <= WireTypeMemo<Int>.capacity)
        encoder.finish()
        decoder.finish()
    }

    @Test func aCoderLetsGoOfItsContainersWhenTheMessageEnds() throws {
        weak var encoderLeft: _WireEncoder?
        weak var decoderLeft: _WireDecoder?
        do {
            let encoder = _WireEncoder()
            try encoder.encodeValue([MaybeNumber(value: 1), MaybeNumber(value: nil)])
            let bytes = encoder.writer.bytes
            encoder.finish()
            encoderLeft = encoder
            let decoder = _WireDecoder(reader: WireReader(bytes), maximumDepth: 8)
            #expect(try decoder.decodeValue([MaybeNumber].self) == [MaybeNumber(value: 1), MaybeNumber(value: nil)])
            decoder.finish()
            decoderLeft = decoder
        }
        #expect(encoderLeft == nil, "the containers it handed out kept the encoder alive")
        #expect(decoderLeft == nil, "the containers it handed out kept the decoder alive")
    }

    @Test func corruptArraysOfStructsAreWireErrors() throws {
        func refusal<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> WireError? {
            do { _ = try WireDecoder().decode(type, from: bytes); return nil }
            catch let error as WireError { return error }
            catch { return nil }
        }
        // A count far beyond the input, and one just beyond it.
        #expect(refusal([MaybeNumber].self, [0xFF, 0xFF, 0xFF, 0x7F, 0]).map { if case .corrupt = $0 { true } else { false } } == true)
        #expect(refusal([MaybeNumber].self, [3, 0, 0, 0, 0, 0]) != nil)
        // A presence byte that is neither 0 nor 1.
        #expect(refusal([MaybeNumber].self, [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]).map { if case .corrupt = $0 { true } else { false } } == true)
        // Invalid UTF-8 inside a struct; a truncated element; a count that a large element type
        // cannot hold in the input (the decoder appends rather than reserving the count).
        #expect(refusal([K2].self, [1, 0, 0, 0, 2, 0xC3, 0x28]) != nil)
        #expect(refusal([MaybeNumber].self, [1, 0, 0, 0, 1, 7, 0]) == .truncated(offset: 5, needed: 6))
        var big = [UInt8]()
        withUnsafeBytes(of: UInt32(60).littleEndian) { big += $0 }
        big += [UInt8](repeating: 1, count: 60)
        #expect(refusal([ManyKeys].self, big) != nil)
        // Every prefix of a valid array of nested structs is refused, never trapped on.
        let bytes = try WireEncoder().encode((0..<5).map(ManyKeys.init))
        for length in 0..<bytes.count {
            #expect(refusal([ManyKeys].self, Array(bytes[..<length])) != nil, "prefix of \(length) bytes")
        }
    }
}
