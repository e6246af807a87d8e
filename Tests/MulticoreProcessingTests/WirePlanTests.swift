import Testing
@testable import MulticoreProcessing

/// Numbers, Bools and optionals of them, at every alignment: coded by a plan.
struct PlannedFields: PlainData, Equatable {
    var small: Int8
    var maybe: Int?
    var flag: Bool
    var maybeFlag: Bool?
    var word: UInt16
    var real: Double?
    var single: Float
    var huge: UInt64?
}

/// Only ever decoded as an array before its plan is made (the worker's side: no value to start
/// from); no other test may use it, since a plan, once made, is the process's.
struct DecodedFirst: PlainData, Equatable {
    var a: Int32?
    var b: Bool
}

/// The same fields, for the corruption test (plans are made once per type, for the process).
struct CorruptedLater: PlainData, Equatable {
    var a: Int32?
    var b: Bool
}

/// Leaves a stored property out of its coding: it must decode to its default, so no plan.
struct SkipsOne: PlainData, Equatable {
    var a: Int32
    var skipped: Int32 = 5
    var c: Int
    enum CodingKeys: CodingKey { case a, c }
    init(a: Int32, c: Int) { self.a = a; self.c = c }
}

/// Plain data with a field a plan cannot code.
struct NamedNumber: PlainData, Equatable {
    var number: Int?
    var name: String
}

/// The `WirePlan` of a `PlainData` type with optionals: the bytes of `Codable`, both ways,
/// without its calls; and no plan where it would not give what `Codable` gives.
@Suite struct WirePlanTests {
    static func planned(_ n: Int) -> PlannedFields {
        PlannedFields(small: Int8(truncatingIfNeeded: n), maybe: n % 3 == 0 ? nil : n * 1_000_003, flag: n % 2 == 0,
                      maybeFlag: n % 5 == 0 ? nil : n % 2 == 1, word: UInt16(truncatingIfNeeded: n),
                      real: n % 4 == 0 ? nil : Double(n) / 3, single: Float(n), huge: n % 7 == 0 ? nil : UInt64.max - UInt64(n))
    }

    @Test func aPlainTypeWithOptionalsHasAPlanWithCodablesBytes() throws {
        let values = (0..<500).map(Self.planned)
        #expect(WirePlan.plan(for: PlannedFields.self, sample: values[0])?.fields.count == 8)
        let planned = try WireEncoder().encode(values)
        let coded = try WireEncoder().encode(ViaUnkeyed(values))
        #expect(planned == coded)
        #expect(try WireDecoder().decode([PlannedFields].self, from: coded) == values)
        #expect(try WireDecoder().decode(ViaUnkeyed<PlannedFields>.self, from: planned).items == values)
        // Bit patterns survive, as through Codable.
        let odd = PlannedFields(small: -1, maybe: .min, flag: true, maybeFlag: false, word: .max, real: -0.0, single: .nan, huge: 0)
        let back = try WireDecoder().decode([PlannedFields].self, from: try WireEncoder().encode([odd, odd]))
        #expect(back.count == 2 && back[1].single.isNaN && back[1].real?.sign == .minus && back[1].maybe == .min)
    }

    @Test func aPlanIsMadeFromTheFirstDecodedValueToo() throws {
        let values = (0..<100).map { (n: Int) -> DecodedFirst in
            let a: Int32? = n % 2 == 0 ? nil : Int32(n)
            return DecodedFirst(a: a, b: n % 3 == 0)
        }
        #expect(WirePlan.known(for: DecodedFirst.self) == nil, "no plan yet")
        let coded = try WireEncoder().encode(ViaUnkeyed(values))
        #expect(try WireDecoder().decode([DecodedFirst].self, from: coded) == values)
        #expect(WirePlan.known(for: DecodedFirst.self)??.fields.count == 2)
        #expect(try roundTrip(values) == values)
    }

    @Test func noPlanWhereCodableWouldGiveSomethingElse() throws {
        let skips = [SkipsOne(a: 1, c: 2), SkipsOne(a: 3, c: 4)]
        #expect(WirePlan.plan(for: SkipsOne.self, sample: skips[0]) == nil)
        let decoded = try WireDecoder().decode([SkipsOne].self, from: try WireEncoder().encode(skips))
        #expect(decoded.map(\.skipped) == [5, 5])
        #expect(decoded.map(\.c) == [2, 4])
        let named = [NamedNumber(number: 1, name: "one"), NamedNumber(number: nil, name: "")]
        #expect(WirePlan.plan(for: NamedNumber.self, sample: named[0]) == nil)
        #expect(try roundTrip(named) == named)
        #expect(WirePlan.plan(for: MaybeNumber.self, sample: MaybeNumber(value: 1)) == nil, "not PlainData")
    }

    @Test func corruptPlannedArraysAreWireErrors() throws {
        let bytes = try WireEncoder().encode((0..<20).map(Self.planned))
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix of \(length) bytes") { try WireDecoder().decode([PlannedFields].self, from: Array(bytes[..<length])) }
        }
        var badPresence = try WireEncoder().encode([CorruptedLater(a: 1, b: true)])
        badPresence[4] = 2
        #expect(throws: WireError.self) { try WireDecoder().decode([CorruptedLater].self, from: badPresence) }
        var badBool = try WireEncoder().encode([CorruptedLater(a: nil, b: true), CorruptedLater(a: nil, b: true)])
        badBool[badBool.count - 1] = 7
        #expect(throws: WireError.self) { try WireDecoder().decode([CorruptedLater].self, from: badBool) }
    }
}
