import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreThreading
import SystemPackage
@_exported import MulticoreTestSupport

struct Message: Codable, Equatable, Sendable {
    var id: Int
    var body: String
    var values: [Double]
}

@Suite(.timeLimit(.minutes(5))) struct ConnectionTests {
    @Test(arguments: [true, false])
    func valuesAndBytesArriveInOrder(duplex: Bool) throws {
        let (receiver, sender) = try Connection.pipe(duplex: duplex)
        #expect(receiver.readable && sender.writable)
        #expect(receiver.writable == duplex && sender.readable == duplex)
        try sender.send(Message(id: 1, body: "first", values: [1, 2]))
        try sender.sendBytes([9, 8, 7])
        try sender.send("third")
        try sender.send([1: "one"])
        #expect(try receiver.recv(Message.self) == Message(id: 1, body: "first", values: [1, 2]))
        #expect(try receiver.recvBytes() == [9, 8, 7])
        #expect(try receiver.recv(String.self) == "third")
        #expect(try receiver.recv([Int: String].self) == [1: "one"])
    }

    @Test func duplexEndsTalkBothWays() throws {
        let (a, b) = try Connection.pipe()
        try a.send(1)
        try b.send(2)
        #expect(try b.recv(Int.self) == 1)
        #expect(try a.recv(Int.self) == 2)
    }

    /// A pool's channel lets a chunk of megabytes be written before the worker reads it.
    @Test func aSocketEndCanHoldMoreUnreadBytes() throws {
        func sendBuffer(_ connection: Connection) -> Int32 {
            var size: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(connection.fileDescriptor, SOL_SOCKET, SO_SNDBUF, &size, &length)
            return size
        }
        let (a, b) = try Connection.pipe()
        let before = sendBuffer(a)
        a.allowUnreadBytes(2 << 20)
        // The kernel caps the request at net.core.wmem_max, then doubles it.
        let limit = (try? String(contentsOfProcFile: "/proc/sys/net/core/wmem_max")).flatMap { Int32($0) } ?? before / 2
        #expect(sendBuffer(a) == 2 * min(2 << 20, limit), "was \(before)")
        #expect(sendBuffer(b) == before, "the other end keeps its own")
        let (reader, writer) = try Connection.pipe(duplex: false)
        writer.allowUnreadBytes(2 << 20) // a pipe's capacity grows instead (best effort)
        try writer.sendBytes([1])
        #expect(try reader.recvBytes() == [1])
    }

    @Test func wrongDirectionOnAOneWayPipeThrows() throws {
        let (reader, writer) = try Connection.pipe(duplex: false)
        #expect(throws: ConnectionError.readOnly) { try reader.send(1) }
        #expect(throws: ConnectionError.readOnly) { try reader.sendBytes([1]) }
        #expect(throws: ConnectionError.writeOnly) { try writer.recv(Int.self) }
        #expect(throws: ConnectionError.writeOnly) { try writer.recvBytes() }
        #expect(throws: ConnectionError.writeOnly) { try writer.poll() }
    }

    @Test(arguments: [true, false])
    func receivingAfterThePeerClosedThrowsEndOfFile(duplex: Bool) throws {
        let (receiver, sender) = try Connection.pipe(duplex: duplex)
        try sender.send(42)
        sender.close()
        #expect(try receiver.poll(timeout: testDeadline), "end-of-file counts as readable, as in Python")
        #expect(try receiver.recv(Int.self) == 42, "what was sent before the close still arrives")
        #expect(throws: ConnectionError.endOfFile) { try receiver.recv(Int.self) }
    }

    @Test(arguments: [true, false])
    func sendingToAClosedPeerThrowsBrokenPipe(duplex: Bool) throws {
        let (receiver, sender) = try Connection.pipe(duplex: duplex)
        receiver.close()
        #expect(throws: ConnectionError.brokenPipe) { try sender.send("nobody listens") }
    }

    @Test func closedEndRefusesEverything() throws {
        let (a, b) = try Connection.pipe()
        a.close()
        a.close()
        #expect(a.isClosed && a.fileDescriptor == -1)
        #expect(throws: ConnectionError.closed) { try a.send(1) }
        #expect(throws: ConnectionError.closed) { try a.recv(Int.self) }
        #expect(throws: ConnectionError.closed) { try a.poll() }
        #expect(!b.isClosed)
    }

    @Test func pollWaitsForDataWithATimeout() throws {
        let (a, b) = try Connection.pipe()
        #expect(try !a.poll())
        #expect(try !a.poll(timeout: .milliseconds(20)))
        let sender = JoinableThread(daemon: true) { try b.send("late") }
        try sender.start()
        #expect(try a.poll(timeout: testDeadline))
        #expect(try a.recv(String.self) == "late")
        #expect(try sender.join(timeout: testDeadline))
    }

    @Test func recvBytesEnforcesMaxLength() throws {
        let (a, b) = try Connection.pipe()
        try b.sendBytes(Array(repeating: 1, count: 10))
        #expect(throws: ConnectionError.messageTooLong(length: 10, maxLength: 4)) { try a.recvBytes(maxLength: 4) }
    }

    /// `recvBytes(maxLength:)` refuses a message from its header, without reading (or
    /// allocating) its body: here the body never comes, and the call still returns. The
    /// connection is then broken, as Python's is.
    @Test func recvBytesRefusesALongMessageFromItsHeaderAlone() throws {
        let (a, b) = try Connection.pipe()
        var bytes = [UInt8](repeating: 0, count: WireFrame.headerSize)
        bytes.withUnsafeMutableBytes { WireFrame.writeHeader(length: 200_000_000, checksum: 0, in: $0) }
        bytes += [1, 2, 3] // the first bytes of the body, no more
        _ = bytes.withUnsafeBytes { write(b.fileDescriptor, $0.baseAddress, $0.count) }
        let reader = ValueThread(daemon: true) { () throws -> [UInt8] in try a.recvBytes(maxLength: 100) }
        try reader.start()
        let returned = try reader.join(timeout: testDeadline)
        b.close() // a reader waiting for the 200 MB (here or below) gets end-of-file instead
        #expect(returned, "recvBytes(maxLength: 100) waited for the body of a 200 MB message")
        #expect(try reader.join(timeout: testDeadline))
        #expect(throws: ConnectionError.messageTooLong(length: 200_000_000, maxLength: 100)) { try reader.value() }
        #expect(throws: ConnectionError.broken(cause: ConnectionError.messageTooLong(length: 200_000_000, maxLength: 100).description)) {
            try a.recvBytes()
        }
        #expect(throws: ConnectionError.broken(cause: "bad message length: 200000000 bytes exceeds 100")) { try a.poll() }
    }

    /// After a protocol error nothing more can be received, and the connection says so: `poll`
    /// agrees with `recv` (a poll/recv loop would otherwise spin on "readable" forever), and the
    /// bytes behind the bad frame are never taken for messages. Sending still works.
    @Test func aCorruptFrameBreaksTheConnectionAndPollAgreesWithRecv() throws {
        let (a, b) = try Connection.pipe()
        var bytes = try WireFrame.frame(WireEncoder().encode("hello"))
        bytes[WireFrame.headerSize] ^= 0xFF
        bytes += try WireFrame.frame(WireEncoder().encode("a valid frame behind it"))
        _ = bytes.withUnsafeBytes { write(b.fileDescriptor, $0.baseAddress, $0.count) }
        #expect(try a.poll(timeout: testDeadline), "the bad frame is there to be received")
        #expect { try a.recv(String.self) } throws: { error in
            if case WireError.checksumMismatch = error { return true }
            return false
        }
        let broken: @Sendable (any Error) -> Bool = { error in
            guard case ConnectionError.broken(let cause) = error else { return false }
            return cause.contains("checksum mismatch")
        }
        for _ in 0..<3 { // what a poll/recv loop sees: the same answer every time, never "readable"
            #expect(performing: { try a.poll() }, throws: broken)
            #expect(performing: { try a.poll(timeout: .milliseconds(1)) }, throws: broken)
            #expect(performing: { try a.recv(String.self) }, throws: broken)
            #expect(performing: { try a.recvBytes() }, throws: broken)
        }
        try a.send("still sending")
        #expect(try b.recv(String.self) == "still sending")
        #expect(ConnectionError.broken(cause: "x").description.contains("broken by an earlier protocol error (x)"))
    }

    /// What a pool's manager reads its workers with: it takes what has arrived and never waits
    /// for the rest of a message, however long the message says it is.
    @Test(arguments: [true, false])
    func receiveAvailableNeverWaitsForTheRestOfAMessage(duplex: Bool) throws {
        let (a, b) = try Connection.pipe(duplex: duplex)
        func write(_ bytes: ArraySlice<UInt8>) {
            _ = bytes.withUnsafeBytes { Glibc.write(b.fileDescriptor, $0.baseAddress, $0.count) }
        }
        #expect(try a.receiveAvailable() == nil)
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
        let frame = try WireFrame.frame(payload)
        write(frame[..<50_000])
        #expect(try a.receiveAvailable() == nil)
        #expect(try a.receiveAvailable() == nil)
        write(frame[50_000...])
        write(try WireFrame.frame([1])[...])
        #expect(try a.receiveAvailable() == payload)
        #expect(try a.receiveAvailable() == [1])
        #expect(try a.receiveAvailable() == nil)
        write(frame[..<50_000])
        #expect(try a.receiveAvailable() == nil)
        b.close()
        #expect(throws: ConnectionError.truncatedMessage(received: 50_000)) { try a.receiveAvailable() }
        #expect(throws: ConnectionError.endOfFile) { try a.receiveAvailable() }
    }

    /// Each end of a pipe refuses messages longer than its `maxFrameSize` from their header
    /// (`ConnectionPassingTests` checks that a child keeps it), and a limit no frame can have
    /// is refused.
    @Test func maxFrameSizeIsChosenPerPipe() throws {
        let (a, b) = try Connection.pipe(maxFrameSize: 16)
        #expect(a.maxFrameSize == 16 && b.maxFrameSize == 16)
        #expect(try Connection.pipe().0.maxFrameSize == WireFrame.defaultLimit)
        try b.sendBytes(Array(repeating: 7, count: 16))
        #expect(try a.recvBytes() == Array(repeating: 7, count: 16))
        try b.sendBytes(Array(repeating: 7, count: 17))
        #expect(throws: WireError.oversizedFrame(size: 17, limit: 16)) { try a.recvBytes() }
        #expect(throws: ConnectionError.broken(cause: WireError.oversizedFrame(size: 17, limit: 16).description)) { try a.poll() }
        try a.sendBytes(Array(repeating: 7, count: 17))
        #expect(throws: WireError.oversizedFrame(size: 17, limit: 16)) { try b.recvBytes() }

        let (reader, writer) = try Connection.pipe(duplex: false, maxFrameSize: 0)
        try writer.sendBytes([])
        #expect(try reader.recvBytes() == [])
        #expect(throws: ConnectionError.invalidMaxFrameSize(-1)) { try Connection.pipe(maxFrameSize: -1) }
        #expect(throws: ConnectionError.invalidMaxFrameSize(1 << 32)) { try Connection.pipe(duplex: false, maxFrameSize: 1 << 32) }
        #expect(ConnectionError.invalidMaxFrameSize(-1).description == "maxFrameSize must be from 0 to 4294967295 bytes, not -1")
    }

    @Test func largeMessagesCrossWhileTheReaderDrains() throws {
        let (a, b) = try Connection.pipe()
        let values = (0..<1_000_000).map { Double($0) }
        let sender = JoinableThread(daemon: true) { try b.send(values) }
        try sender.start()
        #expect(try a.recv([Double].self) == values)
        #expect(try sender.join(timeout: testDeadline))
    }

    @Test func valueThatCannotBeEncodedIsNeverHalfSent() throws {
        struct Refuses: Encodable {
            struct Nope: Error {}
            func encode(to encoder: any Encoder) throws { throw Nope() }
        }
        let (a, b) = try Connection.pipe()
        #expect(throws: Refuses.Nope.self) { try b.send(Refuses()) }
        try b.send("after")
        #expect(try a.recv(String.self) == "after", "nothing of the failed send reached the pipe")
    }

    @Test func corruptOrTruncatedInputFailsOnlyTheReceiver() throws {
        // Raw bytes written behind the connection's back: a frame with a bad checksum.
        let (a, b) = try Connection.pipe()
        var frame = try WireFrame.frame(WireEncoder().encode("hello"))
        frame[WireFrame.headerSize] ^= 0xFF
        _ = frame.withUnsafeBytes { write(b.fileDescriptor, $0.baseAddress, $0.count) }
        #expect { try a.recv(String.self) } throws: { error in
            if case WireError.checksumMismatch = error { return true }
            return false
        }
        try a.send("the other side is unharmed")
        #expect(try b.recv(String.self) == "the other side is unharmed")

        // Half a frame, then the peer goes away.
        let (c, d) = try Connection.pipe()
        let whole = try WireFrame.frame(WireEncoder().encode("a longer message"))
        _ = whole.withUnsafeBytes { write(d.fileDescriptor, $0.baseAddress, 11) }
        d.close()
        #expect(throws: ConnectionError.truncatedMessage(received: 11)) { try c.recv(String.self) }

        // A header announcing more than the receiver accepts.
        let (e, f) = try Connection.pipe()
        let receiver = Connection(descriptor: dup(e.fileDescriptor), readable: true, writable: false,
                                  isSocket: true, maxFrameSize: 16)
        try f.sendBytes(Array(repeating: 0, count: 17))
        #expect(throws: WireError.oversizedFrame(size: 17, limit: 16)) { try receiver.recvBytes() }
    }

    @Test(arguments: [1, 2, 4, 8])
    func concurrentSendersNeverInterleaveMessages(threads: Int) throws {
        let (a, b) = try Connection.pipe()
        let perThread = 300
        let senders = (0..<threads).map { index in
            JoinableThread(daemon: true) {
                for n in 0..<perThread { try b.send(Message(id: index, body: String(n), values: [Double(n)])) }
            }
        }
        for sender in senders { try sender.start() }
        var next = [Int](repeating: 0, count: threads)
        for _ in 0..<(threads * perThread) {
            let message = try a.recv(Message.self)
            #expect(message.body == String(next[message.id]))
            next[message.id] += 1
        }
        for sender in senders { #expect(try sender.join(timeout: testDeadline)) }
        #expect(next == [Int](repeating: perThread, count: threads))
    }
}

/// Python's `multiprocessing.connection.wait` and `Process.sentinel` (issue 8).
@Suite(.timeLimit(.minutes(5))) struct WaitTests {
    @Test func waitReturnsTheReadyConnectionsAndSentinels() throws {
        let (a, b) = try Connection.pipe()
        let (c, d) = try Connection.pipe()
        let child = ChildProcess(task: Sleeper())
        #expect(throws: ProcessError.notStarted) { try child.sentinel }
        try child.start()
        let sentinel = try child.sentinel
        // Nothing ready: the timeout passes and nothing is returned.
        #expect(try Connection.wait([a, c], timeout: .milliseconds(10)).isEmpty)
        try d.send("hello")
        let ready = try Connection.wait([a as any Waitable, c, sentinel], timeout: testDeadline)
        #expect(ready.count == 1 && (ready.first as? Connection) === c)
        #expect(try c.recv(String.self) == "hello")
        // The child's end makes its sentinel ready; it stays ready after the join.
        try child.kill()
        #expect(try Connection.wait([sentinel], timeout: testDeadline) == [sentinel])
        #expect(try child.join(timeout: testDeadline))
        #expect(try Connection.wait([a as any Waitable, sentinel], timeout: testDeadline).compactMap { $0 as? Int32 } == [sentinel])
        // End-of-file counts as ready, as in Python.
        b.close()
        #expect(try Connection.wait([a, c], timeout: testDeadline).map { $0 === a } == [true])
        try child.close()
        #expect(throws: ProcessError.closed) { try child.sentinel }
        a.close()
        #expect(throws: ConnectionError.closed) { try Connection.wait([a], timeout: .zero) }
        #expect(throws: ThreadingError.timeoutTooLarge) { try Connection.wait([c], timeout: Threading.timeoutMax + .seconds(1)) }
    }
}

/// Python's `send_bytes(buf, offset, size)` and `recv_bytes_into(buf, offset)` (issue 8).
/// System errors carry swift-system's `Errno`, and say it in words and number.
@Suite struct SystemErrorTests {
    @Test func systemErrorsCarryTheirErrnoAndSayIt() {
        let error = ConnectionError.system(operation: "socketpair", errno: .tooManyOpenFiles)
        #expect(error.description == "socketpair failed: Too many open files (errno 24)")
        guard case .system(_, let errno) = error else { return }
        #expect(errno == .tooManyOpenFiles && errno.rawValue == EMFILE)
        #expect(ProcessError.spawnFailed(errno: .resourceTemporarilyUnavailable).description.hasSuffix("(Resource temporarily unavailable, errno 11)"))
        #expect(SharedMemoryError.system(operation: "mmap", errno: .noMemory).description == "mmap failed: Cannot allocate memory (errno 12)")
    }
}

@Suite struct ByteRangeTests {
    @Test func aSliceIsSentAndAMessageIsReceivedIntoABuffer() throws {
        let (a, b) = try Connection.pipe()
        try a.sendBytes(Array("hello world".utf8), offset: 6)
        try a.sendBytes(Array("hello world".utf8), offset: 0, size: 5)
        var buffer = [UInt8](repeating: 0, count: 8)
        #expect(try b.recvBytes(into: &buffer, offset: 2) == 5)
        #expect(buffer == [0, 0] + Array("world".utf8) + [0])
        // Too short: thrown whole, nothing lost, and the connection goes on.
        do {
            _ = try b.recvBytes(into: &buffer, offset: 4)
            Issue.record("a 5-byte message fit in 4 bytes")
        } catch let error as BufferTooShort {
            #expect(error.message == Array("hello".utf8) && error.room == 4)
        }
        try a.sendBytes([1])
        #expect(try b.recvBytes() == [1])
        #expect(throws: ConnectionError.invalidRange("offset is negative")) { try a.sendBytes([1, 2], offset: -1) }
        #expect(throws: ConnectionError.invalidRange("buffer length < offset")) { try a.sendBytes([1, 2], offset: 3) }
        #expect(throws: ConnectionError.invalidRange("size is negative")) { try a.sendBytes([1, 2], offset: 0, size: -1) }
        #expect(throws: ConnectionError.invalidRange("buffer length < offset + size")) { try a.sendBytes([1, 2], offset: 1, size: 2) }
        #expect(throws: ConnectionError.invalidRange("offset too large")) { try b.recvBytes(into: &buffer, offset: 9) }
    }
}

extension String {
    /// The first line of a small file of /proc.
    init(contentsOfProcFile path: String) throws {
        guard let file = fopen(path, "r") else { throw Errno(rawValue: errno) }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { throw Errno.ioError }
        self = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
