import CMulticore

/// Decodes values that `WireEncoder` wrote. Malformed input (truncated, corrupt, hostile)
/// throws a `WireError`; it never traps, reads out of bounds or allocates without bound.
public struct WireDecoder {
    /// How deeply values may nest before decoding stops with `WireError.tooDeep`: a recursive
    /// type (an indirect enum, a tree) could otherwise exhaust the stack on hostile input.
    public var maximumDepth: Int

    /// Creates a decoder.
    public init(maximumDepth: Int = 256) {
        self.maximumDepth = maximumDepth
    }

    /// Decodes a `T` that fills `bytes` exactly.
    /// - Throws: `WireError` for malformed input or bytes left over; whatever `T`'s
    ///   `init(from:)` throws.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: bytes, descriptors: nil)
    }

    /// Decodes a `T` that fills `bytes` exactly, whose `init(from:)` implementations see
    /// `userInfo` (a distributed actor's, which finds its actor system there).
    package func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], userInfo: [CodingUserInfoKey: Any]) throws -> T {
        let decoder = _WireDecoder(reader: WireReader(bytes, offset: 0, end: nil), maximumDepth: maximumDepth)
        defer { decoder.finish() }
        decoder.userInfo = userInfo
        let value = try decoder.decodeValue(type)
        if decoder.reader.remaining > 0 { throw WireError.trailingBytes(decoder.reader.remaining) }
        return value
    }

    /// Decodes a `T` that fills `bytes` from `offset` to the end (a message's tail, uncopied).
    package func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], offset: Int) throws -> T {
        try decode(type, from: bytes, offset: offset, descriptors: nil)
    }

    /// Decodes a `T` that fills `bytes[range]` exactly (one message of several received
    /// together, read where it is).
    package func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], in range: Range<Int>) throws -> T {
        try decode(type, from: bytes, in: range, decoder: nil)
    }

    /// `decode(_:from:in:)` with `decoder`, a finished decoder to use again (a connection keeps
    /// one: making one and letting it go cost a third of receiving a small value), or a new one.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], in range: Range<Int>, decoder: _WireDecoder?) throws -> T {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw WireError.truncated(offset: bytes.count, needed: max(0, range.upperBound - bytes.count))
        }
        return try decode(type, from: bytes, offset: range.lowerBound, end: range.upperBound, descriptors: nil, decoder: decoder)
    }

    /// Decodes a `T` whose connections take their descriptors from `descriptors`.
    /// - Parameter decoder: a finished decoder of this `maximumDepth` to use again, or nil.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], offset: Int = 0, end: Int? = nil, descriptors: DescriptorTable?,
                              decoder spare: _WireDecoder? = nil) throws -> T {
        guard offset >= 0, offset <= bytes.count else { throw WireError.truncated(offset: bytes.count, needed: max(0, offset - bytes.count)) }
        let reader = WireReader(bytes, offset: offset, end: end)
        let decoder: _WireDecoder
        if let spare, spare.maximumDepth == maximumDepth {
            decoder = spare
            decoder.restart(reader: reader)
        } else {
            decoder = _WireDecoder(reader: reader, maximumDepth: maximumDepth)
        }
        defer { decoder.finish() }
        decoder.descriptors = descriptors
        let value = try decoder.decodeValue(type)
        if decoder.reader.remaining > 0 { throw WireError.trailingBytes(decoder.reader.remaining) }
        return value
    }
}

/// The `Decoder` that `init(from:)` implementations see.
final class _WireDecoder: Decoder, SingleValueDecodingContainer {
    // Only this decoder touches it, one call at a time: skip the runtime exclusivity checks.
    @exclusivity(unchecked) var reader: WireReader
    /// The key name that a keyed container's `allKeys` read (an enum's case), until the nested
    /// container for that key consumes it.
    var pendingKey: Result<String, WireError>?
    /// The descriptors that came with the bytes, for the connections in them.
    var descriptors: DescriptorTable?
    private var depth = 0
    let maximumDepth: Int
    /// Which types the format reads itself: asked once per type, not once per value.
    @exclusivity(unchecked) private var kinds = WireTypeMemo<WireKind<any WireSpecialDecodable.Type>>()
    /// The keyed containers handed out, by key type (see `_WireEncoder.keyedContainers`).
    @exclusivity(unchecked) private(set) var keyedContainers = WireReusables()
    /// Which decoder this is, for its keyed containers (a new one for each message when the
    /// decoder is used again: `restart`).
    @exclusivity(unchecked) private(set) var identity = WireCoderIdentity()
    var codingPath: [any CodingKey] { [] }
    /// What `decode(_:from:userInfo:)` was given; empty otherwise.
    var userInfo: [CodingUserInfoKey: Any] = [:]

    init(reader: WireReader, maximumDepth: Int) {
        self.reader = reader
        self.maximumDepth = maximumDepth
    }

    /// Lets go of what the decoder remembered (the keyed containers it made, by type), and of
    /// the bytes it read (a connection's buffer, which stays its own only once no one else holds it).
    func finish() {
        kinds.forget()
        keyedContainers.forget()
        reader = WireReader([])
    }

    /// Makes a finished decoder ready for another message, read by `reader`, with a new
    /// identity (a keyed container kept from an earlier message is not one of this message's).
    func restart(reader: WireReader) {
        self.reader = reader
        pendingKey = nil
        descriptors = nil
        depth = 0
        identity = WireCoderIdentity()
    }

    /// Whether the format reads `T` itself.
    func kind<T: Decodable>(of type: T.Type) -> WireKind<any WireSpecialDecodable.Type> {
        kinds.answer(for: type) {
            wireDecodableKinds.answer(for: type) { (type as? any WireSpecialDecodable.Type).map { .special($0) } ?? .coded }
        }
    }

    /// Reads a `T` through `S`'s conformance: `S` is `T` (`kind(of:)` found it).
    func decodeSpecial<S: WireSpecialDecodable, T>(_: S.Type, as _: T.Type) throws -> T {
        // `S` is `T` itself (see `_WireEncoder.encodeSpecial`): no dynamic cast.
        precondition(S.self == T.self, "decodeSpecial with another type than the one asked for")
        return unsafeBitCast(try S.wireDecode(from: self), to: T.self)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        try whileRunning {
            switch kind(of: type) {
            case .special(let special): try decodeSpecial(special, as: type)
            case .coded: try decodeCoded(type)
            }
        }
    }

    /// Reads a `T` through its `init(from:)` (`kind(of:)` found it is not special).
    func decodeCoded<T: Decodable>(_ type: T.Type) throws -> T {
        try nested { try T(from: self) }
    }

    /// Reads `count` elements of a list through `T`'s `init(from:)` into `base`, counting those
    /// done in `initialized`; an element that read no bytes is followed by the byte that stands
    /// for it. In place, and one level deeper for all of them: a generic call per element, and
    /// the moves of its result, would cost more than a small value's decoding.
    func decodeCoded<T: Decodable>(_: T.Type, count: Int, into base: UnsafeMutablePointer<T>, initialized: inout Int) throws {
        try nested {
            while initialized < count {
                let start = reader.offset
                (base + initialized).initialize(to: try T(from: self))
                initialized += 1
                if reader.offset == start { try readEmptyElement() }
            }
        }
    }

    /// Runs `body` one level deeper, within `maximumDepth`.
    @inline(__always)
    private func nested<R>(_ body: () throws -> R) throws -> R {
        depth += 1
        defer { depth -= 1 }
        if depth > maximumDepth { throw WireError.tooDeep(limit: maximumDepth) }
        do {
            return try body()
        } catch {
            // `allKeys` cannot throw: when it could not read an enum's case name, the type's
            // decoder reports "no key"; the byte-level cause is the better error.
            if case .failure(let cause)? = pendingKey {
                pendingKey = nil
                throw cause
            }
            throw error
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if let known = keyedContainers.object(for: type) {
            // Borrowed, not retained (`keyedContainers` keeps it, and `copy` does not touch that): a retain and a
            // release around the call cost more than the rest of it. Not `takeUnretainedValue`, which retains.
            return unsafeBitCast(known, to: Unmanaged<WireReusable<KeyedDecodingContainer<Key>>>.self)._withUnsafeGuaranteedRef { $0.copy() }
        }
        return newContainer(keyedBy: type)
    }

    /// A container for `Key`, kept to be handed out again. Not inlined: its temporary would
    /// make `container(keyedBy:)` look the container type's metadata up on every call.
    @inline(never)
    private func newContainer<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        let container = KeyedDecodingContainer(WireKeyedDecodingContainer<Key>(decoder: self))
        keyedContainers.keep(WireReusable(container), for: type)
        return container
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try WireUnkeyedDecodingContainer(decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool {
        // A presence byte of 0 is nil, and is consumed; anything else is left for `decode`.
        guard reader.remaining > 0, reader.bytes[reader.offset] == 0 else { return false }
        _ = try? reader.readByte()
        return true
    }

    func decode(_ type: Bool.Type) throws -> Bool { try reader.readBool() }
    func decode(_ type: String.Type) throws -> String { try reader.readString() }
    func decode(_ type: Double.Type) throws -> Double { Double(bitPattern: try reader.read(UInt64.self)) }
    func decode(_ type: Float.Type) throws -> Float { Float(bitPattern: try reader.read(UInt32.self)) }
    func decode(_ type: Int.Type) throws -> Int { try reader.read(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.read(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.read(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.read(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.read(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.read(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.read(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.read(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.read(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.read(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }

    /// Reads the byte that stands for an element with no bytes of its own (see
    /// `WireUnkeyedEncodingContainer.emptyElement`).
    func readEmptyElement() throws {
        let start = reader.offset
        guard try reader.readByte() == WireUnkeyedEncodingContainer.emptyElement else {
            throw WireError.corrupt(offset: start, reason: "expected the byte of an element without bytes of its own")
        }
    }

    /// A presence byte, then the value if there is one (as `Optional` is read).
    @inline(__always)
    func decodePresent<T: WireSpecialDecodable>(_: T.Type) throws -> T? {
        try reader.readPresence() ? try T.wireDecode(from: self) : nil
    }

    /// Reads the key name in front of a nested container (unless `allKeys` read it), and checks it.
    func consumeKey(_ name: String) throws {
        let pending = pendingKey
        pendingKey = nil
        try expectKey(name, alreadyRead: try pending?.get())
    }

    /// Reads the key name written in front of a nested container, and checks it.
    func expectKey(_ expected: String, alreadyRead: String?) throws {
        let start = reader.offset
        let key = try alreadyRead ?? reader.readString()
        guard key == expected else {
            throw WireError.corrupt(offset: start, reason: "expected key \"\(expected)\", found \"\(key)\"")
        }
    }
}

/// Reads from the decoder running on this thread, which must be the one that made it: it holds
/// no reference to it (see `WireCoderIdentity`).
struct WireKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    private let coder: WireCoderIdentity.Handle
    var codingPath: [any CodingKey] { [] }

    init(decoder: _WireDecoder) { coder = decoder.identity.handle(of: decoder) }

    /// The decoder, borrowed: running on this thread, it is alive.
    /// - Throws: `WireError.unsupported` when it is not (the container outlived its decoding, or
    ///   is used on another thread).
    @inline(__always)
    private func withDecoder<R>(_ body: (_WireDecoder) throws -> R) throws -> R {
        guard let decoder = coder.running(_WireDecoder.self) else { throw WireCoderIdentity.misuse }
        return try decoder._withUnsafeGuaranteedRef(body)
    }

    /// Names are not recorded for plain values, so only the key written in front of a nested
    /// container (an enum's case) can be listed; it is read here, on first use.
    var allKeys: [Key] {
        guard let decoder = coder.running(_WireDecoder.self) else { return [] }
        return decoder._withUnsafeGuaranteedRef { decoder in
            if decoder.pendingKey == nil {
                do throws(WireError) { decoder.pendingKey = .success(try decoder.reader.readString()) }
                catch { decoder.pendingKey = .failure(error) }
            }
            guard case .success(let name) = decoder.pendingKey, let key = Key(stringValue: name) else { return [] }
            return [key]
        }
    }

    func contains(_ key: Key) -> Bool { true }

    func decodeNil(forKey key: Key) throws -> Bool { try withDecoder { !(try $0.reader.readPresence()) } }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try withDecoder { try $0.decode(type) } }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try withDecoder { try $0.decode(type) } }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try withDecoder { try $0.decode(type) } }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try withDecoder { try $0.decode(type) } }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try withDecoder { try $0.decodeValue(type) } }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try withDecoder { try $0.decodePresent(type) } }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try withDecoder { try $0.reader.readPresence() ? try $0.decodeValue(type) : nil }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try withDecoder { decoder in
            try decoder.consumeKey(key.stringValue)
            return try decoder.container(keyedBy: type)
        }
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try withDecoder { decoder in
            try decoder.consumeKey(key.stringValue)
            return try decoder.unkeyedContainer()
        }
    }

    func superDecoder() throws -> any Decoder {
        try withDecoder { decoder in
            try decoder.consumeKey("super")
            return decoder
        }
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try withDecoder { decoder in
            try decoder.consumeKey(key.stringValue)
            return decoder
        }
    }
}

struct WireUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: _WireDecoder
    let count: Int?
    private(set) var currentIndex = 0
    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { currentIndex >= count! }

    init(decoder: _WireDecoder) throws {
        self.decoder = decoder
        let start = decoder.reader.offset
        let count = Int(try decoder.reader.read(UInt32.self))
        // Every element takes at least one byte (the encoder writes one for an element that
        // has none of its own): a count is bounded by the bytes left, and so is the number of
        // elements decoded in all, however deeply lists nest.
        guard count <= decoder.reader.remaining else {
            throw WireError.corrupt(offset: start, reason: "count \(count) exceeds the \(decoder.reader.remaining) byte(s) left")
        }
        self.count = count
    }

    private mutating func next() throws {
        guard !isAtEnd else {
            throw WireError.corrupt(offset: decoder.reader.offset, reason: "read past the \(count!) element(s) of a list")
        }
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, decoder.decodeNil() else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(); return try decoder.decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(); return try decoder.decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next()
        let start = decoder.reader.offset
        let value = try decoder.decodeValue(type)
        if decoder.reader.offset == start { try decoder.readEmptyElement() }
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next()
        try decoder.readEmptyElement()
        return try decoder.container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next()
        return try decoder.unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        try next()
        try decoder.readEmptyElement()
        return decoder
    }
}
