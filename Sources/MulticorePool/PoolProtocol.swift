import CMulticore
import MulticoreProcessing

// The parent-worker protocol of the process pools, both directions, each message encoded and
// decoded here and nowhere else. Every message is one wire frame (length, CRC-32C, body).
//
// Parent to worker: `PoolRequest` (define a task type, run a chunk, stop).
// Worker to parent: `WorkerMessage` (a chunk's reply, or the initializer's failure).

/// What a pool sends a worker: a chunk of tasks to run, or the order to stop.
///
/// Written by hand, one byte message each (a tag, then fixed-width fields, then the rest):
/// a pool sends one per chunk, and `Codable`'s enum machinery (case names as strings) would
/// cost more than a small task.
enum PoolRequest: Equatable {
    /// Names a task type once per worker: later tasks of that type refer to it by `index`.
    case define(index: UInt32, typeName: String)
    /// `count` tasks of one type (the index of its type), in one `PoolChunk` payload of
    /// `format`; one reply for all.
    case run(id: UInt64, type: UInt32, count: UInt32, format: ChunkFormat, payload: PoolPayload)
    case stop

    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        appendBody(to: &bytes)
        return bytes
    }

    private func appendBody(to bytes: inout [UInt8]) {
        switch self {
        case .define(let index, let typeName):
            bytes.append(0)
            withUnsafeBytes(of: index.littleEndian) { bytes += $0 }
            bytes += Array(typeName.utf8)
        case .run(let id, let type, let count, let format, let payload):
            bytes.reserveCapacity(bytes.count + Self.payloadOffset + payload.count)
            bytes.append(1)
            withUnsafeBytes(of: id.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: type.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: count.littleEndian) { bytes += $0 }
            bytes.append(format.rawValue)
            payload.withUnsafeBytes { bytes.append(contentsOf: $0) }
        case .stop:
            bytes.append(2)
        }
    }

    /// The largest payload a run request can carry in one frame of at most `frameLimit` bytes.
    static func maximumPayload(frameLimit: Int) -> Int { frameLimit - payloadOffset }

    /// Appends this request to `outbox` as one wire frame (length, CRC-32C, body), built in place.
    func appendFrame(to outbox: inout [UInt8]) {
        let start = outbox.count
        outbox.append(contentsOf: repeatElement(0, count: WireFrame.headerSize))
        appendBody(to: &outbox)
        try? WireFrame.writeHeader(in: &outbox, at: start) // a request's payload is within the frame limit (checked at submit)
    }

    /// Where a run request's payload starts.
    static let payloadOffset = RunHeader.size

    /// Whether `message` is a run request (the one read in place, without copying its payload).
    static func isRun(_ message: [UInt8]) -> Bool { message.first == 1 }

    /// A run request's fields before its payload, read in place.
    struct RunHeader {
        /// The tag, id, type, count and format: where the payload starts.
        static let size = 18
        let id: UInt64
        let type: UInt32
        let count: Int
        let format: ChunkFormat

        /// Nil unless `message` is a well-formed run request.
        init?(_ message: [UInt8]) {
            guard message.count >= Self.size, message[0] == 1, let format = ChunkFormat(rawValue: message[17]) else { return nil }
            (id, type, count) = message.withUnsafeBytes { raw in
                (UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self)),
                 UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 9, as: UInt32.self)),
                 Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 13, as: UInt32.self))))
            }
            self.format = format
        }
    }

    /// Nil for a malformed message.
    init?(bytes: [UInt8]) {
        guard let tag = bytes.first else { return nil }
        func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
            guard bytes.count >= offset + MemoryLayout<T>.size else { return nil }
            return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        switch tag {
        case 0:
            guard let index = load(UInt32.self, at: 1) else { return nil }
            self = .define(index: index, typeName: String(decoding: bytes[5...], as: UTF8.self))
        case 1:
            guard let header = RunHeader(bytes) else { return nil }
            self = .run(id: header.id, type: header.type, count: UInt32(header.count), format: header.format,
                        payload: PoolPayload(Array(bytes[Self.payloadOffset...])))
        case 2:
            self = .stop
        default:
            return nil
        }
    }
}

/// Appends a count (UInt32), then each part as a length (UInt32) and its bytes.
func appendChunk(_ parts: [[UInt8]], to bytes: inout [UInt8]) {
    withUnsafeBytes(of: UInt32(parts.count).littleEndian) { bytes += $0 }
    for part in parts {
        withUnsafeBytes(of: UInt32(part.count).littleEndian) { bytes += $0 }
        bytes += part
    }
}

/// Reads what `appendChunk` wrote, from `offset` to the end; nil when malformed.
func readChunk(_ bytes: [UInt8], at offset: Int) -> [[UInt8]]? {
    func load(at position: Int) -> Int? {
        guard position >= 0, bytes.count >= position + 4 else { return nil }
        return Int(bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: UInt32.self)) })
    }
    guard let count = load(at: offset), count <= (bytes.count - offset) / 4 else { return nil }
    var parts: [[UInt8]] = []
    parts.reserveCapacity(count)
    var position = offset + 4
    for _ in 0..<count {
        guard let length = load(at: position), bytes.count - position - 4 >= length else { return nil }
        parts.append(Array(bytes[position + 4 ..< position + 4 + length]))
        position += 4 + length
    }
    return position == bytes.count ? parts : nil
}

/// What a worker sends its pool: the reply to a chunk (its id, then `PoolReply`'s outcomes), or,
/// first of all from a worker with an initializer, how the initializer went (id 0, then nothing
/// if it succeeded, else a `WorkerReply`).
enum WorkerMessage {
    /// The reply to chunk `id`; its outcomes start at `replyBodyOffset`.
    case reply(id: UInt64)
    /// The initializer succeeded.
    case initialized
    /// The initializer threw (nil: its report could not be read).
    case initializerFailed(WorkerReply?)

    /// Where a reply's body starts, after the chunk's id.
    static let replyBodyOffset = 8

    /// Reads a frame from a worker. - Throws: `WireError.corrupt` for one too short for an id.
    init(frame: [UInt8]) throws(WireError) {
        guard frame.count >= Self.replyBodyOffset else {
            throw .corrupt(offset: 0, reason: "a reply of \(frame.count) byte(s), too short for a chunk id")
        }
        let id = frame.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        if id != 0 {
            self = .reply(id: id)
        } else if frame.count == Self.replyBodyOffset {
            self = .initialized
        } else {
            self = .initializerFailed(try? WorkerReply(wireBytes: Array(frame[Self.replyBodyOffset...])))
        }
    }

    /// The frame body that reports how an initializer went: `failure`, or nil if it succeeded.
    static func initializerReport(_ failure: WorkerReply?) -> [UInt8] {
        [UInt8](repeating: 0, count: replyBodyOffset) + (failure?.wireBytes ?? []) // id 0: not a chunk's reply
    }

    /// The start of a chunk's reply: room for the frame's header, then the chunk's id.
    static func replyHeader(id: UInt64, room: Int) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(room + 64) // one allocation: the id and a small reply fit
        frame.append(contentsOf: repeatElement(0, count: room))
        withUnsafeBytes(of: id.littleEndian) { frame.append(contentsOf: $0) }
        return frame
    }
}
