import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// One end of a pipe between threads or processes: sends and receives `Codable` values and raw
/// byte messages, each as one checksummed frame. Corresponds to Python's
/// `multiprocessing.connection.Connection`.
///
/// What can be sent is checked by the compiler (`Encodable`), not discovered at run time as
/// with pickle. A truncated, oversized or corrupt message throws on the receiving end, and only
/// there; the sending side never blocks on it. After a protocol error (a corrupt or oversized
/// frame, or a message longer than `recvBytes(maxLength:)` allows) the receiving side is broken:
/// where the next message starts is unknown, so `recv`, `recvBytes` and `poll` throw
/// `ConnectionError.broken` from then on (sending still works), as Python's connection is
/// unusable after a bad message.
///
/// One thread at a time may send, and one at a time may receive (a lock serializes each side).
/// Creating a connection makes the process ignore SIGPIPE, as CPython does, so that writing to
/// a dead peer throws `ConnectionError.brokenPipe` instead of killing the process.
/// - Warning: do not `close` a connection while another thread is blocked receiving on it.
public final class Connection: Codable, @unchecked Sendable { // the descriptor is guarded by `stateLock`, the receive state and buffers by `receiveLock`, the kept coders by `sparesLock`
    /// Whether this end can receive. Python: `Connection.readable`.
    public let readable: Bool
    /// Whether this end can send. Python: `Connection.writable`.
    public let writable: Bool

    let isSocket: Bool
    let stateLock = Lock()
    let sendLock = Lock()
    let receiveLock = Lock()
    var descriptor: Int32
    // The receive state is only touched under `receiveLock`: the runtime's exclusivity checks
    // (three per message, a tenth of a small message's own cost) are skipped.
    @exclusivity(unchecked) var frames: WireFrameReader
    /// Why receiving broke (a protocol error), once it has.
    @exclusivity(unchecked) var brokenBy: String?
    /// The large payload being read, if any. Under `receiveLock`.
    @exclusivity(unchecked) var largePayload: LargePayload?
    /// The buffer of the last large message decoded, for the next (`keepPayloadBuffer`). Under `receiveLock`.
    @exclusivity(unchecked) var keptPayload: [UInt8]?
    /// What reads land in before they are split into frames (64 KiB, made at the first receive).
    /// Under `receiveLock`.
    @exclusivity(unchecked) private var readMemory: UnsafeMutableRawBufferPointer?
    /// A coder of each kind kept for the next message (nil while one is in use: a second thread
    /// sending or receiving at the same time makes its own). Under `sparesLock`.
    @exclusivity(unchecked) private var spareEncoder: _WireEncoder?
    @exclusivity(unchecked) private var spareDecoder: _WireDecoder?
    private let sparesLock = Lock()

    /// The longest message this end accepts, in bytes: a longer one breaks the connection as
    /// soon as its header arrives, before any of its bytes are read. Set by
    /// `pipe(duplex:maxFrameSize:)`, and kept by a connection passed to a child.
    public let maxFrameSize: Int

    /// How its messages are delimited: Multicore's checksummed frames, or CPython's
    /// (`Listener` and `Client` connections, so that a Python process can be the peer).
    public let frameFormat: FrameFormat

    private static let sigpipeIgnored: Void = mc_ignore_sigpipe()

    /// Wraps a descriptor this connection now owns (and closes).
    /// - Parameter maxFrameSize: the longest message it accepts (default 1 GiB).
    package init(descriptor: Int32, readable: Bool, writable: Bool, isSocket: Bool,
                 maxFrameSize: Int = WireFrame.defaultLimit, frameFormat: FrameFormat = .multicore) {
        _ = Self.sigpipeIgnored
        self.descriptor = descriptor
        self.readable = readable
        self.writable = writable
        self.isSocket = isSocket
        self.maxFrameSize = maxFrameSize
        self.frameFormat = frameFormat
        self.frames = WireFrameReader(limit: maxFrameSize, format: frameFormat)
    }

    deinit {
        closeDescriptor(descriptor)
        readMemory?.deallocate()
    }

    /// Runs `body` with the kept encoder (or a new one, if another send has it), kept again after.
    func withSpareEncoder<R>(_ body: (_WireEncoder) throws -> R) rethrows -> R {
        let encoder = sparesLock.withLock { spareEncoder.take() } ?? _WireEncoder()
        defer { sparesLock.withLock { spareEncoder = encoder } }
        return try body(encoder)
    }

    /// Runs `body` with the kept decoder (or a new one, if another receive has it), kept again after.
    func withSpareDecoder<R>(_ body: (_WireDecoder) throws -> R) rethrows -> R {
        let decoder = sparesLock.withLock { spareDecoder.take() }
            ?? _WireDecoder(reader: WireReader([]), maximumDepth: WireDecoder().maximumDepth)
        defer { sparesLock.withLock { spareDecoder = decoder } }
        return try body(decoder)
    }

    /// Under `receiveLock`: the read buffer, made the first time.
    func readBuffer() -> UnsafeMutableRawBufferPointer {
        if let readMemory { return readMemory }
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        readMemory = memory
        return memory
    }

    /// A pair of connected ends. With `duplex` (the default) both ends send and receive (a Unix
    /// socket pair); without, the first end only receives and the second only sends (a pipe).
    /// Corresponds to Python's `multiprocessing.Pipe(duplex=True)`.
    /// - Parameter maxFrameSize: the longest message (in bytes) either end accepts, 1 GiB by
    ///   default: a longer one is refused from its header (`WireError.oversizedFrame`), and
    ///   breaks the receiving end.
    /// - Throws: `ConnectionError.invalidMaxFrameSize` for a size outside 0...`UInt32.max`;
    ///   `ConnectionError.system` when the system refuses descriptors.
    public static func pipe(duplex: Bool = true, maxFrameSize: Int = WireFrame.defaultLimit) throws(ConnectionError) -> (Connection, Connection) {
        guard (0...Int(UInt32.max)).contains(maxFrameSize) else { throw .invalidMaxFrameSize(maxFrameSize) }
        let ends: (FileDescriptor, FileDescriptor)
        do throws(Errno) {
            ends = try duplex ? DescriptorPair.socketPair() : DescriptorPair.pipe()
        } catch {
            throw .system(operation: duplex ? "socketpair" : "pipe2", errno: error)
        }
        let (first, second) = (ends.0.rawValue, ends.1.rawValue)
        if duplex {
            return (Connection(descriptor: first, readable: true, writable: true, isSocket: true, maxFrameSize: maxFrameSize),
                    Connection(descriptor: second, readable: true, writable: true, isSocket: true, maxFrameSize: maxFrameSize))
        }
        return (Connection(descriptor: first, readable: true, writable: false, isSocket: false, maxFrameSize: maxFrameSize),
                Connection(descriptor: second, readable: false, writable: true, isSocket: false, maxFrameSize: maxFrameSize))
    }

    // MARK: Passing a connection to a child

    private enum CodingKeys: String, CodingKey { case index, readable, writable, isSocket, maxMessageSize, pythonFrames }

    /// A connection can be part of a task: the child gets its own copy of the descriptor
    /// (Python passes a Connection in `Process(args=...)` the same way). This end stays open
    /// here; close it when only the child should use it.
    /// - Throws: `EncodingError.invalidValue` outside a task sent by `ChildProcess.start`;
    ///   `ConnectionError.closed`, `.system`.
    public func encode(to encoder: any Encoder) throws {
        guard let table = (encoder as? _WireEncoder)?.descriptors else {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath,
                debugDescription: "a Connection can only be sent to a child process, inside the task given to ChildProcess"))
        }
        let original = FileDescriptor(rawValue: try openDescriptor()), copy: FileDescriptor
        do throws(Errno) { copy = try original.duplicateCloseOnExec() } catch {
            throw ConnectionError.system(operation: "dup", errno: error)
        }
        table.descriptors.append(copy.rawValue)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(table.descriptors.count - 1, forKey: .index)
        try container.encode(readable, forKey: .readable)
        try container.encode(writable, forKey: .writable)
        try container.encode(isSocket, forKey: .isSocket)
        try container.encode(maxFrameSize, forKey: .maxMessageSize)
        try container.encode(frameFormat == .python, forKey: .pythonFrames)
    }

    /// The child's side of `encode(to:)`: takes the descriptor that came with the task.
    public convenience init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let index = try container.decode(Int.self, forKey: .index)
        guard let table = (decoder as? _WireDecoder)?.descriptors, table.descriptors.indices.contains(index),
              table.descriptors[index] >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .index, in: container,
                debugDescription: "no descriptor came with this connection")
        }
        let fd = table.descriptors[index]
        table.descriptors[index] = -1
        self.init(descriptor: fd, readable: try container.decode(Bool.self, forKey: .readable),
                  writable: try container.decode(Bool.self, forKey: .writable),
                  isSocket: try container.decode(Bool.self, forKey: .isSocket),
                  maxFrameSize: try container.decode(Int.self, forKey: .maxMessageSize),
                  frameFormat: try container.decode(Bool.self, forKey: .pythonFrames) ? .python : .multicore)
    }

    /// Sends the one byte that carries `descriptors` (possibly none) before a worker's request.
    func sendDescriptors(_ descriptors: [Int32]) throws(ConnectionError) {
        let fd = try openDescriptor()
        do throws(Errno) {
            try sendLock.withLock { () throws(Errno) in try FileDescriptor(rawValue: fd).sendDescriptors(descriptors) }
        } catch .brokenPipe, .connectionReset {
            throw .brokenPipe
        } catch {
            throw .system(operation: "sendmsg", errno: error)
        }
    }

    /// Receives the byte `sendDescriptors` sent, and its descriptors.
    func receiveDescriptors() throws(ConnectionError) -> DescriptorTable {
        let fd = try openDescriptor()
        let received: [Int32]?
        do throws(Errno) {
            received = try receiveLock.withLock { () throws(Errno) in try FileDescriptor(rawValue: fd).receiveDescriptors() }
        } catch {
            throw .system(operation: "recvmsg", errno: error)
        }
        guard let received else { throw .endOfFile }
        return DescriptorTable(received)
    }

    /// The file descriptor, or -1 once closed. Python: `Connection.fileno()`.
    public var fileDescriptor: Int32 { stateLock.withLock { descriptor } }

    /// Lets this end of a socket pair write `bytes` before its peer reads (SO_SNDBUF, which the
    /// kernel caps at net.core.wmem_max): a message of megabytes then goes in one call instead of
    /// as many as the default buffer (about 200 kB) divides it into, each waiting for the peer to
    /// be scheduled. Best effort: nothing changes where the system refuses.
    /// On a one-way pipe, the pipe's capacity (F_SETPIPE_SZ) grows instead, to at most 1 MiB
    /// where the system refuses more.
    package func allowUnreadBytes(_ bytes: Int) {
        let descriptor = fileDescriptor
        guard descriptor >= 0 else { return }
        let fd = FileDescriptor(rawValue: descriptor)
        guard isSocket else {
            if (try? DescriptorPair.setPipeCapacity(of: fd, to: Int32(clamping: bytes))) == nil, bytes > 1 << 20 {
                try? DescriptorPair.setPipeCapacity(of: fd, to: 1 << 20)
            }
            return
        }
        try? DescriptorPair.setSendBuffer(of: fd, to: Int32(clamping: bytes))
    }

    /// Whether `close` was called. Python: `Connection.closed`.
    public var isClosed: Bool { fileDescriptor < 0 }

    /// Closes this end; the peer then receives end-of-file. Calling it again does nothing.
    /// Corresponds to Python's `Connection.close()`.
    public func close() {
        stateLock.withLock {
            closeDescriptor(descriptor)
            descriptor = -1
        }
    }

    func openDescriptor() throws(ConnectionError) -> Int32 {
        let fd = stateLock.withLock { descriptor }
        guard fd >= 0 else { throw .closed }
        return fd
    }

    // MARK: Sending

    /// Sends `value` as one message. Corresponds to Python's `Connection.send(obj)`.
    /// - Throws: an encoding error (before anything is written: a value that cannot be encoded
    ///   is never half sent); `ConnectionError.readOnly`, `.closed`, `.brokenPipe`, `.system`.
    @available(*, noasync, message: "blocks the thread while the pipe is full")
    public func send<T: Encodable>(_ value: T) throws {
        guard writable else { throw ConnectionError.readOnly }
        guard frameFormat == .multicore else { return try sendPayload(WireEncoder().encode(value)) }
        // Encoded behind room for its header, and written from the encoder's own memory (and
        // large arrays of numbers from where they lie).
        try withSpareEncoder { encoder in
            try WireEncoder().withEncodedFrame(value, encoder: encoder) { forEachPiece in try sendPieces(forEachPiece) }
        }
    }

    /// Sends `bytes` as one message. Corresponds to Python's `Connection.send_bytes(buf)`.
    /// - Throws: `ConnectionError.readOnly`, `.closed`, `.brokenPipe`, `.system`;
    ///   `WireError.oversizedFrame` for 4 GiB or more.
    @available(*, noasync, message: "blocks the thread while the pipe is full")
    public func sendBytes(_ bytes: [UInt8]) throws {
        guard writable else { throw ConnectionError.readOnly }
        try sendPayload(bytes)
    }

    /// Sends `size` bytes of `bytes` from `offset` (all that follows, when nil) as one message.
    /// Python: `Connection.send_bytes(buf, offset=0, size=None)`.
    /// - Throws: `ConnectionError.invalidRange` for a range outside `bytes`, and what
    ///   `sendBytes(_:)` throws.
    @available(*, noasync, message: "blocks the thread while the pipe is full")
    public func sendBytes(_ bytes: [UInt8], offset: Int, size: Int? = nil) throws {
        guard offset >= 0 else { throw ConnectionError.invalidRange("offset is negative") }
        guard bytes.count >= offset else { throw ConnectionError.invalidRange("buffer length < offset") }
        let size = size ?? bytes.count - offset
        guard size >= 0 else { throw ConnectionError.invalidRange("size is negative") }
        guard bytes.count >= offset + size else { throw ConnectionError.invalidRange("buffer length < offset + size") }
        try sendBytes(Array(bytes[offset ..< offset + size]))
    }

    /// Sends `frame` as one message, its first `WireFrame.headerSize` bytes being room for the
    /// frame header, filled in here: a message built with that room goes out without a copy.
    /// - Throws: `ConnectionError.readOnly`, `.closed`, `.brokenPipe`, `.system`;
    ///   `WireError.oversizedFrame` for 4 GiB or more.
    package func sendFrame(_ frame: inout [UInt8]) throws {
        guard writable else { throw ConnectionError.readOnly }
        precondition(frameFormat == .multicore, "sendFrame writes Multicore's frame header")
        let trailer = try frame.withUnsafeMutableBytes { raw throws(WireError) in try WireFrame.seal(raw) }
        guard let trailer else { return try sendBuffer(frame) }
        let sealed = frame
        try sendPieces { each in
            try sealed.withUnsafeBytes(each)
            try withUnsafeBytes(of: trailer.littleEndian, each)
        }
    }

    /// Writes as much of `bytes` as the pipe takes now, without blocking; returns how many
    /// bytes went. With `sendLock` held, so whole frames never interleave with other senders.
    /// - Throws: `ConnectionError.readOnly`, `.closed`, `.brokenPipe`, `.system`.
    package func writeAvailable(_ bytes: ArraySlice<UInt8>) throws(ConnectionError) -> Int {
        guard writable else { throw .readOnly }
        let fd = try openDescriptor()
        let (written, failure): (Int, Errno?) = sendLock.withLock {
            bytes.withUnsafeBytes { raw in
                let descriptor = FileDescriptor(rawValue: fd)
                var offset = 0
                while offset < raw.count {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                    do throws(Errno) {
                        offset += try isSocket ? descriptor.sendSome(rest, nonBlocking: true) : descriptor.writeSome(rest)
                    } catch .resourceTemporarilyUnavailable {
                        return (offset, nil)
                    } catch {
                        return (offset, error)
                    }
                }
                return (offset, nil)
            }
        }
        switch failure {
        case nil: return written
        case .brokenPipe?, .connectionReset?: throw .brokenPipe
        case .badFileDescriptor?: throw .closed
        case let error?: throw .system(operation: "send", errno: error)
        }
    }

    /// Payloads from this size on are written after their header instead of copied behind it.
    static let largePayloadSize = 1 << 16

    private func sendPayload(_ payload: [UInt8]) throws {
        if frameFormat == .multicore {
            guard payload.count <= Int(UInt32.max) else {
                throw WireError.oversizedFrame(size: payload.count, limit: Int(UInt32.max))
            }
            if payload.count < WireFrame.trailerThreshold {
                try sendBuffer(WireFrame.frame(payload))
                return
            }
            // Written from where it lies, its checksum taken part by part as it goes (a trailer).
            var header = [UInt8](repeating: 0, count: WireFrame.headerSize)
            header.withUnsafeMutableBytes { WireFrame.writeHeader(length: payload.count, checksum: 0, in: $0) }
            let frame = header
            try sendPieces { each in
                var streamer = WireFrameStreamer()
                try frame.withUnsafeBytes { try streamer.write($0, with: each) }
                try payload.withUnsafeBytes { try streamer.write($0, with: each) }
                try streamer.finish(with: each)
            }
            return
        }
        let header = FrameFormat.pythonHeader(length: payload.count)
        // A small message goes out in one write with its header, as CPython sends it.
        if payload.count < Self.largePayloadSize { try sendBuffer(header + payload) } else { try sendBuffers(header, payload) }
    }

    /// Writes `buffer`, with no other sender in between. (One array, not an array of arrays: its
    /// metadata lookup, allocation and release cost more than the rest of a small send.)
    private func sendBuffer(_ buffer: [UInt8]) throws(ConnectionError) {
        var failure: ConnectionError?
        buffer.withUnsafeBytes { raw in
            do throws(ConnectionError) { try sendRaw(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes every piece that `forEachPiece` gives, in order, with no other sender in between
    /// (none after one that failed).
    private func sendPieces(_ forEachPiece: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let fd = try openDescriptor()
        var failure: Errno?
        try sendLock.withLock {
            try forEachPiece { raw in if failure == nil { failure = writeAll(raw, to: FileDescriptor(rawValue: fd)) } }
        }
        try throwSendFailure(failure)
    }

    /// Writes `raw`, with no other sender in between.
    private func sendRaw(_ raw: UnsafeRawBufferPointer) throws(ConnectionError) {
        let fd = try openDescriptor()
        let failure: Errno? = sendLock.withLock { writeAll(raw, to: FileDescriptor(rawValue: fd)) }
        try throwSendFailure(failure)
    }

    /// Writes `first`, then `second`, with no other sender in between.
    private func sendBuffers(_ first: [UInt8], _ second: [UInt8]) throws(ConnectionError) {
        let fd = try openDescriptor()
        let failure: Errno? = sendLock.withLock {
            let descriptor = FileDescriptor(rawValue: fd)
            if let failure = first.withUnsafeBytes({ raw in writeAll(raw, to: descriptor) }) { return failure }
            return second.withUnsafeBytes { raw in writeAll(raw, to: descriptor) }
        }
        try throwSendFailure(failure)
    }

    /// Under `sendLock`: writes all of `raw`, however many calls it takes; the error that stopped it.
    private func writeAll(_ raw: UnsafeRawBufferPointer, to descriptor: FileDescriptor) -> Errno? {
        var offset = 0
        while offset < raw.count {
            let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
            do throws(Errno) {
                offset += try isSocket ? descriptor.sendSome(rest, nonBlocking: false) : descriptor.writeSome(rest)
            } catch {
                return error
            }
        }
        return nil
    }

    /// What a send that failed with `failure` throws.
    private func throwSendFailure(_ failure: Errno?) throws(ConnectionError) {
        switch failure {
        case nil: return
        case .brokenPipe?, .connectionReset?: throw .brokenPipe
        case .badFileDescriptor?: throw .closed
        case let error?: throw .system(operation: "write", errno: error)
        }
    }
}
