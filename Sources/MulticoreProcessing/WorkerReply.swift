/// What a worker sends back before it exits.
///
/// Written by hand rather than through `Codable`: a forked child maps every page of code it
/// runs anew, so its last steps should run as little code as possible.
package enum WorkerReply: Equatable, Sendable {
    case value([UInt8])
    case failure(type: String, message: String)
    case unknownTask(String)
    /// An error whose type is `Codable`: its value, encoded, and its mangled type name, so the
    /// parent throws it as itself; `type` and `message` as for `failure`, for when it cannot.
    case codedFailure(type: String, message: String, typeName: String, payload: [UInt8])

    /// How `error`, thrown by a task, travels: as itself when its type is `Codable`, else by
    /// its type's name and description.
    package init(error: any Error) {
        let type = String(reflecting: Swift.type(of: error))
        let message = String(describing: error)
        if let encodable = error as? any Encodable, Swift.type(of: error) is any Decodable.Type,
           let typeName = _mangledTypeName(Swift.type(of: error)),
           let payload = try? Self.encode(encodable) {
            self = .codedFailure(type: type, message: message, typeName: typeName, payload: payload)
        } else {
            self = .failure(type: type, message: message)
        }
    }

    private static func encode<E: Encodable>(_ value: E) throws -> [UInt8] { try WireEncoder().encode(value) }

    /// A tag byte, then the case's fields in the wire format.
    package var wireBytes: [UInt8] {
        var writer = WireWriter()
        switch self {
        case .value(let bytes):
            writer.write(UInt8(0))
            writer.writeVarint(UInt64(bytes.count))
            bytes.withUnsafeBytes { writer.write(raw: $0) }
        case .failure(let type, let message):
            writer.write(UInt8(1))
            writer.write(type)
            writer.write(message)
        case .unknownTask(let name):
            writer.write(UInt8(2))
            writer.write(name)
        case .codedFailure(let type, let message, let typeName, let payload):
            writer.write(UInt8(3))
            writer.write(type)
            writer.write(message)
            writer.write(typeName)
            writer.writeVarint(UInt64(payload.count))
            payload.withUnsafeBytes { writer.write(raw: $0) }
        }
        return writer.bytes
    }

    package init(wireBytes: [UInt8]) throws(WireError) {
        var reader = WireReader(wireBytes)
        switch try reader.readByte() {
        case 0:
            let count = try reader.readCount(minimumItemSize: 1)
            try reader.require(count)
            self = .value(Array(wireBytes[reader.offset..<reader.offset + count]))
            try reader.skip(count)
        case 1: self = .failure(type: try reader.readString(), message: try reader.readString())
        case 2: self = .unknownTask(try reader.readString())
        case 3:
            let type = try reader.readString(), message = try reader.readString(), typeName = try reader.readString()
            let count = try reader.readCount(minimumItemSize: 1)
            try reader.require(count)
            self = .codedFailure(type: type, message: message, typeName: typeName,
                                 payload: Array(wireBytes[reader.offset..<reader.offset + count]))
            try reader.skip(count)
        case let tag: throw .corrupt(offset: 0, reason: "unknown worker reply tag \(tag)")
        }
        if reader.remaining > 0 { throw .trailingBytes(reader.remaining) }
    }
}

extension WorkerReply {
    /// The task's output, or the error the reply stands for.
    /// - Throws: the task's own error when its type is `Codable`; else `ProcessError.taskFailed`;
    ///   `.taskNotFound`, `.unreadableResult`.
    package func output<Output: Decodable>(_ type: Output.Type) throws -> Output {
        switch self {
        case .value(let bytes):
            do { return try WireDecoder().decode(Output.self, from: bytes) }
            catch { throw ProcessError.unreadableResult("\(error)") }
        case .failure(let type, let message): throw ProcessError.taskFailed(type: type, message: message)
        case .unknownTask(let name): throw ProcessError.taskNotFound(name)
        case .codedFailure(let type, let message, let typeName, let payload):
            throw Self.decodeError(typeName: typeName, payload: payload) ?? ProcessError.taskFailed(type: type, message: message)
        }
    }

    /// The error a worker sent as itself, or nil if its type is not found here or its value
    /// does not decode.
    package static func decodeError(typeName: String, payload: [UInt8]) -> (any Error)? {
        guard let type = _typeByName(typeName) as? any (Error & Decodable).Type else { return nil }
        return decode(type, payload)
    }

    private static func decode<E: Error & Decodable>(_: E.Type, _ payload: [UInt8]) -> (any Error)? {
        try? WireDecoder().decode(E.self, from: payload)
    }
}
