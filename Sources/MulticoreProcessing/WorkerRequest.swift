/// The request a parent sends its new worker.
///
/// Written by hand rather than through `Codable`, as `WorkerReply` is: a spawned worker decodes
/// it first thing, and `Codable` there cost about a quarter of a millisecond per process (each
/// field's type looked up in the runtime's conformance tables of a process that has seen none).
struct WorkerRequest: Equatable {
    var typeName: String
    var processName: String
    /// Python's `Process._identity`: the child's number, after its parent's own numbers.
    var identity: [Int]
    var parentPID: Int32
    /// The parent's own name ("MainProcess", or its name as a child).
    var parentName: String = ProcessLineage.name
    var payload: [UInt8]
    /// Where, among the descriptors sent before the request, the write end of the pipe its
    /// parent reads its standard error from is (`ChildOutputReader`); nil: it keeps its own.
    var standardError: Int? = nil

    /// The first byte of every request: what this layout is.
    private static let tag: UInt8 = 0x57

    /// The tag, the strings, the identity (a count, then each number), the pid, the standard
    /// error's index plus one (0: none), then the payload (a count, then its bytes).
    var wireBytes: [UInt8] {
        var writer = WireWriter()
        writer.write(Self.tag)
        writer.write(typeName)
        writer.write(processName)
        writer.writeVarint(UInt64(identity.count))
        for number in identity { writer.write(Int64(number)) }
        writer.write(parentPID)
        writer.write(parentName)
        writer.writeVarint(standardError.map { UInt64(max(0, $0)) + 1 } ?? 0)
        writer.writeVarint(UInt64(payload.count))
        payload.withUnsafeBytes { writer.write(raw: $0) }
        return writer.bytes
    }

    /// - Throws: `WireError` for bytes that are not a whole request.
    init(wireBytes bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(bytes)
        let tag = try reader.readByte()
        guard tag == Self.tag else { throw .corrupt(offset: 0, reason: "unknown worker request tag \(tag)") }
        typeName = try reader.readString()
        processName = try reader.readString()
        let numbers = try reader.readCount(minimumItemSize: MemoryLayout<Int64>.size)
        var identity: [Int] = []
        identity.reserveCapacity(numbers)
        for _ in 0..<numbers { identity.append(Int(try reader.read(Int64.self))) }
        self.identity = identity
        parentPID = try reader.read(Int32.self)
        parentName = try reader.readString()
        let standardError = try reader.readVarint()
        guard standardError <= UInt64(Int32.max) else {
            throw .corrupt(offset: reader.offset, reason: "standard error index \(standardError - 1) out of range")
        }
        self.standardError = standardError == 0 ? nil : Int(standardError - 1)
        let count = try reader.readCount(minimumItemSize: 1)
        try reader.require(count)
        payload = Array(bytes[reader.offset..<reader.offset + count])
        try reader.skip(count)
        if reader.remaining > 0 { throw .trailingBytes(reader.remaining) }
    }

    init(typeName: String, processName: String, identity: [Int], parentPID: Int32, payload: [UInt8], standardError: Int? = nil) {
        self.typeName = typeName
        self.processName = processName
        self.identity = identity
        self.parentPID = parentPID
        self.payload = payload
        self.standardError = standardError
    }
}
