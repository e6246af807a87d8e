/// An `Encoder` that writes nothing and records what a value's `encode(to:)` asks for: the
/// kinds of its fields, in order, when it takes one keyed container and encodes only numbers,
/// `Bool`s and optionals of them (what a synthesized conformance of such a struct does).
/// Anything else (a string, a nested value, another container) makes the record unusable.
final class WirePlanRecorder: Encoder {
    private(set) var fields: [WirePlan.Kind] = []
    /// Whether `encode(to:)` asked for something a plan cannot do.
    private(set) var unsupported = false
    private var containers = 0
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// The fields `value` encodes, or nil when a plan cannot encode it.
    static func fields<T: Encodable>(of value: T) -> [WirePlan.Kind]? {
        let recorder = WirePlanRecorder()
        guard (try? value.encode(to: recorder)) != nil, !recorder.unsupported, recorder.containers == 1 else { return nil }
        return recorder.fields
    }

    func record(_ field: WirePlan.Kind) { fields.append(field) }

    func refuse() { unsupported = true }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        containers += 1
        return KeyedEncodingContainer(Keyed<Key>(recorder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        refuse()
        return WireUnkeyedEncodingContainer(encoder: _WireEncoder())
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        refuse()
        return _WireEncoder()
    }

    /// Records each field; refuses what is not a number, a `Bool` or an optional of them.
    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let recorder: WirePlanRecorder
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { recorder.refuse() }
        mutating func encode(_ value: Bool, forKey key: Key) throws { recorder.record(.bool) }
        mutating func encode(_ value: String, forKey key: Key) throws { recorder.refuse() }
        mutating func encode(_ value: Double, forKey key: Key) throws { recorder.record(.double) }
        mutating func encode(_ value: Float, forKey key: Key) throws { recorder.record(.float) }
        mutating func encode(_ value: Int, forKey key: Key) throws { recorder.record(.int) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { recorder.record(.int8) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { recorder.record(.int16) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { recorder.record(.int32) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { recorder.record(.int64) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { recorder.record(.uint) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { recorder.record(.uint8) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { recorder.record(.uint16) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { recorder.record(.uint32) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { recorder.record(.uint64) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { recorder.refuse() }

        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { recorder.record(.optionalBool) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { recorder.refuse() }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { recorder.record(.optionalDouble) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { recorder.record(.optionalFloat) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { recorder.record(.optionalInt) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { recorder.record(.optionalInt8) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { recorder.record(.optionalInt16) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { recorder.record(.optionalInt32) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { recorder.record(.optionalInt64) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { recorder.record(.optionalUInt) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { recorder.record(.optionalUInt8) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { recorder.record(.optionalUInt16) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { recorder.record(.optionalUInt32) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { recorder.record(.optionalUInt64) }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { recorder.refuse() }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            recorder.refuse()
            return KeyedEncodingContainer(Keyed<NestedKey>(recorder: recorder))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { recorder.unkeyedContainer() }
        mutating func superEncoder() -> any Encoder { recorder.refuse(); return recorder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { recorder.refuse(); return recorder }
    }
}
