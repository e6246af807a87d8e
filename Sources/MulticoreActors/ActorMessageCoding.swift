import MulticoreProcessing

/// An `ActorMessage` as bytes, written and read by hand: its kind's number, its call number,
/// then its fields in order, each number little-endian and each string or byte string behind
/// its length (a `UInt32`). Through the generic `Codable` coder, a call's message cost about a
/// seventh of a host's time per call (its keyed containers, the metadata of each field's
/// type, an array per nested value); written by hand it is a few stores.
extension ActorMessage {
    fileprivate enum Kind: UInt8 { case call = 1, returned, threw, cancel, spawn, spawned, release, shutdown }

    /// The message as a frame for `Connection.sendFrame`: room for the frame's header, then the message.
    func frame() throws -> [UInt8] {
        var writer = MessageWriter()
        switch self {
        case .call(let call):
            writer.header(.call, call.number)
            writer.actor(call.actor)
            writer.text(call.target)
            writer.count(call.generics.count)
            for name in call.generics { writer.text(name) }
            writer.count(call.arguments.count)
            for argument in call.arguments { writer.blob(argument) }
        case .returned(let call, let value):
            writer.header(.returned, call)
            writer.blob(value)
        case .threw(let call, let failure):
            writer.header(.threw, call)
            writer.blob(try WireEncoder().encode(failure))
        case .cancel(let call):
            writer.header(.cancel, call)
        case .spawn(let call, let typeName, let argument):
            writer.header(.spawn, call)
            writer.text(typeName)
            writer.byte(argument == nil ? 0 : 1)
            if let argument { writer.blob(argument) }
        case .spawned(let call, let actor):
            writer.header(.spawned, call)
            writer.actor(actor)
        case .release(let call, let actor):
            writer.header(.release, call)
            writer.actor(actor)
        case .shutdown:
            writer.header(.shutdown, 0)
        }
        return writer.bytes
    }

    /// Reads a message back from a frame's payload.
    /// - Throws: `WireError` for bytes that are not a whole message of a known kind.
    init(payload bytes: [UInt8]) throws {
        var reader = MessageReader(bytes)
        let number = try reader.byte()
        guard let kind = Kind(rawValue: number) else { throw WireError.corrupt(offset: 0, reason: "no actor message of kind \(number)") }
        let call = try reader.number(UInt64.self)
        switch kind {
        case .call:
            let actor = try reader.actor(), target = try reader.text()
            let generics = try (0 ..< reader.count()).map { _ in try reader.text() }
            let arguments = try (0 ..< reader.count()).map { _ in try reader.blob() }
            self = .call(ActorCall(number: call, actor: actor, target: target, generics: generics, arguments: arguments))
        case .returned: self = .returned(call: call, value: try reader.blob())
        case .threw: self = .threw(call: call, failure: try WireDecoder().decode(ActorFailure.self, from: reader.blob()))
        case .cancel: self = .cancel(call: call)
        case .spawn:
            let typeName = try reader.text()
            let argument = try reader.byte() == 0 ? nil : try reader.blob()
            self = .spawn(call: call, typeName: typeName, argument: argument)
        case .spawned: self = .spawned(call: call, actor: try reader.actor())
        case .release: self = .release(call: call, actor: try reader.actor())
        case .shutdown: self = .shutdown
        }
        try reader.finish()
    }
}

/// Writes a message's fields behind room for its frame's header.
private struct MessageWriter {
    private(set) var bytes: [UInt8]

    init() {
        bytes = [UInt8](repeating: 0, count: WireFrame.headerSize)
        bytes.reserveCapacity(128)
    }

    mutating func header(_ kind: ActorMessage.Kind, _ call: UInt64) {
        byte(kind.rawValue)
        number(call)
    }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func number<N: FixedWidthInteger>(_ value: N) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func count(_ value: Int) { number(UInt32(value)) }

    mutating func blob(_ value: [UInt8]) {
        count(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            count(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func actor(_ id: HostedActorID) {
        number(id.process)
        number(id.serial)
    }
}

/// Reads a message's fields in order, refusing to read past its end.
private struct MessageReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func take(_ count: Int) throws(WireError) -> Range<Int> {
        guard count <= bytes.count - offset else { throw .truncated(offset: offset, needed: count - (bytes.count - offset)) }
        defer { offset += count }
        return offset ..< offset + count
    }

    mutating func byte() throws(WireError) -> UInt8 { bytes[try take(1).lowerBound] }

    mutating func number<N: FixedWidthInteger>(_: N.Type) throws(WireError) -> N {
        let range = try take(MemoryLayout<N>.size)
        return bytes.withUnsafeBytes { N(littleEndian: $0.loadUnaligned(fromByteOffset: range.lowerBound, as: N.self)) }
    }

    mutating func count() throws(WireError) -> Int { Int(try number(UInt32.self)) }

    mutating func blob() throws(WireError) -> [UInt8] { Array(bytes[try take(count())]) }

    mutating func text() throws(WireError) -> String {
        let range = try take(count())
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw .corrupt(offset: range.lowerBound, reason: "a name that is not UTF-8")
        }
        return text
    }

    mutating func actor() throws(WireError) -> HostedActorID {
        HostedActorID(process: try number(UInt32.self), serial: try number(UInt64.self))
    }

    func finish() throws(WireError) {
        guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
    }
}
