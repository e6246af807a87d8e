import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing
import MulticoreThreading

/// Large arrays of numbers are received straight into the array `recv` returns: what arrives
/// must be exactly what a decoded copy would have been, and every way such a message can be
/// wrong must still be found.
@Suite(.timeLimit(.minutes(2))) struct ConnectionDirectArrayTests {
    /// Writes `bytes` to `connection`'s descriptor from another thread (a large frame fills the
    /// socket before it is read), and returns the thread to join.
    private func writeRaw(_ bytes: [UInt8], to connection: Connection, thenClose: Bool = false) throws -> JoinableThread {
        let writer = JoinableThread(daemon: true) {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(connection.fileDescriptor, $0.baseAddress, $0.count) }
                guard written > 0 else { break }
                offset += written
            }
            if thenClose { connection.close() }
        }
        try writer.start()
        return writer
    }

    /// The frame of an array message whose count says `count` and whose elements are `bytes`.
    private func arrayFrame(count: UInt64, elementBytes: [UInt8]) throws -> [UInt8] {
        try WireFrame.frame(withUnsafeBytes(of: count.littleEndian) { Array($0) } + elementBytes)
    }

    @Test func largeArraysOfEveryNumberTypeArriveWhole() throws {
        let (a, b) = try Connection.pipe()
        let doubles = (0..<300_000).map { Double($0) / 7 }
        let ints: [Int] = (0..<100_000).map { $0 &* -7_919 }
        let int32s = (0..<70_000).map { Int32(truncatingIfNeeded: $0 &* 31) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let floats = (0..<50_000).map { Float($0) * 0.25 }
        let sender = JoinableThread(daemon: true) {
            try a.send(doubles)
            try a.send(ints)
            try a.send(int32s)
            try a.send(bytes)
            try a.send(floats)
            try a.send("after them")
        }
        try sender.start()
        #expect(try b.recv([Double].self) == doubles)
        #expect(try b.recv([Int].self) == ints)
        #expect(try b.recv([Int32].self) == int32s)
        #expect(try b.recv([UInt8].self) == bytes)
        #expect(try b.recv([Float].self) == floats)
        #expect(try b.recv(String.self) == "after them")
        #expect(try sender.join(timeout: testDeadline))
    }

    /// Each array received is its own: nothing of one is shared with the next.
    @Test func eachReceivedArrayIsItsOwn() throws {
        let (a, b) = try Connection.pipe()
        let values = (0..<200_000).map { Double($0) }
        let sender = JoinableThread(daemon: true) { for _ in 0..<3 { try a.send(values) } }
        try sender.start()
        var first = try b.recv([Double].self)
        first[0] = -1
        first[199_999] = -1
        let second = try b.recv([Double].self), third = try b.recv([Double].self)
        #expect(second == values)
        #expect(third == values)
        #expect(first[1] == 1 && first[0] == -1)
        #expect(try sender.join(timeout: testDeadline))
    }

    /// A corrupt byte anywhere (the count, the first or the last element) is found, and breaks
    /// the receiving side.
    @Test func aCorruptByteInALargeArrayIsFound() throws {
        let elementBytes = (0..<100_000).flatMap { withUnsafeBytes(of: Double($0)) { Array($0) } }
        for offset in [0, 9, 8 + elementBytes.count - 1] {
            let (c, d) = try Connection.pipe()
            var frame = try arrayFrame(count: 100_000, elementBytes: elementBytes)
            frame[WireFrame.headerSize + offset] ^= 0x20
            let writer = try writeRaw(frame, to: d)
            #expect(throws: WireError.self) { try c.recv([Double].self) }
            #expect { try c.poll() } throws: { error in
                if case ConnectionError.broken = error { return true }
                return false
            }
            #expect(try writer.join(timeout: testDeadline))
        }
    }

    /// A count that disagrees with the message's length is not trusted: the message fails to
    /// decode, and the next one is received.
    @Test func aCountThatDisagreesWithTheLengthFailsToDecode() throws {
        let (c, d) = try Connection.pipe()
        let elementBytes = [UInt8](repeating: 1, count: 100_000)
        var stream = try arrayFrame(count: 10, elementBytes: elementBytes) // too few for the bytes
        stream += try arrayFrame(count: UInt64(1) << 60, elementBytes: elementBytes) // too many
        stream += try WireFrame.frame(WireEncoder().encode([1.5, 2.5]))
        let writer = try writeRaw(stream, to: d)
        #expect(throws: WireError.self) { try c.recv([Double].self) }
        #expect(throws: WireError.self) { try c.recv([Double].self) }
        #expect(try c.recv([Double].self) == [1.5, 2.5])
        #expect(try writer.join(timeout: testDeadline))
    }

    /// A peer that closes in the middle of a large array: the receiver learns how much came.
    @Test func aTruncatedLargeArrayIsReported() throws {
        let (c, d) = try Connection.pipe()
        let frame = try arrayFrame(count: 50_000, elementBytes: [UInt8](repeating: 3, count: 400_000))
        let writer = try writeRaw(Array(frame[..<300_000]), to: d, thenClose: true)
        #expect(throws: ConnectionError.truncatedMessage(received: 300_000)) { try c.recv([Int].self) }
        #expect(try writer.join(timeout: testDeadline))
    }

    /// A large array whose first bytes a non-blocking receive already took is finished by `recv`.
    @Test func aLargeArrayBegunByANonBlockingReceiveIsFinishedByRecv() throws {
        let (c, d) = try Connection.pipe()
        let values: [Int] = (0..<100_000).map { $0 * 3 }
        let frame = try WireFrame.frame(WireEncoder().encode(values))
        let start = try writeRaw(Array(frame[..<(WireFrame.headerSize + 4)]), to: d)
        #expect(try start.join(timeout: testDeadline))
        #expect(try c.poll(timeout: testDeadline))
        #expect(try c.receiveAvailable() == nil)
        let rest = try writeRaw(Array(frame[(WireFrame.headerSize + 4)...]), to: d)
        #expect(try c.recv([Int].self) == values)
        #expect(try rest.join(timeout: testDeadline))
    }
}
