import CMulticore

/// Large arrays of numbers received straight into their own storage: `recv([Double].self)` of
/// a message of megabytes reads its bytes from the descriptor into the array it returns, its
/// checksum taken piece by piece as they arrive, with no buffer in between and no copy after.
///
/// Such a message is a UInt64 count and the elements' bytes (`WireArray.swift`); one that is
/// anything else (another length, or too little of it there yet to read the count) is received
/// the usual way, and decoding it says what is wrong.
protocol WireDirectArray {
    /// Receives the message whose header `header` has come on `connection`, or nil when it is
    /// not one of these (nothing taken).
    static func receiveDirectly(_ header: FrameHeader, on connection: Connection, from fd: Int32) throws -> Self?
}

extension Array: WireDirectArray where Element: WireTrivial {
    static func receiveDirectly(_ header: FrameHeader, on connection: Connection, from fd: Int32) throws -> [Element]? {
        try connection.receiveElements(Element.self, header, from: fd)
    }
}

extension Connection {
    /// Under `receiveLock`: the large message whose header has come, as a `T`, when `T` is an
    /// array of numbers; nil otherwise (nothing taken).
    func receiveDirectly<T>(_ type: T.Type, _ header: FrameHeader, from fd: Int32) throws -> T? {
        guard frameFormat == .multicore, header.isChecked, let arrayType = T.self as? any WireDirectArray.Type else { return nil }
        return try arrayType.receiveDirectly(header, on: self, from: fd).map { $0 as! T }
    }

    /// Under `receiveLock`, after `header` (of a large message) has come: the array, read into
    /// its storage. A read that fails inside it breaks the receiving side, as a corrupt frame does.
    func receiveElements<Element: WireTrivial>(_: Element.Type, _ header: FrameHeader, from fd: Int32) throws -> [Element]? {
        let countSize = MemoryLayout<UInt64>.size, stride = MemoryLayout<Element>.stride
        guard frames.pendingByteCount - header.size >= countSize else { return nil }
        let arrived = frames.takeIncompletePayload()
        let count = arrived.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard count > 0, count <= UInt64((header.length - countSize) / stride), Int(count) * stride + countSize == header.length else {
            largePayload = LargePayload(header: header, arrived: arrived, reusing: keptPayload.take())
            return nil
        }
        var checksum = arrived.withUnsafeBytes { WireFrame.checksum($0, continuing: 0) }
        var filled = arrived.count - countSize // element bytes in the array so far
        let total = header.length - countSize
        var failure: ConnectionError?
        let elements = [Element](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            // Counted whole: every byte is written below before the array is handed out, and
            // none is read before (it is dropped on failure).
            initialized = Int(count)
            let target = UnsafeMutableRawBufferPointer(buffer)
            arrived.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[countSize...])) }
            while filled < total {
                let got: Int?
                do throws(ConnectionError) { got = try readSome(fd, into: target.baseAddress! + filled, count: total - filled, blocking: true) } catch {
                    failure = error
                    return
                }
                guard let got, got > 0 else {
                    failure = .truncatedMessage(received: header.size + countSize + filled)
                    return
                }
                checksum = WireFrame.checksum(UnsafeRawBufferPointer(rebasing: target[filled ..< filled + got]), continuing: checksum)
                filled += got
            }
        }
        if let failure {
            // Where the next message starts is unknown: the receiving side is broken.
            if case .truncatedMessage = failure {} else { breakReceiving(failure) }
            throw failure
        }
        var expected = header.checksum
        if header.trailerSize > 0 {
            do {
                expected = try receiveTrailer(fd, blocking: true, received: header.size + header.length)
            } catch let error as ConnectionError {
                if case .truncatedMessage = error {} else { breakReceiving(error) }
                throw error
            }
        }
        if let expected, checksum != expected {
            throw WireError.checksumMismatch(expected: expected, actual: checksum)
        }
        return elements
    }
}
