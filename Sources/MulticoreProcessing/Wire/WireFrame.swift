import CMulticore

/// Length-prefixed, checksummed frames: how encoded values travel on a byte stream (a pipe, a
/// socket) and are told apart.
///
/// A frame is an 8-byte header, the payload's length (UInt32, little-endian) and its CRC-32C
/// (UInt32, little-endian), then the payload. A reader refuses a frame longer than its limit
/// before allocating anything, and a payload whose checksum does not match.
public enum WireFrame {
    /// Bytes in a frame header.
    public static let headerSize = 8

    /// The default limit on a frame's payload: 1 GiB.
    public static let defaultLimit = 1 << 30

    /// The frame carrying `payload`.
    /// - Throws: `WireError.oversizedFrame` for a payload of 4 GiB or more.
    public static func frame(_ payload: [UInt8]) throws(WireError) -> [UInt8] {
        guard payload.count <= Int(UInt32.max) else {
            throw .oversizedFrame(size: payload.count, limit: Int(UInt32.max))
        }
        var frame = [UInt8]()
        frame.reserveCapacity(headerSize + payload.count)
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { frame.append(contentsOf: $0) }
        withUnsafeBytes(of: checksum(payload).littleEndian) { frame.append(contentsOf: $0) }
        frame.append(contentsOf: payload)
        return frame
    }

    /// CRC-32C (Castagnoli) of `bytes`, with the CPU's instruction where it has one.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { mc_crc32c($0.baseAddress, $0.count, 0) }
    }

    /// Reads a frame's header: the payload length and checksum.
    /// - Throws: `WireError.oversizedFrame` when the length exceeds `limit`.
    public static func parseHeader(_ header: UnsafeRawBufferPointer, limit: Int = defaultLimit) throws(WireError) -> (length: Int, checksum: UInt32) {
        precondition(header.count >= headerSize)
        let length = Int(UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        let checksum = UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        if length > limit { throw .oversizedFrame(size: length, limit: limit) }
        return (length, checksum)
    }

    /// `parseHeader` on the 8 bytes of `bytes` at `offset`.
    static func parseHeader(_ bytes: [UInt8], at offset: Int, limit: Int) throws(WireError) -> (length: Int, checksum: UInt32) {
        let (length, checksum) = bytes.withUnsafeBytes { raw in
            (Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))),
             UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        }
        if length > limit { throw .oversizedFrame(size: length, limit: limit) }
        return (length, checksum)
    }
}

/// Splits a byte stream into frames as bytes arrive: feed it what a read returned, take every
/// complete payload out. Corrupt input gives a `WireError` and nothing else.
public struct WireFrameReader {
    private var buffer: [UInt8] = []
    private var start = 0
    /// The longest payload accepted.
    public let limit: Int

    /// Creates a reader that refuses payloads longer than `limit` bytes.
    public init(limit: Int = WireFrame.defaultLimit) { self.limit = limit }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start == buffer.count {
            // A large frame that went through here does not keep its memory once taken.
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received that do not yet form a whole frame.
    public var pendingByteCount: Int { buffer.count - start }

    /// Whether `next()` would return a payload (or throw) without more bytes.
    public var hasCompleteFrame: Bool {
        guard buffer.count - start >= WireFrame.headerSize else { return false }
        guard let (length, _) = try? WireFrame.parseHeader(buffer, at: start, limit: limit) else { return true }
        return buffer.count - start - WireFrame.headerSize >= length
    }

    /// The header of the next frame once its 8 bytes have arrived (its payload may not have),
    /// or nil: what a reader checks before it waits for the payload.
    /// - Throws: `WireError.oversizedFrame`.
    public func nextFrameHeader() throws(WireError) -> (length: Int, checksum: UInt32)? {
        guard buffer.count - start >= WireFrame.headerSize else { return nil }
        return try WireFrame.parseHeader(buffer, at: start, limit: limit)
    }

    /// The header of a frame whose payload has not fully arrived yet, or nil (no whole header
    /// yet, or the frame is complete).
    /// - Throws: `WireError.oversizedFrame`.
    public func incompleteFrameHeader() throws(WireError) -> (length: Int, checksum: UInt32)? {
        guard let header = try nextFrameHeader() else { return nil }
        return buffer.count - start - WireFrame.headerSize < header.length ? header : nil
    }

    /// Consumes the buffered header of an incomplete frame and returns the part of its payload
    /// that has arrived: the caller reads the rest of the payload itself (straight into its
    /// final place, for a large one). Call it only after `incompleteFrameHeader()` returned one.
    public mutating func takeIncompletePayload() -> ArraySlice<UInt8> {
        let arrived = buffer[(start + WireFrame.headerSize)...]
        buffer = []
        start = 0
        return arrived
    }

    /// The next complete payload, or nil if more bytes are needed.
    /// - Throws: `WireError.oversizedFrame` or `.checksumMismatch`.
    public mutating func next() throws(WireError) -> [UInt8]? {
        guard buffer.count - start >= WireFrame.headerSize else { return nil }
        let (length, expected) = try WireFrame.parseHeader(buffer, at: start, limit: limit)
        guard buffer.count - start - WireFrame.headerSize >= length else { return nil }
        let payloadStart = start + WireFrame.headerSize
        let payload = Array(buffer[payloadStart..<payloadStart + length])
        let actual = WireFrame.checksum(payload)
        guard actual == expected else { throw .checksumMismatch(expected: expected, actual: actual) }
        start = payloadStart + length
        if start > 65_536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return payload
    }
}
