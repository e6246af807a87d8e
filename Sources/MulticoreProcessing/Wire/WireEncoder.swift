import CMulticore
#if canImport(Glibc)
import Glibc
#endif

/// Encodes `Encodable` values into Multicore's compact binary format: what crosses a pipe
/// between processes. JSON is 10 to 1000 times slower for the same values.
///
/// ## The format
/// - Values are written in the order `encode(to:)` writes them, without field names: the
///   reading side must decode the same type (it does: both sides run the same binary).
/// - Integers and floating-point numbers: fixed width, little-endian (`Int` and `UInt`: 8 bytes).
///   `Bool`: one byte, 0 or 1. `String`: LEB128 byte count, then UTF-8.
/// - Optionals (including `encodeIfPresent`, which the default implementation would silently
///   skip): a presence byte, 0 or 1, then the value.
/// - Unkeyed containers: a UInt32 element count, then the elements; an element that writes no
///   bytes (an empty struct) is followed by a zero byte, and a nested keyed container or super
///   encoder taken in one is preceded by a zero byte, so that every element takes at least one
///   byte (which bounds the decoder's work by the input's size).
/// - Arrays of fixed-width numbers: a UInt64 count, then the elements' bytes in one copy.
/// - Dictionaries: a LEB128 count, then key and value pairs (a pair that writes no bytes is
///   followed by a zero byte).
/// - A nested container or super encoder taken for a key is preceded by that key's name, which
///   is how an enum's case is recorded (its synthesized `init(from:)` reads `allKeys`).
///
/// Containers must be filled one after the other, depth first, as synthesized `Codable` and the
/// standard library do.
public struct WireEncoder {
    /// Creates an encoder.
    public init() {}

    /// The bytes of `value`.
    /// - Throws: whatever `value`'s `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encode(value, descriptors: nil)
    }

    /// The bytes of `value`; the descriptors of the connections in it are collected in
    /// `descriptors`, to be passed beside the bytes (how a task carries connections to a child).
    func encode<T: Encodable>(_ value: T, descriptors: DescriptorTable?) throws -> [UInt8] {
        let encoder = _WireEncoder()
        defer { encoder.finish() }
        encoder.descriptors = descriptors
        try encoder.encodeValue(value)
        return encoder.writer.bytes
    }

    /// The bytes of `value`, whose `encode(to:)` implementations see `userInfo` (a distributed
    /// actor's, which finds its actor system there).
    /// - Throws: whatever `value`'s `encode(to:)` throws.
    package func encode<T: Encodable>(_ value: T, userInfo: [CodingUserInfoKey: Any]) throws -> [UInt8] {
        let encoder = _WireEncoder()
        defer { encoder.finish() }
        encoder.userInfo = userInfo
        try encoder.encodeValue(value)
        return encoder.writer.bytes
    }

    /// The bytes of `Array(elements)`, without making that array (a pool's chunk of tasks).
    /// - Throws: what an element's `encode(to:)` throws.
    package func encode<T: Encodable>(contentsOf elements: ArraySlice<T>) throws -> [UInt8] {
        let encoder = _WireEncoder()
        defer { encoder.finish() }
        try encoder.whileRunning { try elements.withUnsafeBufferPointer { try [T].wireEncode($0, into: encoder) } }
        return encoder.writer.bytes
    }

    /// Calls `body` with `value` as a whole frame (header, then payload), which `body` goes
    /// through piece by piece (`forEachPiece`): the encoder's own memory, and the large arrays of
    /// numbers in the value where they lie (uncopied). What `Connection.send` writes.
    /// - Throws: what `value` throws; `WireError.oversizedFrame` for 4 GiB or more; what `body` throws.
    /// - Parameter encoder: a finished encoder to use again (a connection keeps one: making one
    ///   and letting it go cost a third of sending a small value), or a new one.
    func withEncodedFrame<T: Encodable>(
        _ value: T, encoder: _WireEncoder = _WireEncoder(),
        _ body: (_ forEachPiece: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Void
    ) throws {
        encoder.restart()
        defer { encoder.finish() }
        encoder.writer.referencesLargeBlocks = true
        encoder.writer.write(UInt64(0)) // the header's place
        try encoder.encodeValue(value)
        let length = encoder.writer.messageCount - WireFrame.headerSize
        guard length <= Int(UInt32.max) else { throw WireError.oversizedFrame(size: length, limit: Int(UInt32.max)) }
        guard length >= WireFrame.trailerThreshold else {
            var checksum: UInt32 = 0
            try encoder.writer.forEachPiece(from: WireFrame.headerSize) { checksum = WireFrame.checksum($0, continuing: checksum) }
            encoder.writer.withUnsafeMutableBytes { WireFrame.writeHeader(length: length, checksum: checksum, in: $0) }
            try body { each in try encoder.writer.forEachPiece(from: 0, each) }
            return
        }
        // A large frame's checksum follows it: taken part by part as the parts go out.
        encoder.writer.withUnsafeMutableBytes { WireFrame.writeHeader(length: length, checksum: 0, in: $0) }
        try body { each in
            var streamer = WireFrameStreamer()
            try encoder.writer.forEachPiece(from: 0) { try streamer.write($0, with: each) }
            try streamer.finish(with: each)
        }
    }
}

/// The `Encoder` that `encode(to:)` implementations see.
final class _WireEncoder: Encoder, SingleValueEncodingContainer {
    // Only this encoder touches it, one call at a time: skip the runtime exclusivity checks.
    @exclusivity(unchecked) var writer = WireWriter()
    /// Where connections put their descriptors; nil when the bytes travel without any.
    var descriptors: DescriptorTable?
    /// Which types the format writes itself: asked once per type, not once per value.
    @exclusivity(unchecked) private var kinds = WireTypeMemo<WireKind<any WireSpecialEncodable.Type>>()
    /// The keyed containers handed out, by key type: they hold nothing but this encoder's identity,
    /// so one serves every value of a type (making one costs an allocation and metadata lookups).
    @exclusivity(unchecked) private(set) var keyedContainers = WireReusables()
    var codingPath: [any CodingKey] { [] }
    /// What `encode(_:userInfo:)` was given (a distributed actor system, for the actors in a
    /// call's arguments); empty otherwise.
    var userInfo: [CodingUserInfoKey: Any] = [:]

    /// Which encoder this is, for its keyed containers: its address and a number no other has
    /// (a new one for each message when the encoder is used again: `restart`).
    @exclusivity(unchecked) private(set) var identity = WireCoderIdentity()

    func encodeValue<T: Encodable>(_ value: T) throws {
        try whileRunning {
            switch kind(of: T.self) {
            case .coded: try value.encode(to: self)
            case .special(let special): try encodeSpecial(value, as: special)
            }
        }
    }

    /// Whether the format writes `T` itself.
    func kind<T: Encodable>(of type: T.Type) -> WireKind<any WireSpecialEncodable.Type> {
        kinds.answer(for: type) { Self.processKind(of: type) }
    }

    /// Whether the format writes `T` itself, as every encoder of the process learned it (asked
    /// of the runtime the first time). A parent about to fork calls it for the child's output
    /// type: the child then finds the answer in its copy instead of asking the runtime, which
    /// reads through every conformance record of the program (`ForkLauncher`).
    static func processKind<T: Encodable>(of type: T.Type) -> WireKind<any WireSpecialEncodable.Type> {
        wireEncodableKinds.answer(for: type) { (type as? any WireSpecialEncodable.Type).map { .special($0) } ?? .coded }
    }

    /// Writes `value` through `S`'s conformance: `S` is `T` (`kind(of:)` found it).
    func encodeSpecial<T, S: WireSpecialEncodable>(_ value: T, as _: S.Type) throws {
        // `S` is `T` itself (the metatype `kind(of:)` found is `T.self`): the value is taken as
        // it is, without a dynamic cast (the runtime's, about 180 instructions, once per message).
        precondition(S.self == T.self, "encodeSpecial with another type than the value's")
        try unsafeBitCast(value, to: S.self).wireEncode(into: self)
    }

    /// A presence byte, then the value if there is one (as `Optional` is written). Here rather
    /// than in the keyed container, whose code is not specialized for its key type.
    @inline(__always)
    func encodePresent<T>(_ value: T?, _ write: (T) throws -> Void) throws {
        if let value {
            writer.write(UInt8(1))
            try write(value)
        } else {
            writer.write(UInt8(0))
        }
    }

    /// A presence byte, then the integer if there is one.
    @inline(__always)
    func encodePresent<T: FixedWidthInteger>(_ value: T?) {
        if let value {
            writer.write(UInt8(1))
            writer.write(value)
        } else {
            writer.write(UInt8(0))
        }
    }

    /// Lets go of what the encoder remembered (the keyed containers it made, by type).
    func finish() {
        kinds.forget()
        keyedContainers.forget()
        writer.forgetReferences()
    }

    /// Makes a finished encoder ready for another message: empty, and with a new identity, so
    /// that a keyed container kept from an earlier message is not taken for one of this
    /// message's. Its memory is kept up to `keptCapacity` bytes (a large message's buffer then
    /// serves the next: new memory of megabytes costs a page fault per 4 KiB, more than the copy).
    func restart() {
        guard writer.count > 0 else { return } // new: nothing to forget
        writer.removeAll(keepingCapacityUpTo: Self.keptCapacity)
        identity = WireCoderIdentity()
    }

    /// The most memory an encoder used again keeps between messages: 16 MiB.
    static var keptCapacity: Int { 16 << 20 }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if let known = keyedContainers.object(for: type) {
            // Borrowed, not retained (`keyedContainers` keeps it, and `copy` does not touch that): a retain and a
            // release around the call cost more than the rest of it. Not `takeUnretainedValue`, which retains.
            return unsafeBitCast(known, to: Unmanaged<WireReusable<KeyedEncodingContainer<Key>>>.self)._withUnsafeGuaranteedRef { $0.copy() }
        }
        return newContainer(keyedBy: type)
    }

    /// A container for `Key`, kept to be handed out again. Not inlined: its temporary would
    /// make `container(keyedBy:)` look the container type's metadata up on every call.
    @inline(never)
    private func newContainer<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let container = KeyedEncodingContainer(WireKeyedEncodingContainer<Key>(encoder: self))
        keyedContainers.keep(WireReusable(container), for: type)
        return container
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        WireUnkeyedEncodingContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: SingleValueEncodingContainer

    func encodeNil() throws { writer.write(UInt8(0)) }
    func encode(_ value: Bool) throws { writer.write(UInt8(value ? 1 : 0)) }
    func encode(_ value: String) throws { writer.write(value) }
    func encode(_ value: Double) throws { writer.write(value.bitPattern) }
    func encode(_ value: Float) throws { writer.write(value.bitPattern) }
    func encode(_ value: Int) throws { writer.write(value) }
    func encode(_ value: Int8) throws { writer.write(value) }
    func encode(_ value: Int16) throws { writer.write(value) }
    func encode(_ value: Int32) throws { writer.write(value) }
    func encode(_ value: Int64) throws { writer.write(value) }
    func encode(_ value: UInt) throws { writer.write(value) }
    func encode(_ value: UInt8) throws { writer.write(value) }
    func encode(_ value: UInt16) throws { writer.write(value) }
    func encode(_ value: UInt32) throws { writer.write(value) }
    func encode(_ value: UInt64) throws { writer.write(value) }
    func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }
}

/// Writes to the encoder running on this thread, which must be the one that made it. It holds no
/// reference to it: the standard library copies a container for every field it encodes, and would
/// retain and release that reference each time (more than the rest of a small field's cost).
struct WireKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    private let coder: WireCoderIdentity.Handle
    var codingPath: [any CodingKey] { [] }

    init(encoder: _WireEncoder) { coder = encoder.identity.handle(of: encoder) }

    /// The encoder, borrowed: running on this thread, it is alive.
    /// - Throws: `WireError.unsupported` when it is not (the container outlived its encoding, or
    ///   is used on another thread).
    @inline(__always)
    private func withEncoder<R>(_ body: (_WireEncoder) throws -> R) throws -> R {
        guard let encoder = coder.running(_WireEncoder.self) else { throw WireCoderIdentity.misuse }
        return try encoder._withUnsafeGuaranteedRef(body)
    }

    /// `withEncoder` for the requirements that cannot throw: the misuse traps.
    private func withRunningEncoder<R>(_ body: (_WireEncoder) -> R) -> R {
        guard let encoder = coder.running(_WireEncoder.self) else { preconditionFailure("\(WireCoderIdentity.misuse)") }
        return encoder._withUnsafeGuaranteedRef(body)
    }

    mutating func encodeNil(forKey key: Key) throws { try withEncoder { $0.writer.write(UInt8(0)) } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try withEncoder { try $0.encode(value) } }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try withEncoder { try $0.encodeValue(value) } }

    // Every `encodeIfPresent` overload writes a presence byte: the default implementations skip
    // nil silently, which would shift every later value of a positional format.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try withEncoder { e in try e.encodePresent(value) { try e.encode($0) } } }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try withEncoder { e in try e.encodePresent(value) { try e.encode($0) } } }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try withEncoder { e in try e.encodePresent(value) { try e.encode($0) } } }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try withEncoder { e in try e.encodePresent(value) { try e.encode($0) } } }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try withEncoder { $0.encodePresent(value) } }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        try withEncoder { e in try e.encodePresent(value) { try e.encodeValue($0) } }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        withRunningEncoder { encoder in
            encoder.writer.write(key.stringValue)
            return encoder.container(keyedBy: keyType)
        }
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        withRunningEncoder { encoder in
            encoder.writer.write(key.stringValue)
            return encoder.unkeyedContainer()
        }
    }

    mutating func superEncoder() -> any Encoder {
        withRunningEncoder { encoder in
            encoder.writer.write("super")
            return encoder
        }
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        withRunningEncoder { encoder in
            encoder.writer.write(key.stringValue)
            return encoder
        }
    }
}

struct WireUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: _WireEncoder
    private let countSlot: Int
    private(set) var count = 0
    var codingPath: [any CodingKey] { [] }

    init(encoder: _WireEncoder) {
        self.encoder = encoder
        countSlot = encoder.writer.reserveUInt32()
    }

    private mutating func added() {
        count += 1
        encoder.writer.incrementUInt32(at: countSlot)
    }

    mutating func encodeNil() throws { added(); encoder.writer.write(UInt8(0)) }
    mutating func encode(_ value: Bool) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: String) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Double) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Float) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Int) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Int8) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Int16) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Int32) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: Int64) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: UInt) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: UInt8) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: UInt16) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: UInt32) throws { added(); try encoder.encode(value) }
    mutating func encode(_ value: UInt64) throws { added(); try encoder.encode(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        added()
        let start = encoder.writer.count
        try encoder.encodeValue(value)
        // An element that wrote nothing (an empty struct) is followed by one zero byte: every
        // element takes at least a byte, so the decoder can bound its work by the input's size.
        if encoder.writer.count == start { encoder.writer.write(WireUnkeyedEncodingContainer.emptyElement) }
    }

    /// What stands for an element that wrote no bytes of its own (and in front of a nested
    /// keyed container or a super encoder, which may write none either).
    static let emptyElement: UInt8 = 0

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        added()
        encoder.writer.write(Self.emptyElement)
        return encoder.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        added()
        return encoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        added()
        encoder.writer.write(Self.emptyElement)
        return encoder
    }
}
