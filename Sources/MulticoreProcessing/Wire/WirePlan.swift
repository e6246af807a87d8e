import MulticoreThreading

/// How the values of a `PlainData` struct whose fields are numbers, `Bool`s and optionals of
/// them are coded without calling `encode(to:)` or `init(from:)`: each field read from, or
/// written to, its place in memory, in the bytes `Codable` would give (the same wire format, so
/// either side may use either path). What a pool does with an array of them: about 10 times
/// fewer instructions than the general path, whose per-value cost is `Codable`'s own
/// (containers, boxes, existentials), for types that the raw copy cannot take (an optional has
/// no bytes of the wire format in memory, and leaves padding).
///
/// Worked out once per type from its first value: the fields its `encode(to:)` encodes
/// (`WirePlanRecorder`), their places by Swift's struct layout (declaration order, each at its
/// alignment), checked against the type's size, stride and alignment, then against the value
/// itself both ways (the plan's bytes are `Codable`'s, and decoding them gives the same fields
/// both ways). `PlainData` promises that the conformance is the synthesized one, so what holds
/// for the first value holds for every value.
struct WirePlan: Sendable {
    /// A field's type.
    enum Kind: Sendable {
        case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float, double
        case optionalBool, optionalInt, optionalInt8, optionalInt16, optionalInt32, optionalInt64
        case optionalUInt, optionalUInt8, optionalUInt16, optionalUInt32, optionalUInt64, optionalFloat, optionalDouble
    }

    struct Field: Sendable {
        let kind: Kind
        let offset: Int
    }

    let fields: [Field]
    let stride: Int

    private static let known = Locked<[ObjectIdentifier: WirePlan?]>([:])

    /// The plan for `T`, worked out from `sample` the first time; nil when its values must be
    /// coded through `Codable` (not `PlainData`, or fields a plan cannot code).
    static func plan<T>(for type: T.Type, sample: T) -> WirePlan? {
        guard let plain = T.self as? any PlainData.Type else { return nil }
        if let known = known(for: T.self) { return known }
        let plan = make(plain, sample: sample)
        known.withLock { $0[ObjectIdentifier(T.self)] = plan }
        return plan
    }

    /// What was worked out for `type`: nil when nothing was yet, .some(nil) when it has no plan.
    static func known(for type: Any.Type) -> WirePlan?? {
        known.withLock { $0[ObjectIdentifier(type)] }
    }

    private static func make<P: PlainData, T>(_: P.Type, sample: T) -> WirePlan? {
        guard let sample = sample as? P, _isPOD(P.self), MemoryLayout<P>.size > 0 else { return nil }
        return make(for: sample)
    }

    private static func make<T: Codable>(for sample: T) -> WirePlan? {
        guard let kinds = WirePlanRecorder.fields(of: sample), !kinds.isEmpty else { return nil }
        // Every stored property is one of the fields, in order (a `CodingKeys` that leaves one
        // out would otherwise pass for padding, and decode as zero instead of its default).
        let stored = Mirror(reflecting: sample).children.map { type(of: $0.value) }
        guard stored.count == kinds.count, zip(stored, kinds).allSatisfy({ $0 == $1.type }) else { return nil }
        var fields: [Field] = []
        var end = 0, alignment = 1
        for kind in kinds {
            let (size, align) = kind.layout
            let offset = (end + align - 1) / align * align
            fields.append(Field(kind: kind, offset: offset))
            end = offset + size
            alignment = max(alignment, align)
        }
        let stride = max(1, (end + alignment - 1) / alignment * alignment)
        guard end == MemoryLayout<T>.size, stride == MemoryLayout<T>.stride, alignment == MemoryLayout<T>.alignment else { return nil }
        let plan = WirePlan(fields: fields, stride: stride)
        return plan.agrees(with: sample) ? plan : nil
    }

    /// Whether the plan codes `sample` as `Codable` does, both ways.
    private func agrees<T: Codable>(with sample: T) -> Bool {
        guard let coded = try? WireEncoder().encode(sample) else { return false }
        let encoder = _WireEncoder()
        defer { encoder.finish() }
        withUnsafeBytes(of: sample) { encode($0.baseAddress!, into: encoder) }
        guard encoder.writer.bytes == coded, let decoded = try? WireDecoder().decode(T.self, from: coded) else { return false }
        var reader = WireReader(coded)
        var planned = [T](unsafeUninitializedCapacity: 1) { buffer, initialized in
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: stride)
            if (try? decode(from: &reader, into: raw)) != nil { initialized = 1 }
        }
        guard let value = planned.popLast(), reader.remaining == 0 else { return false }
        return withUnsafeBytes(of: value) { a in withUnsafeBytes(of: decoded) { b in sameFields(a.baseAddress!, b.baseAddress!) } }
    }

    /// Whether the fields at `a` and `b` hold the same values (padding aside).
    private func sameFields(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Bool {
        let single = _WireEncoder(), other = _WireEncoder()
        defer { single.finish(); other.finish() }
        encode(a, into: single)
        encode(b, into: other)
        return single.writer.bytes == other.writer.bytes
    }

    /// Writes the value at `base` as `Codable` would.
    func encode(_ base: UnsafeRawPointer, into encoder: _WireEncoder) {
        for field in fields { field.kind.encode(base + field.offset, into: &encoder.writer) }
    }

    /// Reads a value into `base` (`stride` bytes, zeroed: padding stays zero).
    func decode(from reader: inout WireReader, into base: UnsafeMutableRawPointer) throws(WireError) {
        for field in fields { try field.kind.decode(from: &reader, into: base + field.offset) }
    }
}

extension WirePlan.Kind {
    /// The field's size and alignment in memory.
    var layout: (size: Int, alignment: Int) {
        type.layout
    }

    /// The field's type.
    var type: any WirePlanField.Type {
        switch self {
        case .bool: Bool.self
        case .int: Int.self
        case .int8: Int8.self
        case .int16: Int16.self
        case .int32: Int32.self
        case .int64: Int64.self
        case .uint: UInt.self
        case .uint8: UInt8.self
        case .uint16: UInt16.self
        case .uint32: UInt32.self
        case .uint64: UInt64.self
        case .float: Float.self
        case .double: Double.self
        case .optionalBool: Bool?.self
        case .optionalInt: Int?.self
        case .optionalInt8: Int8?.self
        case .optionalInt16: Int16?.self
        case .optionalInt32: Int32?.self
        case .optionalInt64: Int64?.self
        case .optionalUInt: UInt?.self
        case .optionalUInt8: UInt8?.self
        case .optionalUInt16: UInt16?.self
        case .optionalUInt32: UInt32?.self
        case .optionalUInt64: UInt64?.self
        case .optionalFloat: Float?.self
        case .optionalDouble: Double?.self
        }
    }

    @inline(__always)
    func encode(_ at: UnsafeRawPointer, into writer: inout WireWriter) {
        switch self {
        case .bool: Bool.put(at, &writer)
        case .int: Int.put(at, &writer)
        case .int8: Int8.put(at, &writer)
        case .int16: Int16.put(at, &writer)
        case .int32: Int32.put(at, &writer)
        case .int64: Int64.put(at, &writer)
        case .uint: UInt.put(at, &writer)
        case .uint8: UInt8.put(at, &writer)
        case .uint16: UInt16.put(at, &writer)
        case .uint32: UInt32.put(at, &writer)
        case .uint64: UInt64.put(at, &writer)
        case .float: Float.put(at, &writer)
        case .double: Double.put(at, &writer)
        case .optionalBool: Bool.putOptional(at, &writer)
        case .optionalInt: Int.putOptional(at, &writer)
        case .optionalInt8: Int8.putOptional(at, &writer)
        case .optionalInt16: Int16.putOptional(at, &writer)
        case .optionalInt32: Int32.putOptional(at, &writer)
        case .optionalInt64: Int64.putOptional(at, &writer)
        case .optionalUInt: UInt.putOptional(at, &writer)
        case .optionalUInt8: UInt8.putOptional(at, &writer)
        case .optionalUInt16: UInt16.putOptional(at, &writer)
        case .optionalUInt32: UInt32.putOptional(at, &writer)
        case .optionalUInt64: UInt64.putOptional(at, &writer)
        case .optionalFloat: Float.putOptional(at, &writer)
        case .optionalDouble: Double.putOptional(at, &writer)
        }
    }

    @inline(__always)
    func decode(from reader: inout WireReader, into at: UnsafeMutableRawPointer) throws(WireError) {
        switch self {
        case .bool: try Bool.get(&reader, at)
        case .int: try Int.get(&reader, at)
        case .int8: try Int8.get(&reader, at)
        case .int16: try Int16.get(&reader, at)
        case .int32: try Int32.get(&reader, at)
        case .int64: try Int64.get(&reader, at)
        case .uint: try UInt.get(&reader, at)
        case .uint8: try UInt8.get(&reader, at)
        case .uint16: try UInt16.get(&reader, at)
        case .uint32: try UInt32.get(&reader, at)
        case .uint64: try UInt64.get(&reader, at)
        case .float: try Float.get(&reader, at)
        case .double: try Double.get(&reader, at)
        case .optionalBool: try Bool.getOptional(&reader, at)
        case .optionalInt: try Int.getOptional(&reader, at)
        case .optionalInt8: try Int8.getOptional(&reader, at)
        case .optionalInt16: try Int16.getOptional(&reader, at)
        case .optionalInt32: try Int32.getOptional(&reader, at)
        case .optionalInt64: try Int64.getOptional(&reader, at)
        case .optionalUInt: try UInt.getOptional(&reader, at)
        case .optionalUInt8: try UInt8.getOptional(&reader, at)
        case .optionalUInt16: try UInt16.getOptional(&reader, at)
        case .optionalUInt32: try UInt32.getOptional(&reader, at)
        case .optionalUInt64: try UInt64.getOptional(&reader, at)
        case .optionalFloat: try Float.getOptional(&reader, at)
        case .optionalDouble: try Double.getOptional(&reader, at)
        }
    }
}

/// The type of a field a plan codes: a `WirePlanScalar` or an optional of one.
protocol WirePlanField {}

extension WirePlanField {
    static var layout: (size: Int, alignment: Int) { (MemoryLayout<Self>.size, MemoryLayout<Self>.alignment) }
}

extension Optional: WirePlanField where Wrapped: WirePlanScalar {}

/// A field type a plan codes: written and read as the wire format writes it.
protocol WirePlanScalar: WirePlanField, BitwiseCopyable {
    static func write(_ value: Self, to writer: inout WireWriter)
    static func read(from reader: inout WireReader) throws(WireError) -> Self
}

extension WirePlanScalar {
    @inline(__always)
    static func put(_ at: UnsafeRawPointer, _ writer: inout WireWriter) {
        write(at.loadUnaligned(as: Self.self), to: &writer)
    }

    @inline(__always)
    static func putOptional(_ at: UnsafeRawPointer, _ writer: inout WireWriter) {
        if let value = at.loadUnaligned(as: Self?.self) {
            writer.write(UInt8(1))
            write(value, to: &writer)
        } else {
            writer.write(UInt8(0))
        }
    }

    @inline(__always)
    static func get(_ reader: inout WireReader, _ at: UnsafeMutableRawPointer) throws(WireError) {
        at.storeBytes(of: try read(from: &reader), as: Self.self)
    }

    @inline(__always)
    static func getOptional(_ reader: inout WireReader, _ at: UnsafeMutableRawPointer) throws(WireError) {
        let value: Self? = try reader.readPresence() ? try read(from: &reader) : nil
        at.storeBytes(of: value, as: Self?.self)
    }
}

extension WirePlanScalar where Self: FixedWidthInteger {
    @inline(__always) static func write(_ value: Self, to writer: inout WireWriter) { writer.write(value) }
    @inline(__always) static func read(from reader: inout WireReader) throws(WireError) -> Self { try reader.read(Self.self) }
}

extension Int: WirePlanScalar {}
extension Int8: WirePlanScalar {}
extension Int16: WirePlanScalar {}
extension Int32: WirePlanScalar {}
extension Int64: WirePlanScalar {}
extension UInt: WirePlanScalar {}
extension UInt8: WirePlanScalar {}
extension UInt16: WirePlanScalar {}
extension UInt32: WirePlanScalar {}
extension UInt64: WirePlanScalar {}

extension Bool: WirePlanScalar {
    @inline(__always) static func write(_ value: Bool, to writer: inout WireWriter) { writer.write(UInt8(value ? 1 : 0)) }
    @inline(__always) static func read(from reader: inout WireReader) throws(WireError) -> Bool { try reader.readBool() }
}

extension Float: WirePlanScalar {
    @inline(__always) static func write(_ value: Float, to writer: inout WireWriter) { writer.write(value.bitPattern) }
    @inline(__always) static func read(from reader: inout WireReader) throws(WireError) -> Float {
        Float(bitPattern: try reader.read(UInt32.self))
    }
}

extension Double: WirePlanScalar {
    @inline(__always) static func write(_ value: Double, to writer: inout WireWriter) { writer.write(value.bitPattern) }
    @inline(__always) static func read(from reader: inout WireReader) throws(WireError) -> Double {
        Double(bitPattern: try reader.read(UInt64.self))
    }
}
