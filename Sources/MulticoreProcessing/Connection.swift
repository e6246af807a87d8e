import CMulticore
import MulticoreThreading
#if canImport(Glibc)
import Glibc
#endif

/// One end of a pipe between threads or processes: sends and receives `Codable` values and raw
/// byte messages, each as one checksummed frame. Corresponds to Python's
/// `multiprocessing.connection.Connection`.
///
/// What can be sent is checked by the compiler (`Encodable`), not discovered at run time as
/// with pickle. A truncated, oversized or corrupt message throws on the receiving end, and only
/// there; the sending side never blocks on it.
///
/// One thread at a time may send, and one at a time may receive (a lock serializes each side).
/// Creating a connection makes the process ignore SIGPIPE, as CPython does, so that writing to
/// a dead peer throws `ConnectionError.brokenPipe` instead of killing the process.
/// - Warning: do not `close` a connection while another thread is blocked receiving on it.
public final class Connection: @unchecked Sendable { // the descriptor is guarded by `stateLock`, the receive buffer by `receiveLock`
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
    private var scratch: [UInt8] = []

    private static let sigpipeIgnored: Void = mc_ignore_sigpipe()

    /// Wraps a descriptor this connection now owns (and closes).
    /// - Parameter maxMessageSize: the longest message it accepts (default 1 GiB).
    init(descriptor: Int32, readable: Bool, writable: Bool, isSocket: Bool,
         maxMessageSize: Int = WireFrame.defaultLimit) {
        _ = Self.sigpipeIgnored
        self.descriptor = descriptor
        self.readable = readable
        self.writable = writable
        self.isSocket = isSocket
        self.frames = WireFrameReader(limit: maxMessageSize)
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// A pair of connected ends. With `duplex` (the default) both ends send and receive (a Unix
    /// socket pair); without, the first end only receives and the second only sends (a pipe).
    /// Corresponds to Python's `multiprocessing.Pipe(duplex=True)`.
    /// - Throws: `ConnectionError.system` when the system refuses descriptors.
    public static func pipe(duplex: Bool = true) throws(ConnectionError) -> (Connection, Connection) {
        var fds: [Int32] = [-1, -1]
        let result = duplex ? mc_socketpair_cloexec(&fds) : mc_pipe_cloexec(&fds)
        guard result == 0 else { throw .system(operation: duplex ? "socketpair" : "pipe2", errno: result) }
        if duplex {
            return (Connection(descriptor: fds[0], readable: true, writable: true, isSocket: true),
                    Connection(descriptor: fds[1], readable: true, writable: true, isSocket: true))
        }
        return (Connection(descriptor: fds[0], readable: true, writable: false, isSocket: false),
                Connection(descriptor: fds[1], readable: false, writable: true, isSocket: false))
    }

    /// The file descriptor, or -1 once closed. Python: `Connection.fileno()`.
    public var fileDescriptor: Int32 { stateLock.withLock { descriptor } }

    /// Whether `close` was called. Python: `Connection.closed`.
    public var isClosed: Bool { fileDescriptor < 0 }

    /// Closes this end; the peer then receives end-of-file. Calling it again does nothing.
    /// Corresponds to Python's `Connection.close()`.
    public func close() {
        stateLock.withLock {
            if descriptor >= 0 { Glibc.close(descriptor) }
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
        try sendFrame(WireFrame.frame(WireEncoder().encode(value)))
    }

    /// Sends `bytes` as one message. Corresponds to Python's `Connection.send_bytes(buf)`.
    /// - Throws: `ConnectionError.readOnly`, `.closed`, `.brokenPipe`, `.system`;
    ///   `WireError.oversizedFrame` for 4 GiB or more.
    @available(*, noasync, message: "blocks the thread while the pipe is full")
    public func sendBytes(_ bytes: [UInt8]) throws {
        guard writable else { throw ConnectionError.readOnly }
        try sendFrame(WireFrame.frame(bytes))
    }

    private func sendFrame(_ frame: [UInt8]) throws(ConnectionError) {
        let fd = try openDescriptor()
        let failure: Int32 = sendLock.withLock {
            frame.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let pointer = raw.baseAddress! + offset
                    let written = isSocket
                        ? Glibc.send(fd, pointer, raw.count - offset, Int32(MSG_NOSIGNAL))
                        : Glibc.write(fd, pointer, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += written
                }
                return 0
            }
        }
        switch failure {
        case 0: return
        case EPIPE, ECONNRESET: throw .brokenPipe
        case EBADF: throw .closed
        default: throw .system(operation: "write", errno: failure)
        }
    }

    // MARK: Receiving

    /// Receives the next message as a `T`. Corresponds to Python's `Connection.recv()`.
    /// - Throws: `ConnectionError.endOfFile` when the peer closed and nothing is left;
    ///   `.truncatedMessage`, `WireError` (corrupt or oversized message) or a decoding error;
    ///   `.writeOnly`, `.closed`, `.system`.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recv<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        guard readable else { throw ConnectionError.writeOnly }
        return try WireDecoder().decode(type, from: receiveFrame())
    }

    /// Receives the next message as raw bytes. Corresponds to Python's
    /// `Connection.recv_bytes(maxlength=None)`.
    /// - Throws: `ConnectionError.messageTooLong` (the message is consumed) and what `recv` throws.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recvBytes(maxLength: Int? = nil) throws -> [UInt8] {
        guard readable else { throw ConnectionError.writeOnly }
        let payload = try receiveFrame()
        if let maxLength, payload.count > maxLength {
            throw ConnectionError.messageTooLong(length: payload.count, maxLength: maxLength)
        }
        return payload
    }

    private func receiveFrame() throws -> [UInt8] {
        let fd = try openDescriptor()
        return try receiveLock.withLock { () throws -> [UInt8] in
            while true {
                if let payload = try frames.next() { return payload }
                if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: 1 << 16) }
                let count = scratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count == 0 {
                    let pending = frames.pendingByteCount
                    throw pending == 0 ? ConnectionError.endOfFile : ConnectionError.truncatedMessage(received: pending)
                }
                if count < 0 {
                    let error = errno
                    if error == EINTR { continue }
                    if error == ECONNRESET { throw ConnectionError.endOfFile }
                    throw ConnectionError.system(operation: "read", errno: error)
                }
                frames.append(scratch[0..<count])
            }
        }
    }

    /// Whether a message (or end-of-file) can be received without blocking, waiting up to
    /// `timeout` for one (nil: as long as it takes). Corresponds to Python's
    /// `Connection.poll(timeout=0.0)`.
    /// - Throws: `ConnectionError.writeOnly`, `.closed`, `.system`; `WireError` for a corrupt
    ///   frame header already received.
    @available(*, noasync, message: "blocks the thread until data arrives or the timeout passes")
    public func poll(timeout: Duration? = .zero) throws -> Bool {
        guard readable else { throw ConnectionError.writeOnly }
        let fd = try openDescriptor()
        let deadline = timeout.map { ContinuousClock.now + max($0, .zero) }
        return try receiveLock.withLock { () throws -> Bool in
            if frames.hasCompleteFrame { return true }
            while true {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let milliseconds: Int32
                if let deadline {
                    let left = deadline - ContinuousClock.now
                    let (seconds, attoseconds) = max(left, .zero).components
                    milliseconds = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
                } else {
                    milliseconds = -1
                }
                let ready = Glibc.poll(&entry, 1, milliseconds)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw ConnectionError.system(operation: "poll", errno: errno)
                }
                return ready > 0
            }
        }
    }
}
