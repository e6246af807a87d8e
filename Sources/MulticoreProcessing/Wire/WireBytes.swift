/// The byte-level writer and reader under `WireEncoder` and `WireDecoder`: fixed-width
/// little-endian numbers, LEB128 varints, length-prefixed UTF-8, and reserved slots patched later.
///
/// The writer owns its buffer: a write is a capacity check and a store (an array's `append`
/// checks uniqueness and calls out of line for every value, which costs more than the value).
struct WireWriter: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    /// How many bytes were written.
    private(set) var count = 0
    /// Large blocks of memory that the message takes where they lie instead of copying them
    /// (only when `referencesLargeBlocks`), in order: each goes in front of the byte written at
    /// its `offset`.
    private(set) var references: [WireReference] = []
    /// Whether blocks may be referenced: only for a message written out at once, while the
    /// values it was made of are alive (a connection's send).
    var referencesLargeBlocks = false

    /// Blocks from this size on are referenced rather than copied, where that is allowed: the
    /// copy of megabytes costs as much as their way through the socket.
    static var referenceThreshold: Int { 1 << 18 }

    init(capacity: Int = 256) {
        self.capacity = Swift.max(16, capacity)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Includes `block` here in the message, uncopied.
    mutating func reference(_ block: WireReference) {
        precondition(referencesLargeBlocks && block.offset == count, "a block referenced out of place")
        references.append(block)
    }

    /// Lets go of the referenced blocks (and of the values they belong to).
    mutating func forgetReferences() {
        if !references.isEmpty { references.removeAll() }
        referencesLargeBlocks = false
    }

    /// The bytes of the message: those written and those referenced.
    var messageCount: Int { references.reduce(count) { $0 + $1.count } }

    /// Calls `body` with the message's bytes from `start` (a place in what was written), in
    /// order: what was written, with the referenced blocks in their places.
    func forEachPiece(from start: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var position = start
        for block in references where block.offset >= start {
            if block.offset > position { try body(UnsafeRawBufferPointer(start: base + position, count: block.offset - position)) }
            position = block.offset
            try block.withBytes(body)
        }
        if count > position { try body(UnsafeRawBufferPointer(start: base + position, count: count - position)) }
    }

    /// Forgets what was written, keeping the memory unless it is more than `limit` bytes.
    mutating func removeAll(keepingCapacityUpTo limit: Int) {
        forgetReferences()
        count = 0
        guard capacity > limit else { return }
        base.deallocate()
        capacity = 256
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    /// The bytes written, in an array (a copy).
    var bytes: [UInt8] {
        // None for no bytes: `unsafeUninitializedCapacity: 0` writes to the shared empty array's
        // storage (a race ThreadSanitizer reports).
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let target = buffer.baseAddress { target.initialize(from: base.assumingMemoryBound(to: UInt8.self), count: count) }
            initialized = count
        }
    }

    /// The bytes written, to patch in place.
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// Makes room for `more` bytes after the `count` written.
    @inline(__always)
    mutating func reserve(_ more: Int) {
        if capacity - count < more { grow(more) }
    }

    @inline(never)
    private mutating func grow(_ more: Int) {
        let needed = count + more
        precondition(needed >= count, "a wire message of more than Int.max bytes")
        var newCapacity = Swift.max(capacity, 16)
        while newCapacity < needed { newCapacity = newCapacity <= Int.max / 2 ? newCapacity * 2 : needed }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    mutating func writeVarint(_ value: UInt64) {
        reserve(10)
        var value = value
        while value >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: count, as: UInt8.self)
            count += 1
            value >>= 7
        }
        base.storeBytes(of: UInt8(value), toByteOffset: count, as: UInt8.self)
        count += 1
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            write(raw: UnsafeRawBufferPointer(utf8))
        }
    }

    /// Appends raw memory with one copy.
    mutating func write(raw: UnsafeRawBufferPointer) {
        guard let source = raw.baseAddress, !raw.isEmpty else { return }
        reserve(raw.count)
        (base + count).copyMemory(from: source, byteCount: raw.count)
        count += raw.count
    }

    /// Reserves a UInt32 slot and returns its offset, for a count known only later.
    mutating func reserveUInt32() -> Int {
        let offset = count
        write(UInt32(0))
        return offset
    }

    /// Adds one to the UInt32 at `offset`.
    mutating func incrementUInt32(at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count, "a slot that reserveUInt32 did not give")
        let value = base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        base.storeBytes(of: (UInt32(littleEndian: value) &+ 1).littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}

/// A block of memory that a message includes where it lies (the elements of a large array of
/// numbers): where it goes, how long it is, and how to reach its bytes (through the array, which
/// this keeps alive and unchanged).
struct WireReference {
    let offset: Int
    let count: Int
    let withBytes: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
}

/// Reads what `WireWriter` wrote, checking every length against what is left: malformed input
/// becomes a `WireError`, never an out-of-bounds read or a huge allocation.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    /// Where the message ends in `bytes` (their count, unless it is one message of several
    /// received together: read in place, without copying it out).
    let end: Int

    /// A reader of `bytes[offset..<end]` (`end`: the count when nil); the range must lie in `bytes`.
    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
        precondition(0 <= offset && offset <= self.end && self.end <= bytes.count, "a range outside the bytes")
    }

    var remaining: Int { end - offset }

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
            let utf8 = UnsafeBufferPointer(rebasing: buffer[start..<start + count])
            // ASCII is valid UTF-8, and `String(decoding:)` takes it as it is; the validating
            // initializer is not specialized, and costs more than the rest of a small value.
            return Self.isASCII(utf8) ? String(decoding: utf8, as: UTF8.self) : String(validating: utf8, as: UTF8.self)
        }
        guard let string else { throw .corrupt(offset: start, reason: "invalid UTF-8 in a string") }
        offset += count
        return string
    }

    /// Whether every byte is below 0x80.
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var any: UInt8 = 0
        for byte in bytes { any |= byte }
        return any < 0x80
    }

    @inline(__always)
    mutating func readBool() throws(WireError) -> Bool {
        if let bit = nextZeroOrOne() { return bit }
        return try readZeroOrOne("a Bool")
    }

    /// The presence byte in front of an optional value: true when a value follows.
    @inline(__always)
    mutating func readPresence() throws(WireError) -> Bool {
        if let bit = nextZeroOrOne() { return bit }
        return try readZeroOrOne("a presence marker")
    }

    /// The next byte as a Bool when it is 0 or 1 (consumed), nil otherwise (left for the
    /// throwing path): the common case without the cost of a call that may throw.
    @inline(__always)
    private mutating func nextZeroOrOne() -> Bool? {
        guard offset < end else { return nil }
        let byte = bytes[offset]
        guard byte <= 1 else { return nil }
        offset += 1
        return byte == 1
    }

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
