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
public final class Connection: Codable, @unchecked Sendable { // the descriptor is guarded by `stateLock`, the receive buffer by `receiveLock`
    /// Whether this end can receive. Python: `Connection.readable`.
    public let readable: Bool
    /// Whether this end can send. Python: `Connection.writable`.
    public let writable: Bool

    private let isSocket: Bool
    private let stateLock = Lock()
    private let sendLock = Lock()
    private let receiveLock = Lock()
    private var descriptor: Int32
    private var frames: WireFrameReader
    /// Why receiving broke (a protocol error), once it has.
    private var brokenBy: String?

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
            throw .system(operation: duplex ? "socketpair" : "pipe2", errno: error.rawValue)
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
            throw ConnectionError.system(operation: "dup", errno: error.rawValue)
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
            throw .system(operation: "sendmsg", errno: error.rawValue)
        }
    }

    /// Receives the byte `sendDescriptors` sent, and its descriptors.
    func receiveDescriptors() throws(ConnectionError) -> DescriptorTable {
        let fd = try openDescriptor()
        let received: [Int32]?
        do throws(Errno) {
            received = try receiveLock.withLock { () throws(Errno) in try FileDescriptor(rawValue: fd).receiveDescriptors() }
        } catch {
            throw .system(operation: "recvmsg", errno: error.rawValue)
        }
        guard let received else { throw .endOfFile }
        return DescriptorTable(received)
    }

    /// The file descriptor, or -1 once closed. Python: `Connection.fileno()`.
    public var fileDescriptor: Int32 { stateLock.withLock { descriptor } }

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

    private func openDescriptor() throws(ConnectionError) -> Int32 {
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
        // Encoded in place behind room for its header: one array, written as it is.
        try sendBuffers([WireEncoder().encodeFrame(value)])
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
        try WireFrame.writeHeader(in: &frame, at: 0)
        try sendBuffers([frame])
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
        case let error?: throw .system(operation: "send", errno: error.rawValue)
        }
    }

    /// Payloads from this size on are written after their header instead of copied behind it.
    private static let largePayload = 1 << 16

    private func sendPayload(_ payload: [UInt8]) throws {
        if frameFormat == .multicore {
            guard payload.count <= Int(UInt32.max) else {
                throw WireError.oversizedFrame(size: payload.count, limit: Int(UInt32.max))
            }
            if payload.count < Self.largePayload {
                try sendBuffers([WireFrame.frame(payload)])
                return
            }
        }
        let header = frameFormat.header(length: payload.count, checksum: WireFrame.checksum(payload))
        // A small message goes out in one write with its header, as CPython sends it.
        if payload.count < Self.largePayload { try sendBuffers([header + payload]) } else { try sendBuffers([header, payload]) }
    }

    /// Writes `buffers` one after the other, with no other sender in between.
    private func sendBuffers(_ buffers: [[UInt8]]) throws(ConnectionError) {
        let fd = try openDescriptor()
        let failure: Errno? = sendLock.withLock {
            let descriptor = FileDescriptor(rawValue: fd)
            for buffer in buffers {
                let failure = buffer.withUnsafeBytes { raw -> Errno? in
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
                if let failure { return failure }
            }
            return nil
        }
        switch failure {
        case nil: return
        case .brokenPipe?, .connectionReset?: throw .brokenPipe
        case .badFileDescriptor?: throw .closed
        case let error?: throw .system(operation: "write", errno: error.rawValue)
        }
    }

    // MARK: Receiving

    /// Receives the next message as a `T`. Corresponds to Python's `Connection.recv()`.
    /// - Throws: `ConnectionError.endOfFile` when the peer closed and nothing is left;
    ///   `.truncatedMessage`, `WireError` (corrupt or oversized message: the connection is then
    ///   broken) or a decoding error (the message is consumed, the next one can be received);
    ///   `.broken` after an earlier protocol error; `.writeOnly`, `.closed`, `.system`.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recv<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        guard readable else { throw ConnectionError.writeOnly }
        return try WireDecoder().decode(type, from: receiveFrame(maxLength: nil))
    }

    /// Receives the next message as raw bytes. Corresponds to Python's
    /// `Connection.recv_bytes(maxlength=None)`.
    /// - Throws: `ConnectionError.messageTooLong` as soon as the message's header shows it is
    ///   longer than `maxLength`, before its bytes are read; the connection is then broken, as
    ///   Python's is. And what `recv` throws.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recvBytes(maxLength: Int? = nil) throws -> [UInt8] {
        guard readable else { throw ConnectionError.writeOnly }
        return try receiveFrame(maxLength: maxLength)
    }

    /// Receives the next message into `buffer` from `offset`, and returns its length. The
    /// buffer is not grown: a message that does not fit is thrown whole, with
    /// `BufferTooShort`, and nothing of it is lost. Python: `Connection.recv_bytes_into(buf, offset=0)`.
    /// - Throws: `BufferTooShort`; `ConnectionError.invalidRange` for an offset outside the
    ///   buffer; what `recvBytes` throws.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recvBytes(into buffer: inout [UInt8], offset: Int = 0) throws -> Int {
        guard offset >= 0 else { throw ConnectionError.invalidRange("negative offset") }
        guard offset <= buffer.count else { throw ConnectionError.invalidRange("offset too large") }
        let message = try recvBytes()
        guard message.count <= buffer.count - offset else { throw BufferTooShort(message: message, room: buffer.count - offset) }
        buffer.replaceSubrange(offset ..< offset + message.count, with: message)
        return message.count
    }

    /// The next message if all of it has arrived, reading only what the descriptor holds now:
    /// nil until then, never blocking (a partial message is kept for the next call). What a
    /// pool's manager reads its workers with: one worker's large or unfinished reply never
    /// stops it.
    /// - Throws: what `recvBytes` throws.
    package func receiveAvailable() throws -> [UInt8]? {
        guard readable else { throw ConnectionError.writeOnly }
        let fd = try openDescriptor()
        return try receiveLock.withLock { try receiving { try nextFrame(fd, maxLength: nil, blocking: false) } }
    }

    private func receiveFrame(maxLength: Int?) throws -> [UInt8] {
        let fd = try openDescriptor()
        return try receiveLock.withLock { () throws -> [UInt8] in
            try receiving {
                // A blocking read returns bytes, end-of-file or an error, never "nothing yet".
                while true { if let payload = try nextFrame(fd, maxLength: maxLength, blocking: true) { return payload } }
            }
        }
    }

    /// Under `receiveLock`: runs a receive, refused once the connection is broken; a protocol
    /// error breaks it (the bytes behind a bad frame cannot be split into messages).
    private func receiving<R>(_ body: () throws -> R) throws -> R {
        if let brokenBy { throw ConnectionError.broken(cause: brokenBy) }
        do {
            return try body()
        } catch let error as WireError {
            breakReceiving(error)
            throw error
        } catch let error as ConnectionError {
            if case .messageTooLong = error { breakReceiving(error) }
            throw error
        }
    }

    private func breakReceiving(_ cause: some Error & CustomStringConvertible) {
        brokenBy = cause.description
        frames = WireFrameReader(limit: maxFrameSize, format: frameFormat) // what was buffered can never be received
        largePayload = nil
    }

    /// Under `receiveLock`: the next message, reading as it arrives; with `blocking` false,
    /// nil as soon as it would have to wait for more.
    private func nextFrame(_ fd: Int32, maxLength: Int?, blocking: Bool) throws -> [UInt8]? {
        while true {
            if let length = largePayload?.bytes.count, let maxLength, length > maxLength {
                throw ConnectionError.messageTooLong(length: length, maxLength: maxLength)
            }
            if largePayload == nil, let header = try frames.nextFrameHeader() {
                // Refused from its header: a message longer than wanted is never read into memory.
                if let maxLength, header.length > maxLength {
                    throw ConnectionError.messageTooLong(length: header.length, maxLength: maxLength)
                }
                if let payload = try frames.next() { return payload }
                if header.length >= Self.largePayload {
                    largePayload = LargePayload(header: header, arrived: frames.takeIncompletePayload())
                }
            }
            if largePayload != nil { return try continueLargePayload(fd, blocking: blocking) }
            // A stack buffer: no 64 KiB heap block zeroed for every connection.
            let count = try withUnsafeTemporaryAllocation(byteCount: 1 << 16, alignment: 16) { buffer throws(ConnectionError) -> Int? in
                let count = try readSome(fd, into: buffer.baseAddress!, count: buffer.count, blocking: blocking)
                if let count, count > 0 { frames.append(UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
                return count
            }
            guard let count else { return nil }
            if count == 0 {
                let pending = frames.pendingByteCount
                throw pending == 0 ? ConnectionError.endOfFile : ConnectionError.truncatedMessage(received: pending)
            }
        }
    }

    /// A large payload being read straight into its array (no intermediate buffer), and never
    /// past its end (the next frame stays in the pipe): across calls, when they do not block.
    private struct LargePayload {
        var bytes: [UInt8]
        var filled: Int
        /// Its frame's header: how long it was, and the checksum to check (Multicore's frames).
        let header: FrameHeader

        init(header: FrameHeader, arrived: ArraySlice<UInt8>) {
            let length = header.length
            // Counted whole from the start: every byte past `filled` is written by a read before
            // the array is handed out, and none is read before (it is dropped on failure).
            bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
                arrived.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
                initialized = length
            }
            filled = arrived.count
            self.header = header
        }
    }

    /// The large payload being read, if any. Under `receiveLock`.
    private var largePayload: LargePayload?

    /// Under `receiveLock`: reads more of `largePayload`; the payload once whole, or nil when
    /// `blocking` is false and the rest has not arrived.
    private func continueLargePayload(_ fd: Int32, blocking: Bool) throws -> [UInt8]? {
        guard var payload = largePayload.take() else { return nil }
        while payload.filled < payload.bytes.count {
            let filled = payload.filled
            let count: Int?
            do {
                count = try payload.bytes.withUnsafeMutableBytes { raw throws(ConnectionError) in
                    try readSome(fd, into: raw.baseAddress! + filled, count: raw.count - filled, blocking: blocking)
                }
            } catch {
                largePayload = payload // nothing was lost: the next receive goes on from here
                throw error
            }
            guard let count else {
                largePayload = payload
                return nil
            }
            if count == 0 { throw ConnectionError.truncatedMessage(received: payload.header.size + filled) }
            payload.filled += count
        }
        if let checksum = payload.header.checksum {
            let actual = WireFrame.checksum(payload.bytes)
            guard actual == checksum else { throw WireError.checksumMismatch(expected: checksum, actual: actual) }
        }
        return payload.bytes
    }

    /// Reads up to `count` bytes into `buffer`: how many came (0 at end-of-file), or nil when
    /// `blocking` is false and none are there now.
    private func readSome(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, blocking: Bool) throws(ConnectionError) -> Int? {
        // A pipe has no per-call nonblocking read: it is asked first (one reader at a time in
        // this process holds `receiveLock`).
        if !blocking, !isSocket, try !waitForInput(fd, until: .now) { return nil }
        let descriptor = FileDescriptor(rawValue: fd), bytes = UnsafeMutableRawBufferPointer(start: buffer, count: count)
        do throws(Errno) {
            return try blocking || !isSocket ? descriptor.readSome(into: bytes) : descriptor.receiveSome(into: bytes, nonBlocking: true)
        } catch .connectionReset {
            return 0
        } catch .resourceTemporarilyUnavailable where !blocking {
            return nil
        } catch {
            throw .system(operation: "read", errno: error.rawValue)
        }
    }

    /// Whether a message (or end-of-file) can be received without blocking, waiting up to
    /// `timeout` for one (nil: as long as it takes). Corresponds to Python's
    /// `Connection.poll(timeout=0.0)`.
    /// - Throws: `ConnectionError.broken` after a protocol error (nothing can be received, so
    ///   nothing is readable); `.writeOnly`, `.closed`, `.system`.
    @available(*, noasync, message: "blocks the thread until data arrives or the timeout passes")
    public func poll(timeout: Duration? = .zero) throws -> Bool {
        guard readable else { throw ConnectionError.writeOnly }
        let fd = try openDescriptor()
        let deadline = timeout.map { ContinuousClock.now + max($0, .zero) }
        return try receiveLock.withLock { () throws -> Bool in
            if let brokenBy { throw ConnectionError.broken(cause: brokenBy) }
            if frames.hasCompleteFrame { return true }
            return try waitForInput(fd, until: deadline)
        }
    }

    /// Whether `fd` has bytes (or end-of-file) to read, waiting until `deadline` (nil: forever).
    private func waitForInput(_ fd: Int32, until deadline: ContinuousClock.Instant?) throws(ConnectionError) -> Bool {
        let milliseconds: Int32
        if let deadline {
            let left = deadline - ContinuousClock.now
            let (seconds, attoseconds) = max(left, .zero).components
            milliseconds = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        } else {
            milliseconds = -1
        }
        do throws(Errno) {
            return try Poll.isReady(fd, milliseconds: milliseconds)
        } catch {
            throw .system(operation: "poll", errno: error.rawValue)
        }
    }
}
