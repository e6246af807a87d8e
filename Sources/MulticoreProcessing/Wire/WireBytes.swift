/// The byte-level writer and reader under `WireEncoder` and `WireDecoder`: fixed-width
/// little-endian numbers, LEB128 varints, length-prefixed UTF-8, and reserved slots patched later.
struct WireWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    mutating func write(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always)
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { write(raw: $0) }
    }

    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends raw memory with one copy (as a typed buffer, which `append` copies with memcpy;
    /// a raw buffer would go byte by byte).
    mutating func write(raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress else { return }
        bytes.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }

    /// Reserves a UInt32 slot and returns its offset, for a count known only later.
    mutating func reserveUInt32() -> Int {
        let offset = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        return offset
    }

    /// Adds one to the UInt32 at `offset`.
    mutating func incrementUInt32(at offset: Int) {
        bytes.withUnsafeMutableBytes { raw in
            let value = raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            raw.storeBytes(of: (UInt32(littleEndian: value) &+ 1).littleEndian, toByteOffset: offset, as: UInt32.self)
        }
    }
}

/// Reads what `WireWriter` wrote, checking every length against what is left: malformed input
/// becomes a `WireError`, never an out-of-bounds read or a huge allocation.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    @inline(__always)
    func require(_ count: Int) throws(WireError) {
        if count > remaining { throw .truncated(offset: offset, needed: count - remaining) }
    }

    @inline(__always)
    mutating func readByte() throws(WireError) -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(WireError) -> T {
        try require(MemoryLayout<T>.size)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readVarint() throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw .corrupt(offset: start, reason: "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .corrupt(offset: start, reason: "varint longer than 10 bytes") }
        }
    }

    /// A length or count, checked against the bytes left (each item takes at least
    /// `minimumItemSize` bytes), so that hostile input cannot make the reader allocate much.
    mutating func readCount(minimumItemSize: Int) throws(WireError) -> Int {
        let start = offset
        let raw = try readVarint()
        guard raw <= UInt64(Int.max), Int(raw) <= remaining / max(1, minimumItemSize) || minimumItemSize == 0 else {
            throw .corrupt(offset: start, reason: "count \(raw) exceeds the \(remaining) byte(s) left")
        }
        return Int(raw)
    }

    mutating func readString() throws(WireError) -> String {
        let count = try readCount(minimumItemSize: 1)
        let start = offset
        let string = bytes.withUnsafeBufferPointer { buffer in
            String(validating: UnsafeBufferPointer(rebasing: buffer[start..<start + count]), as: UTF8.self)
        }
        guard let string else { throw .corrupt(offset: start, reason: "invalid UTF-8 in a string") }
        offset += count
        return string
    }

    mutating func readBool() throws(WireError) -> Bool { try readZeroOrOne("a Bool") }

    /// The presence byte in front of an optional value: true when a value follows.
    mutating func readPresence() throws(WireError) -> Bool { try readZeroOrOne("a presence marker") }

    private mutating func readZeroOrOne(_ what: String) throws(WireError) -> Bool {
        let start = offset
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let byte: throw .corrupt(offset: start, reason: "\(byte) is not \(what) (0 or 1)")
        }
    }

    /// Moves past `count` bytes.
    mutating func skip(_ count: Int) throws(WireError) {
        try require(count)
        offset += count
    }

    /// Copies `byteCount` raw bytes into `destination`.
    mutating func read(raw destination: UnsafeMutableRawBufferPointer) throws(WireError) {
        try require(destination.count)
        bytes.withUnsafeBytes { source in
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + destination.count]))
        }
        offset += destination.count
    }
}
