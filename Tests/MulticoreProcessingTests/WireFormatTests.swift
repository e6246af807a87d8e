import Synchronization
import Testing
@testable import MulticoreProcessing

/// Types that exercise every path of the format.
enum Shape: Codable, Equatable {
    case circle(radius: Double)
    case rectangle(width: Double, height: Double, label: String?)
    case empty
}

enum Suit: String, Codable { case hearts, spades }

struct Inner: Codable, Equatable {
    var id: Int
    var tags: [String]
    var weight: Float?
}

struct Everything: Codable, Equatable {
    var flag: Bool
    var small: Int8
    var medium: Int16
    var large: Int32
    var huge: Int64
    var unsigned: UInt
    var byte: UInt8
    var word: UInt16
    var dword: UInt32
    var qword: UInt64
    var number: Int
    var real: Double
    var single: Float
    var text: String
    var optionalText: String?
    var missing: Int?
    var doubleOptional: Int??
    var shapes: [Shape]
    var suit: Suit
    var inner: Inner
    var inners: [Inner]
    var samples: [Double]
    var bytes: [UInt8]
    var flags: [Bool]
    var table: [String: Int]
    var nested: [Int: [String]]
    var maybeList: [Int?]
    var set: Set<String>
}

indirect enum Tree: Codable, Equatable {
    case leaf(Int)
    case node(Tree, Tree)
}

struct Empty: Codable, Equatable {}

/// A tree whose nesting goes through lists.
struct Branch: Codable, Equatable {
    var children: [Branch]
}

let sample = Everything(
    flag: true, small: -8, medium: -1600, large: 320_000, huge: -64_000_000_000, unsigned: .max,
    byte: 255, word: 65_535, dword: 4_000_000_000, qword: .max, number: -42, real: .pi, single: 1.5,
    text: "héllo, wörld 🌍", optionalText: "present", missing: nil, doubleOptional: .some(nil),
    shapes: [.circle(radius: 2), .rectangle(width: 3, height: 4, label: nil), .empty, .rectangle(width: 1, height: 1, label: "sq")],
    suit: .spades,
    inner: Inner(id: 1, tags: ["a", "b"], weight: nil),
    inners: (0..<5).map { Inner(id: $0, tags: Array(repeating: "t\($0)", count: $0), weight: Float($0)) },
    samples: [0, -1.5, .infinity, 1e-300], bytes: [0, 1, 2, 255], flags: [true, false, true],
    table: ["one": 1, "two": 2, "": 0], nested: [1: ["x"], -7: []], maybeList: [1, nil, 3], set: ["p", "q"])

func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
    try WireDecoder().decode(T.self, from: try WireEncoder().encode(value))
}

@Suite struct WireFormatTests {
    @Test func everythingRoundTrips() throws {
        #expect(try roundTrip(sample) == sample)
    }

    @Test func primitivesAtTheTopLevel() throws {
        #expect(try roundTrip(42) == 42)
        #expect(try roundTrip("") == "")
        #expect(try roundTrip(Optional<Int>.none) == nil)
        #expect(try roundTrip([String]()) == [])
        #expect(try roundTrip(Int.min) == Int.min)
        #expect(try roundTrip(Double.nan).isNaN)
        #expect(try roundTrip([Empty(), Empty(), Empty()]) == [Empty(), Empty(), Empty()])
        #expect(try roundTrip(Tree.node(.leaf(1), .node(.leaf(2), .leaf(3)))) == .node(.leaf(1), .node(.leaf(2), .leaf(3))))
    }

    @Test func layoutIsCompactAndLittleEndian() throws {
        #expect(try WireEncoder().encode(Int32(1)) == [1, 0, 0, 0])
        #expect(try WireEncoder().encode("ab") == [2, 0x61, 0x62])
        #expect(try WireEncoder().encode(Int?.none) == [0])
        #expect(try WireEncoder().encode(Int16?.some(2)) == [1, 2, 0])
        #expect(try WireEncoder().encode([UInt8(7), 8]) == [2, 0, 0, 0, 0, 0, 0, 0, 7, 8])
        #expect(try WireEncoder().encode(Inner(id: 1, tags: [], weight: nil)).count == 8 + 4 + 1)
    }

    @Test func bulkArraysAreOneCopy() throws {
        let values = (0..<100_000).map { Double($0) * 0.5 }
        let bytes = try WireEncoder().encode(values)
        #expect(bytes.count == 8 + 8 * values.count)
        #expect(try WireDecoder().decode([Double].self, from: bytes) == values)
    }

    @Test func trailingBytesAreRefused() throws {
        let bytes = try WireEncoder().encode(5) + [0]
        #expect(throws: WireError.trailingBytes(1)) { try WireDecoder().decode(Int.self, from: bytes) }
    }

    @Test func everyTruncationThrowsAWireError() throws {
        let bytes = try WireEncoder().encode(sample)
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try WireDecoder().decode(Everything.self, from: Array(bytes[..<length]))
            }
        }
    }

    @Test func invalidValuesAreCorrupt() throws {
        func corrupt<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> Bool {
            do { _ = try WireDecoder().decode(type, from: bytes); return false }
            catch let error as WireError { if case .corrupt = error { return true }; return false }
            catch { return false }
        }
        #expect(corrupt(Bool.self, [2]))
        #expect(corrupt(Int?.self, [7, 0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(corrupt(String.self, [2, 0xC3, 0x28]), "invalid UTF-8")
        #expect(corrupt(String.self, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), "varint overflow")
        #expect(corrupt([String].self, [0xFF, 0xFF, 0xFF, 0x7F]), "a count far beyond the input allocates nothing")
        #expect(corrupt([Double].self, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
        #expect(corrupt([String: Int].self, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
        #expect(corrupt([String: Int].self, [2, 1, 0x61, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x61, 2, 0, 0, 0, 0, 0, 0, 0]), "duplicate key")
        // An enum case that does not exist, and a case name that is not the one read.
        var wrongCase = try WireEncoder().encode(Shape.empty)
        wrongCase[1] = UInt8(ascii: "x")
        #expect(throws: (any Error).self) { try WireDecoder().decode(Shape.self, from: wrongCase) }
    }

    @Test func hostileNestingStopsAtTheDepthLimit() throws {
        var tree = Tree.leaf(0)
        for n in 1...300 { tree = .node(tree, .leaf(n)) }
        let bytes = try WireEncoder().encode(tree)
        #expect(throws: WireError.tooDeep(limit: 256)) { try WireDecoder().decode(Tree.self, from: bytes) }
        #expect(try WireDecoder(maximumDepth: 1_000).decode(Tree.self, from: bytes) == tree)
        // Lists of coded values count too: each list's elements are one level deeper.
        var branch = Branch(children: [])
        for _ in 1...300 { branch = Branch(children: [Branch(children: []), branch]) }
        let branchBytes = try WireEncoder().encode(branch)
        #expect(throws: WireError.tooDeep(limit: 256)) { try WireDecoder().decode(Branch.self, from: branchBytes) }
        #expect(try WireDecoder(maximumDepth: 301).decode(Branch.self, from: branchBytes) == branch, "301 values deep")
        #expect(throws: WireError.tooDeep(limit: 300)) { try WireDecoder(maximumDepth: 300).decode(Branch.self, from: branchBytes) }
    }

    /// Random corruption of valid encodings and random bytes: the decoder must return a value or
    /// throw, never trap, hang or read out of bounds. Seeded, so a failure reproduces.
    @Test(arguments: [1, 2, 3, 4])
    func fuzzedInputNeverCrashesTheDecoder(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let valid = try WireEncoder().encode(sample)
        let validShapes = try WireEncoder().encode(sample.shapes)
        var decoded = 0, refused = 0
        for round in 0..<3_000 {
            var bytes = round % 2 == 0 ? valid : validShapes
            switch random.next() % 4 {
            case 0: // flip a few bits
                for _ in 0..<(1 + random.next() % 4) {
                    let index = Int(random.next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(1 << (random.next() % 8))
                }
            case 1: // overwrite a run with random bytes
                let start = Int(random.next() % UInt64(bytes.count))
                for index in start..<min(bytes.count, start + 8) { bytes[index] = UInt8(truncatingIfNeeded: random.next()) }
            case 2: // cut, or splice a random tail
                bytes = Array(bytes[..<Int(random.next() % UInt64(bytes.count))])
                bytes += (0..<(random.next() % 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            default: // pure noise
                bytes = (0..<(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            do {
                if round % 2 == 0 { _ = try WireDecoder().decode(Everything.self, from: bytes) }
                else { _ = try WireDecoder().decode([Shape].self, from: bytes) }
                decoded += 1
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == 3_000)
        #expect(refused > 2_000, "corruption is noticed")
    }
}

/// An empty struct that counts its decodings, and stops a runaway decoder past `limit`.
struct CountedEmpty: Codable, Equatable {
    struct Amplified: Error {}
    static let decoded = Atomic<Int>(0)
    static let limit = Atomic<Int>(.max)
    init() {}
    init(from decoder: any Decoder) throws {
        let count = Self.decoded.wrappingAdd(1, ordering: .relaxed).newValue
        if count > Self.limit.load(ordering: .relaxed) { throw Amplified() }
    }
    func encode(to encoder: any Encoder) throws {}
}

/// Writes its elements through nested keyed containers that hold nothing, and a super encoder.
struct NestedNothing: Codable, Equatable {
    var count: Int
    enum Key: CodingKey { case unused }
    init(count: Int) { self.count = count }
    func encode(to encoder: any Encoder) throws {
        var list = encoder.unkeyedContainer()
        for _ in 0..<count { _ = list.nestedContainer(keyedBy: Key.self) }
        _ = list.superEncoder()
    }
    init(from decoder: any Decoder) throws {
        var list = try decoder.unkeyedContainer()
        count = (list.count ?? 1) - 1
        for _ in 0..<count { _ = try list.nestedContainer(keyedBy: Key.self) }
        _ = try list.superDecoder()
    }
}

/// Elements with no stored fields take no bytes of their own: they must still round-trip in
/// any number (a pool chunk of 65,537 such tasks used to fail), while a few kilobytes of
/// hostile counts must not make the decoder work for seconds (nested lists of empty structs
/// with counts of 65,536 made a 4 KB frame cost 11 s of CPU).
@Suite struct WireZeroSizeTests {
    @Test func zeroSizeElementsRoundTripInAnyNumber() throws {
        let many = [Empty](repeating: Empty(), count: 200_000)
        #expect(try roundTrip(many) == many)
        let square = [[Empty]](repeating: [Empty](repeating: Empty(), count: 700), count: 700)
        #expect(try roundTrip(square) == square)
        let keyed = Dictionary(uniqueKeysWithValues: (0..<70_000).map { ($0, [Empty]()) })
        #expect(try roundTrip(keyed) == keyed)
        #expect(try roundTrip([Empty?](repeating: Empty(), count: 70_000)).count == 70_000)
        #expect(try roundTrip(NestedNothing(count: 70_000)) == NestedNothing(count: 70_000))
        #expect(try WireEncoder().encode([Empty(), Empty()]).count == 4 + 2, "one byte for each element without bytes")
    }

    /// The decoder's work is bounded by its input: never more element decodings than bytes.
    @Test func decodingWorkIsBoundedByTheInputSize() throws {
        // The old attack: 1,000 inner lists, each claiming 65,536 empty elements, in 4 KB.
        var hostile: [UInt8] = []
        withUnsafeBytes(of: UInt32(1_000).littleEndian) { hostile += $0 }
        for _ in 0..<1_000 { withUnsafeBytes(of: UInt32(65_536).littleEndian) { hostile += $0 } }
        var inputs = [hostile]
        // And seeded noise, read as lists of lists of empty structs.
        var random = SplitMix64(seed: 9)
        for _ in 0..<500 {
            let count = Int(random.next() % 256)
            inputs.append((0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 4 == 0 ? random.next() : random.next() % 3) })
        }
        for bytes in inputs {
            CountedEmpty.decoded.store(0, ordering: .relaxed)
            CountedEmpty.limit.store(bytes.count, ordering: .relaxed)
            do {
                _ = try WireDecoder().decode([[CountedEmpty]].self, from: bytes)
            } catch is CountedEmpty.Amplified {
                Issue.record("\(bytes.count) bytes made the decoder decode more than \(bytes.count) elements")
                return
            } catch {
                #expect(error is WireError, "\(error)")
            }
            #expect(CountedEmpty.decoded.load(ordering: .relaxed) <= bytes.count)
        }
    }
}

@Suite struct WireFrameTests {
    @Test func crc32cKnownVector() {
        #expect(WireFrame.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(WireFrame.checksum([]) == 0)
    }

    @Test func framesSplitAStreamArrivingByteByByte() throws {
        let payloads: [[UInt8]] = [[], [1], Array(repeating: 9, count: 1000), Array("end".utf8)]
        let stream = try payloads.flatMap { try WireFrame.frame($0) }
        var reader = WireFrameReader()
        var received: [[UInt8]] = []
        for byte in stream {
            reader.append([byte])
            while let payload = try reader.next() { received.append(payload) }
        }
        #expect(received == payloads)
        #expect(reader.pendingByteCount == 0)
    }

    @Test func oversizedFrameIsRefusedBeforeItsBytesArrive() throws {
        var reader = WireFrameReader(limit: 100)
        reader.append(try WireFrame.frame(Array(repeating: 0, count: 101)).prefix(WireFrame.headerSize))
        #expect(throws: WireError.oversizedFrame(size: 101, limit: 100)) { try reader.next() }
    }

    @Test func corruptPayloadFailsItsChecksum() throws {
        var frame = try WireFrame.frame(try WireEncoder().encode(sample))
        frame[WireFrame.headerSize + 3] ^= 0x10
        var reader = WireFrameReader()
        reader.append(frame)
        #expect {
            try reader.next()
        } throws: { error in
            if case WireError.checksumMismatch = error { return true }
            return false
        }
    }

    /// A payload of 64 KiB or more carries its checksum after it, and its header the checksum of
    /// its length: a stream of small and large frames, arriving in uneven pieces, splits exactly.
    @Test func largeFramesCarryTheirChecksumInATrailer() throws {
        let large = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let frame = try WireFrame.frame(large)
        #expect(frame.count == WireFrame.headerSize + large.count + WireFrame.trailerSize)
        let (length, field) = try frame.withUnsafeBytes { try WireFrame.parseHeader(UnsafeRawBufferPointer(rebasing: $0[..<8])) }
        #expect(length == large.count)
        #expect(field == withUnsafeBytes(of: UInt32(large.count).littleEndian) { WireFrame.checksum(Array($0)) })
        let trailer = frame.suffix(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        #expect(trailer == WireFrame.checksum(large))
        #expect(try WireFrame.frame(Array(large[..<65_535])).count == WireFrame.headerSize + 65_535, "just below: no trailer")

        let payloads: [[UInt8]] = [[1], large, Array(large[..<65_536]), [], Array(large[..<65_535]), [2, 3]]
        let stream = try payloads.flatMap { try WireFrame.frame($0) }
        var reader = WireFrameReader()
        var received: [[UInt8]] = []
        var offset = 0, piece = 1
        while offset < stream.count {
            let end = min(stream.count, offset + piece)
            reader.append(stream[offset ..< end])
            while let payload = try reader.next() { received.append(payload) }
            offset = end
            piece = piece * 3 % 10_007 // uneven: headers and trailers are split too
        }
        #expect(received == payloads)
        #expect(reader.pendingByteCount == 0)
    }

    /// A corrupt trailer fails the payload's checksum; a corrupt length of a large frame is
    /// refused from its header alone, before its payload arrives.
    @Test func aLargeFramesTrailerAndLengthAreChecked() throws {
        var frame = try WireFrame.frame([UInt8](repeating: 4, count: 100_000))
        frame[frame.count - 1] ^= 0x01
        var reader = WireFrameReader()
        reader.append(frame)
        #expect { try reader.next() } throws: { error in
            if case WireError.checksumMismatch = error { return true }
            return false
        }
        var header = Array(try WireFrame.frame([UInt8](repeating: 4, count: 100_000)).prefix(WireFrame.headerSize))
        header[2] ^= 0x10 // 100,000 + 1 MiB
        var fresh = WireFrameReader()
        fresh.append(header)
        #expect { try fresh.next() } throws: { error in
            if case WireError.corrupt = error { return true }
            return false
        }
    }

    @Test func truncatedFrameWaitsForMoreBytes() throws {
        let frame = try WireFrame.frame([1, 2, 3])
        var reader = WireFrameReader()
        reader.append(frame.dropLast())
        #expect(try reader.next() == nil)
        reader.append(frame.suffix(1))
        #expect(try reader.next() == [1, 2, 3])
    }
}

/// A small deterministic generator for the fuzz test.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
