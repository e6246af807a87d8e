import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// How a `Connection` receives: whole messages, blocking or not, and `poll`.
extension Connection {
    // MARK: Receiving

    /// Receives the next message as a `T`. Corresponds to Python's `Connection.recv()`.
    /// - Throws: `ConnectionError.endOfFile` when the peer closed and nothing is left;
    ///   `.truncatedMessage`, `WireError` (corrupt or oversized message: the connection is then
    ///   broken) or a decoding error (the message is consumed, the next one can be received);
    ///   `.broken` after an earlier protocol error; `.writeOnly`, `.closed`, `.system`.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recv<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        guard readable else { throw ConnectionError.writeOnly }
        // Decoded where it was received (no array of its own), after the lock is let go.
        let (bytes, range) = try receiveFrame(maxLength: nil)
        return try withSpareDecoder { decoder in try WireDecoder().decode(type, from: bytes, in: range, decoder: decoder) }
    }

    /// Receives the next message as raw bytes. Corresponds to Python's
    /// `Connection.recv_bytes(maxlength=None)`.
    /// - Throws: `ConnectionError.messageTooLong` as soon as the message's header shows it is
    ///   longer than `maxLength`, before its bytes are read; the connection is then broken, as
    ///   Python's is. And what `recv` throws.
    @available(*, noasync, message: "blocks the thread until a message arrives")
    public func recvBytes(maxLength: Int? = nil) throws -> [UInt8] {
        guard readable else { throw ConnectionError.writeOnly }
        return Self.payload(try receiveFrame(maxLength: maxLength))
    }

    /// `bytes[range]` as an array of its own (`bytes` itself when that is all of it: a large payload).
    private static func payload(_ received: (bytes: [UInt8], range: Range<Int>)) -> [UInt8] {
        received.range == received.bytes.indices ? received.bytes : Array(received.bytes[received.range])
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
        return try receiveLock.withLock { try receiving { try nextFrame(fd, maxLength: nil, blocking: false).map(Self.payload) } }
    }

    /// The next message's payload, `bytes[range]`.
    private func receiveFrame(maxLength: Int?) throws -> (bytes: [UInt8], range: Range<Int>) {
        let fd = try openDescriptor()
        return try receiveLock.withLock { () throws -> (bytes: [UInt8], range: Range<Int>) in
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

    /// Under `receiveLock`: the next message's payload, `bytes[range]`, reading as it arrives;
    /// with `blocking` false, nil as soon as it would have to wait for more.
    private func nextFrame(_ fd: Int32, maxLength: Int?, blocking: Bool) throws -> (bytes: [UInt8], range: Range<Int>)? {
        while true {
            if let length = largePayload?.bytes.count, let maxLength, length > maxLength {
                throw ConnectionError.messageTooLong(length: length, maxLength: maxLength)
            }
            if largePayload == nil, let header = try frames.nextFrameHeader() {
                // Refused from its header: a message longer than wanted is never read into memory.
                if let maxLength, header.length > maxLength {
                    throw ConnectionError.messageTooLong(length: header.length, maxLength: maxLength)
                }
                if let payload = try frames.nextInPlace() { return payload }
                if header.length >= Self.largePayloadSize {
                    largePayload = LargePayload(header: header, arrived: frames.takeIncompletePayload())
                }
            }
            if largePayload != nil { return try continueLargePayload(fd, blocking: blocking).map { ($0, $0.indices) } }
            // The connection's own read buffer, made at its first receive and kept: a temporary
            // allocation of this size is not on the stack here (the runtime refuses), so it was
            // a 64 KiB malloc and free per read, dearer than the rest of a small receive.
            let buffer = readBuffer()
            let count = try readSome(fd, into: buffer.baseAddress!, count: buffer.count, blocking: blocking)
            if let count, count > 0 { frames.append(UnsafeRawBufferPointer(rebasing: buffer[..<count])) }
            guard let count else { return nil }
            if count == 0 {
                let pending = frames.pendingByteCount
                throw pending == 0 ? ConnectionError.endOfFile : ConnectionError.truncatedMessage(received: pending)
            }
        }
    }

    /// A large payload being read straight into its array (no intermediate buffer), and never
    /// past its end (the next frame stays in the pipe): across calls, when they do not block.
    struct LargePayload {
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
            throw .system(operation: "read", errno: error)
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
            throw .system(operation: "poll", errno: error)
        }
    }
}
