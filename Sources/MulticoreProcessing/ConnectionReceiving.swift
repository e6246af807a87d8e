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
        // A large array of numbers is read straight into its own storage (ConnectionDirectArrays.swift).
        var direct: T?
        let (bytes, range) = try receiveFrame(maxLength: nil) { header, fd in
            direct = try self.receiveDirectly(T.self, header, from: fd)
            return direct != nil
        }
        if let direct { return direct }
        // Decoded where it was received (no array of its own), after the lock is let go.
        // A large message's own buffer serves the next (a payload in the buffer that small
        // messages share starts behind its frame's header, never at 0).
        defer { if range.lowerBound == 0, range.count >= Self.largePayloadSize { keepPayloadBuffer(bytes) } }
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

    /// The next message's payload, `bytes[range]`; or, when `direct` took a large message
    /// itself (it returned true), an empty one.
    /// - Parameter direct: asked, under `receiveLock`, when a large message's header has come.
    private func receiveFrame(
        maxLength: Int?, direct: ((FrameHeader, Int32) throws -> Bool)? = nil
    ) throws -> (bytes: [UInt8], range: Range<Int>) {
        let fd = try openDescriptor()
        return try receiveLock.withLock { () throws -> (bytes: [UInt8], range: Range<Int>) in
            try receiving {
                // A blocking read returns bytes, end-of-file or an error, never "nothing yet".
                while true {
                    if let payload = try nextFrame(fd, maxLength: maxLength, blocking: true, direct: direct) { return payload }
                }
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

    func breakReceiving(_ cause: some Error & CustomStringConvertible) {
        brokenBy = cause.description
        frames = WireFrameReader(limit: maxFrameSize, format: frameFormat) // what was buffered can never be received
        largePayload = nil
    }

    /// Under `receiveLock`: the next message's payload, `bytes[range]`, reading as it arrives;
    /// with `blocking` false, nil as soon as it would have to wait for more.
    private func nextFrame(
        _ fd: Int32, maxLength: Int?, blocking: Bool, direct: ((FrameHeader, Int32) throws -> Bool)? = nil
    ) throws -> (bytes: [UInt8], range: Range<Int>)? {
        while true {
            if let length = largePayload?.length, let maxLength, length > maxLength {
                throw ConnectionError.messageTooLong(length: length, maxLength: maxLength)
            }
            if largePayload == nil, let header = try frames.nextFrameHeader() {
                // Refused from its header: a message longer than wanted is never read into memory.
                if let maxLength, header.length > maxLength {
                    throw ConnectionError.messageTooLong(length: header.length, maxLength: maxLength)
                }
                if let payload = try frames.nextInPlace(header) { return payload }
                if header.length >= Self.largePayloadSize {
                    // Taken whole by `direct`, or begun by it (then `largePayload` holds what came).
                    if let direct, try direct(header, fd) { return ([], 0..<0) }
                    if largePayload == nil {
                        largePayload = LargePayload(header: header, arrived: frames.takeIncompletePayload(), reusing: keptPayload.take())
                    }
                }
            }
            if largePayload != nil { return try continueLargePayload(fd, blocking: blocking) }
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
    /// Its checksum is taken piece by piece as the pieces arrive, while they are in the cache.
    struct LargePayload {
        /// At least `length` bytes: a buffer kept from an earlier message may be longer.
        var bytes: [UInt8]
        let length: Int
        var filled: Int
        /// The checksum of the bytes filled so far (Multicore's frames).
        var checksum: UInt32 = 0
        /// Its frame's header: how long it was, and the checksum to check (Multicore's frames).
        let header: FrameHeader

        /// - Parameter kept: the buffer of an earlier large message, used again when it is large enough.
        init(header: FrameHeader, arrived: ArraySlice<UInt8>, reusing kept: [UInt8]?) {
            length = header.length
            if let kept, kept.count >= length {
                bytes = kept
            } else {
                // Counted whole from the start: every byte past `filled` is written by a read
                // before the array is handed out, and none is read before (it is dropped on failure).
                bytes = [UInt8](unsafeUninitializedCapacity: header.length) { _, initialized in initialized = header.length }
            }
            bytes.withUnsafeMutableBytes { target in
                arrived.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: target[..<$0.count]).copyMemory(from: $0) }
            }
            filled = arrived.count
            self.header = header
            if header.isChecked { checksum = arrived.withUnsafeBytes { WireFrame.checksum($0, continuing: 0) } }
        }
    }

    /// Under `receiveLock`: reads more of `largePayload`; the payload once whole, or nil when
    /// `blocking` is false and the rest has not arrived.
    private func continueLargePayload(_ fd: Int32, blocking: Bool) throws -> (bytes: [UInt8], range: Range<Int>)? {
        guard var payload = largePayload.take() else { return nil }
        let checked = payload.header.isChecked
        while payload.filled < payload.length {
            let (filled, length) = (payload.filled, payload.length)
            let count: Int?
            do {
                count = try payload.bytes.withUnsafeMutableBytes { raw throws(ConnectionError) in
                    try readSome(fd, into: raw.baseAddress! + filled, count: length - filled, blocking: blocking)
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
            if checked {
                payload.checksum = payload.bytes.withUnsafeBytes {
                    WireFrame.checksum(UnsafeRawBufferPointer(rebasing: $0[filled ..< filled + count]), continuing: payload.checksum)
                }
            }
            payload.filled += count
        }
        var expected = payload.header.checksum
        if payload.header.trailerSize > 0 {
            do {
                expected = try receiveTrailer(fd, blocking: blocking, received: payload.header.size + payload.length)
            } catch {
                largePayload = payload
                throw error
            }
            guard expected != nil else {
                largePayload = payload
                return nil
            }
        }
        if let expected, payload.checksum != expected {
            throw WireError.checksumMismatch(expected: expected, actual: payload.checksum)
        }
        return (payload.bytes, 0 ..< payload.length)
    }

    /// Under `receiveLock`, once a large payload (`received` bytes of its frame) has been read:
    /// the checksum in its trailer, read as it comes (with whatever follows it, kept for the
    /// next frames); nil when `blocking` is false and not all of it has come.
    func receiveTrailer(_ fd: Int32, blocking: Bool, received: Int) throws -> UInt32? {
        while true {
            if let trailer = frames.takeTrailer() { return trailer }
            let buffer = readBuffer()
            guard let count = try readSome(fd, into: buffer.baseAddress!, count: buffer.count, blocking: blocking) else { return nil }
            if count == 0 { throw ConnectionError.truncatedMessage(received: received + frames.pendingByteCount) }
            frames.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Keeps `bytes`, a large message's buffer once decoded, for the next large message (whose
    /// pages are then already there: a new buffer of megabytes costs a page fault per 4 KiB,
    /// more than the copy into it), unless it is longer than `keptPayloadLimit`.
    func keepPayloadBuffer(_ bytes: [UInt8]) {
        guard bytes.count <= Self.keptPayloadLimit else { return }
        receiveLock.withLock { if keptPayload == nil || keptPayload!.count < bytes.count { keptPayload = bytes } }
    }

    /// The longest large-message buffer a connection keeps: as much as its encoder keeps.
    static var keptPayloadLimit: Int { _WireEncoder.keptCapacity }

    /// Reads up to `count` bytes into `buffer`: how many came (0 at end-of-file), or nil when
    /// `blocking` is false and none are there now.
    func readSome(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, blocking: Bool) throws(ConnectionError) -> Int? {
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

    /// Whether a whole message is buffered here already: `recv` then returns it without a
    /// system call (a loop that polls the descriptor itself looks here first).
    package var hasBufferedMessage: Bool {
        receiveLock.withLock { frames.hasCompleteFrame }
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
