/// Types the wire format writes itself rather than through `encode(to:)`: numbers, strings,
/// optionals (with a presence byte), arrays (in WireArray.swift) and dictionaries (as pairs,
/// since a positional format cannot list a keyed container's keys).
protocol WireSpecialEncodable {
    func wireEncode(into encoder: _WireEncoder) throws
}

protocol WireSpecialDecodable {
    static func wireDecode(from decoder: _WireDecoder) throws -> Self
}

// MARK: Numbers, Bool, String

extension Bool: WireSpecialEncodable, WireSpecialDecodable {
    func wireEncode(into encoder: _WireEncoder) throws { try encoder.encode(self) }
    static func wireDecode(from decoder: _WireDecoder) throws -> Bool { try decoder.decode(Bool.self) }
}

extension String: WireSpecialEncodable, WireSpecialDecodable {
    func wireEncode(into encoder: _WireEncoder) throws { try encoder.encode(self) }
    static func wireDecode(from decoder: _WireDecoder) throws -> String { try decoder.decode(String.self) }
}

extension Double: WireSpecialEncodable, WireSpecialDecodable {
    func wireEncode(into encoder: _WireEncoder) throws { try encoder.encode(self) }
    static func wireDecode(from decoder: _WireDecoder) throws -> Double { try decoder.decode(Double.self) }
}

extension Float: WireSpecialEncodable, WireSpecialDecodable {
    func wireEncode(into encoder: _WireEncoder) throws { try encoder.encode(self) }
    static func wireDecode(from decoder: _WireDecoder) throws -> Float { try decoder.decode(Float.self) }
}

/// Integers are written as themselves, little-endian, by one generic path (`Int` and `UInt`
/// are 8 bytes: Multicore runs on 64-bit Linux).
protocol WireFixedWidth: FixedWidthInteger, WireSpecialEncodable, WireSpecialDecodable {}

extension WireFixedWidth {
    func wireEncode(into encoder: _WireEncoder) throws { encoder.writer.write(self) }
    static func wireDecode(from decoder: _WireDecoder) throws -> Self { try decoder.reader.read(Self.self) }
}

extension Int: WireFixedWidth {}
extension UInt: WireFixedWidth {}
extension Int8: WireFixedWidth {}
extension Int16: WireFixedWidth {}
extension Int32: WireFixedWidth {}
extension Int64: WireFixedWidth {}
extension UInt8: WireFixedWidth {}
extension UInt16: WireFixedWidth {}
extension UInt32: WireFixedWidth {}
extension UInt64: WireFixedWidth {}

// MARK: Optional

extension Optional: WireSpecialEncodable where Wrapped: Encodable {
    func wireEncode(into encoder: _WireEncoder) throws {
        switch self {
        case .none:
            encoder.writer.write(UInt8(0))
        case .some(let wrapped):
            encoder.writer.write(UInt8(1))
            try encoder.encodeValue(wrapped)
        }
    }
}

extension Optional: WireSpecialDecodable where Wrapped: Decodable {
    static func wireDecode(from decoder: _WireDecoder) throws -> Wrapped? {
        guard try decoder.reader.readPresence() else { return nil }
        return try decoder.decodeValue(Wrapped.self)
    }
}

// MARK: Numbers that arrays copy as memory (WireArray.swift)

/// Numbers whose every bit pattern is a valid value, so that an array of them can be copied
/// as raw bytes both ways. (`Bool` is not one: only 0 and 1 are valid.)
protocol WireTrivial {}
extension Int: WireTrivial {}
extension Int8: WireTrivial {}
extension Int16: WireTrivial {}
extension Int32: WireTrivial {}
extension Int64: WireTrivial {}
extension UInt: WireTrivial {}
extension UInt8: WireTrivial {}
extension UInt16: WireTrivial {}
extension UInt32: WireTrivial {}
extension UInt64: WireTrivial {}
extension Float: WireTrivial {}
extension Double: WireTrivial {}

// MARK: Dictionaries, as pairs

extension Dictionary: WireSpecialEncodable where Key: Encodable, Value: Encodable {
    func wireEncode(into encoder: _WireEncoder) throws {
        encoder.writer.writeVarint(UInt64(count))
        for (key, value) in self {
            let start = encoder.writer.count
            try encoder.encodeValue(key)
            try encoder.encodeValue(value)
            // As in a list: every entry takes at least a byte.
            if encoder.writer.count == start { encoder.writer.write(WireUnkeyedEncodingContainer.emptyElement) }
        }
    }
}

extension Dictionary: WireSpecialDecodable where Key: Decodable, Value: Decodable {
    static func wireDecode(from decoder: _WireDecoder) throws -> [Key: Value] {
        let start = decoder.reader.offset
        let count = try decoder.reader.readVarint()
        // Every entry takes at least one byte.
        guard count <= UInt64(decoder.reader.remaining) else {
            throw WireError.corrupt(offset: start, reason: "dictionary of \(count) entries exceeds the bytes left")
        }
        var result: [Key: Value] = [:]
        for _ in 0..<count {
            let keyStart = decoder.reader.offset
            let key = try decoder.decodeValue(Key.self)
            let value = try decoder.decodeValue(Value.self)
            if decoder.reader.offset == keyStart { try decoder.readEmptyElement() }
            guard result.updateValue(value, forKey: key) == nil else {
                throw WireError.corrupt(offset: keyStart, reason: "duplicate dictionary key")
            }
        }
        return result
    }
}
