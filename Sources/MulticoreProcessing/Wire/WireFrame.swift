import CMulticore

/// Length-prefixed, checksummed frames: how encoded values travel on a byte stream (a pipe, a
/// socket) and are told apart.
///
/// A frame is an 8-byte header, the payload's length (UInt32, little-endian) and a CRC-32C
/// (UInt32, little-endian), then the payload. For a payload shorter than `trailerThreshold`
/// the header's CRC is the payload's. A longer payload's CRC follows it (4 more bytes, a
/// trailer), and the header's CRC is that of its own first four bytes (the length): a sender
/// writes a large payload piece by piece, taking its checksum over each piece as it goes out,
/// and a corrupt length is found before anything is allocated for it. A reader refuses a
/// frame longer than its limit before allocating anything, and a payload whose checksum does
/// not match.
public enum WireFrame {
    /// Bytes in a frame header.
    public static let headerSize = 8

    /// Bytes in a large frame's trailer (its payload's CRC-32C).
    public static let trailerSize = 4

    /// Payloads from this length on carry their checksum in a trailer: 64 KiB.
    public static let trailerThreshold = 1 << 16

    /// The default limit on a frame's payload: 1 GiB.
    public static let defaultLimit = 1 << 30

    /// The checksum field of the header of a frame whose payload (of `length` bytes) has a trailer.
    static func lengthChecksum(_ length: Int) -> UInt32 {
        withUnsafeBytes(of: UInt32(length).littleEndian) { mc_crc32c($0.baseAddress, 4, 0) }
    }

    /// The frame carrying `payload`.
    /// - Throws: `WireError.oversizedFrame` for a payload of 4 GiB or more.
    public static func frame(_ payload: [UInt8]) throws(WireError) -> [UInt8] {
        guard payload.count <= Int(UInt32.max) else {
            throw .oversizedFrame(size: payload.count, limit: Int(UInt32.max))
        }
        var frame = [UInt8](repeating: 0, count: headerSize)
        frame.reserveCapacity(headerSize + payload.count + trailerSize)
        frame.append(contentsOf: payload)
        try writeHeader(in: &frame, at: 0)
        return frame
    }

    /// Seals the frame that starts at `start` in `bytes` and runs to its end (room for the
    /// header, then the payload): fills in its header and, for a large payload, appends its
    /// trailer. The one place a whole frame's checksum is written.
    /// - Throws: `WireError.oversizedFrame` for a payload of 4 GiB or more.
    package static func writeHeader(in bytes: inout [UInt8], at start: Int) throws(WireError) {
        var failure: WireError?
        var trailer: UInt32?
        bytes.withUnsafeMutableBytes { raw in
            do throws(WireError) { trailer = try seal(UnsafeMutableRawBufferPointer(rebasing: raw[start...])) } catch { failure = error }
        }
        if let failure { throw failure }
        if let trailer { withUnsafeBytes(of: trailer.littleEndian) { bytes.append(contentsOf: $0) } }
    }

    /// Fills in the header of the frame that `frame` holds whole (room for the header, then the
    /// payload), and returns the trailer's checksum when the payload is large enough to have
    /// one (the caller sends it after the frame).
    /// - Throws: `WireError.oversizedFrame` for a payload of 4 GiB or more.
    package static func seal(_ frame: UnsafeMutableRawBufferPointer) throws(WireError) -> UInt32? {
        precondition(frame.count >= headerSize, "no room for the frame header")
        let length = frame.count - headerSize
        guard length <= Int(UInt32.max) else { throw .oversizedFrame(size: length, limit: Int(UInt32.max)) }
        let checksum = mc_crc32c(frame.baseAddress! + headerSize, length, 0)
        guard length >= trailerThreshold else {
            writeHeader(length: length, checksum: checksum, in: frame)
            return nil
        }
        writeHeader(length: length, checksum: lengthChecksum(length), in: frame)
        return checksum
    }

    /// Stores the header of a frame whose payload is `length` bytes (at most `UInt32.max`) in
    /// the first `headerSize` bytes of `frame`: with `checksum` for a payload shorter than
    /// `trailerThreshold`; a longer one's header holds the checksum of its length (the
    /// payload's own goes in its trailer, and `checksum` is ignored).
    package static func writeHeader(length: Int, checksum: UInt32, in frame: UnsafeMutableRawBufferPointer) {
        precondition(frame.count >= headerSize && (0...Int(UInt32.max)).contains(length), "a frame header out of range")
        frame.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 0, as: UInt32.self)
        let field = length >= trailerThreshold ? lengthChecksum(length) : checksum
        frame.storeBytes(of: field.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// CRC-32C (Castagnoli) of `bytes`, with the CPU's instruction where it has one.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { mc_crc32c($0.baseAddress, $0.count, 0) }
    }

    /// CRC-32C of the bytes that `previous` was the checksum of, followed by `bytes` (0: of
    /// `bytes` alone): a payload's checksum taken piece by piece, as its pieces arrive.
    package static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32) -> UInt32 {
        mc_crc32c(bytes.baseAddress, bytes.count, previous)
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
        if length >= trailerThreshold, checksum != lengthChecksum(length) {
            throw .corrupt(offset: offset, reason: "a frame header whose length (\(length)) does not match its checksum")
        }
        if length > limit { throw .oversizedFrame(size: length, limit: limit) }
        return (length, checksum)
    }
}

/// How messages are delimited on a byte stream.
public enum FrameFormat: Sendable, Equatable {
    /// Multicore's: an 8-byte header (length and CRC-32C, little-endian), checked on receipt.
    case multicore
    /// CPython's `multiprocessing.connection` (`send_bytes`/`recv_bytes`): the length as a
    /// big-endian Int32, or -1 followed by a big-endian UInt64 for 2 GiB or more; no checksum.
    /// What a `Listener` or `Client` connection speaks, so that Python can be the peer.
    case python

    /// CPython's header for a payload of `length` bytes (Multicore's frames are written by
    /// `WireFrame`, which also checksums them).
    static func pythonHeader(length: Int) -> [UInt8] {
        var header = [UInt8]()
        if length > Int(Int32.max) {
            withUnsafeBytes(of: Int32(-1).bigEndian) { header.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt64(length).bigEndian) { header.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: Int32(length).bigEndian) { header.append(contentsOf: $0) }
        }
        return header
    }
}

/// A frame's header, read: how long it is, the payload's length, its checksum (nil when the
/// format has none, or when it follows the payload), and the bytes after the payload (4 when
/// the checksum follows it, `WireFrame.trailerSize`).
public struct FrameHeader: Equatable, Sendable {
    public let size: Int
    public let length: Int
    public let checksum: UInt32?
    public let trailerSize: Int

    init(size: Int, length: Int, checksum: UInt32?, trailerSize: Int = 0) {
        self.size = size
        self.length = length
        self.checksum = checksum
        self.trailerSize = trailerSize
    }

    /// Whether the payload is checked: a checksum in the header or in the trailer.
    var isChecked: Bool { checksum != nil || trailerSize > 0 }

    /// Bytes of the whole frame: header, payload, trailer.
    var frameSize: Int { size + length + trailerSize }
}

/// Splits a byte stream into frames as bytes arrive: feed it what a read returned, take every
/// complete payload out. Corrupt input gives a `WireError` and nothing else.
public struct WireFrameReader {
    private var buffer: [UInt8] = []
    private var start = 0
    /// The longest payload accepted.
    public let limit: Int
    /// How frames are delimited.
    public let format: FrameFormat

    /// Creates a reader that refuses payloads longer than `limit` bytes.
    public init(limit: Int = WireFrame.defaultLimit, format: FrameFormat = .multicore) {
        self.limit = limit
        self.format = format
    }

    /// The header at `start`, once all of it has arrived.
    private func header() throws(WireError) -> FrameHeader? {
        let available = buffer.count - start
        switch format {
        case .multicore:
            guard available >= WireFrame.headerSize else { return nil }
            let (length, checksum) = try WireFrame.parseHeader(buffer, at: start, limit: limit)
            if length >= WireFrame.trailerThreshold {
                return FrameHeader(size: WireFrame.headerSize, length: length, checksum: nil, trailerSize: WireFrame.trailerSize)
            }
            return FrameHeader(size: WireFrame.headerSize, length: length, checksum: checksum)
        case .python:
            guard available >= 4 else { return nil }
            let short = buffer.withUnsafeBytes { Int32(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: Int32.self)) }
            var length = Int(short)
            var size = 4
            if short == -1 {
                guard available >= 12 else { return nil }
                let long = buffer.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: start + 4, as: UInt64.self)) }
                guard long <= UInt64(Int.max) else { throw .oversizedFrame(size: Int.max, limit: limit) }
                length = Int(long)
                size = 12
            } else if short < 0 {
                throw .corrupt(offset: start, reason: "a negative message length (\(short))")
            }
            if length > limit { throw .oversizedFrame(size: length, limit: limit) }
            return FrameHeader(size: size, length: length, checksum: nil)
        }
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Drops the frames taken, before more bytes come: here rather than as a frame is taken,
    /// when a payload handed out in place (`nextInPlace`) may still share the buffer.
    private mutating func compact() {
        if start > 0 && start == buffer.count {
            // A large frame that went through here does not keep its memory once taken.
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        } else if start > 65_536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// Bytes received that do not yet form a whole frame.
    public var pendingByteCount: Int { buffer.count - start }

    /// Whether `next()` would return a payload (or throw) without more bytes.
    public var hasCompleteFrame: Bool {
        do {
            guard let header = try header() else { return false }
            return buffer.count - start >= header.frameSize
        } catch {
            return true
        }
    }

    /// The header of the next frame once all of it has arrived (its payload may not have), or
    /// nil: what a reader checks before it waits for the payload.
    /// - Throws: `WireError.oversizedFrame`, `.corrupt`.
    public func nextFrameHeader() throws(WireError) -> FrameHeader? { try header() }

    /// The header of a frame whose payload has not fully arrived yet, or nil (no whole header
    /// yet, or the frame is complete).
    /// - Throws: `WireError.oversizedFrame`, `.corrupt`.
    public func incompleteFrameHeader() throws(WireError) -> FrameHeader? {
        guard let header = try header() else { return nil }
        return buffer.count - start < header.frameSize ? header : nil
    }

    /// Consumes the buffered header of an incomplete frame and returns the part of its payload
    /// that has arrived: the caller reads the rest of the payload itself (straight into its
    /// final place, for a large one). Bytes past the payload (part of its trailer) stay, for
    /// `takeTrailer`. Call it only after `incompleteFrameHeader()` returned one.
    public mutating func takeIncompletePayload() -> ArraySlice<UInt8> {
        let header = (try? header()) ?? nil
        let payloadStart = start + (header?.size ?? WireFrame.headerSize)
        let payloadEnd = Swift.min(buffer.count, payloadStart + (header?.length ?? buffer.count))
        let arrived = buffer[payloadStart ..< payloadEnd]
        buffer = Array(buffer[payloadEnd...])
        start = 0
        return arrived
    }

    /// The checksum in the trailer that comes next (after a payload taken with
    /// `takeIncompletePayload` and read by the caller), once its 4 bytes have arrived; nil until then.
    public mutating func takeTrailer() -> UInt32? {
        guard buffer.count - start >= WireFrame.trailerSize else { return nil }
        let checksum = buffer.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
        start += WireFrame.trailerSize
        return checksum
    }

    /// The next complete payload, or nil if more bytes are needed.
    /// - Throws: `WireError.oversizedFrame`, `.corrupt` or `.checksumMismatch`.
    public mutating func next() throws(WireError) -> [UInt8]? {
        guard let (bytes, range) = try nextInPlace() else { return nil }
        return Array(bytes[range])
    }

    /// The next complete payload where it lies, checked and taken: `bytes[range]` (the bytes
    /// are shared with this reader, not copied), or nil if more bytes are needed. What a
    /// connection decodes a message from without an array of its own per message.
    /// - Throws: `WireError.oversizedFrame`, `.corrupt` or `.checksumMismatch`.
    public mutating func nextInPlace() throws(WireError) -> (bytes: [UInt8], range: Range<Int>)? {
        guard let header = try header() else { return nil }
        return try nextInPlace(header)
    }

    /// `nextInPlace()` for the frame whose header `nextFrameHeader()` just returned (not read again).
    package mutating func nextInPlace(_ header: FrameHeader) throws(WireError) -> (bytes: [UInt8], range: Range<Int>)? {
        let length = header.length
        guard buffer.count - start >= header.frameSize else { return nil }
        let payloadStart = start + header.size, payloadEnd = payloadStart + length
        let expected = header.trailerSize > 0
            ? buffer.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: payloadEnd, as: UInt32.self)) }
            : header.checksum
        if let expected {
            let actual = buffer.withUnsafeBytes { mc_crc32c($0.baseAddress! + payloadStart, length, 0) }
            guard actual == expected else { throw .checksumMismatch(expected: expected, actual: actual) }
        }
        start = payloadEnd + header.trailerSize
        return (buffer, payloadStart..<payloadEnd)
    }
}

/// A large frame on its way out: its bytes (the header first, already filled in, then the
/// payload) written in parts of at most `partSize` bytes, each checksummed just before it is
/// written; then the trailer with the payload's checksum.
package struct WireFrameStreamer {
    /// The checksum brings a part into the cache, and the write copies it from there (while
    /// the reader takes the one before).
    static let partSize = 128 << 10
    private var checksum: UInt32 = 0
    private var position = 0

    package init() {}

    /// Writes the next piece of the frame with `write`.
    package mutating func write(_ piece: UnsafeRawBufferPointer, with write: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var offset = 0
        while offset < piece.count {
            let part = UnsafeRawBufferPointer(rebasing: piece[offset ..< Swift.min(piece.count, offset + Self.partSize)])
            let header = Swift.max(0, Swift.min(part.count, WireFrame.headerSize - position)) // the header is not checksummed
            checksum = mc_crc32c(part.baseAddress! + header, part.count - header, checksum)
            try write(part)
            offset += part.count
            position += part.count
        }
    }

    /// Writes the trailer, after the last piece.
    package func finish(with write: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try withUnsafeBytes(of: checksum.littleEndian) { try write($0) }
    }
}
