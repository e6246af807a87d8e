import SystemPackage
/// Why a `Connection` operation failed. Corresponds to the `EOFError`, `OSError` and
/// `BrokenPipeError` that Python's `multiprocessing.connection.Connection` raises.
/// A message longer than the buffer `recvBytes(into:offset:)` was given: the message is not
/// lost, it is here whole. Python: `multiprocessing.BufferTooShort` (the message in `args[0]`).
public struct BufferTooShort: Error, Equatable, Sendable, CustomStringConvertible {
    /// The whole message that did not fit.
    public let message: [UInt8]
    /// How many bytes there were room for.
    public let room: Int

    public var description: String { "buffer too short: a message of \(message.count) bytes, room for \(room)" }
}

public enum ConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer closed its end and nothing is left to receive. Python: `EOFError`.
    case endOfFile
    /// The peer closed its end in the middle of a message (`received` of its bytes arrived).
    case truncatedMessage(received: Int)
    /// The peer is gone: nothing can be sent. Python: `BrokenPipeError`.
    case brokenPipe
    /// This end was closed. Python: `OSError("handle is closed")`.
    case closed
    /// `recv` on the write end of a one-way pipe. Python: `OSError("connection is write-only")`.
    case writeOnly
    /// `send` on the read end of a one-way pipe. Python: `OSError("connection is read-only")`.
    case readOnly
    /// A message longer than the receiver's `maxLength`, refused from its header (its bytes
    /// were not read, and the connection is broken), or than a process queue can hold (nothing
    /// was put). Python: `OSError("bad message length")`.
    case messageTooLong(length: Int, maxLength: Int)
    /// An earlier receive failed on a protocol error (`cause`: a corrupt or oversized frame, a
    /// message longer than `maxLength`): where the next message starts is unknown, so nothing
    /// more can be received (sending still works). Python's connection is unusable then too.
    case broken(cause: String)
    /// A `maxFrameSize` outside 0...4294967295 (`UInt32.max`, the largest a frame can declare).
    case invalidMaxFrameSize(Int)
    /// `sendBytes(_:offset:size:)` with a range outside the buffer. Python: `ValueError("offset
    /// is negative")`, `"buffer length < offset"`, `"size is negative"`, `"buffer length < offset + size"`.
    case invalidRange(String)
    /// A system call failed with this errno.
    case system(operation: String, errno: Errno)

    /// The message, in Python's words where Python has one.
    public var description: String {
        switch self {
        case .endOfFile: "end of file: the peer closed the connection"
        case .truncatedMessage(let received): "the peer closed the connection after \(received) byte(s) of a message"
        case .brokenPipe: "broken pipe: the peer closed the connection"
        case .closed: "handle is closed"
        case .writeOnly: "connection is write-only"
        case .readOnly: "connection is read-only"
        case .messageTooLong(let length, let maxLength): "bad message length: \(length) bytes exceeds \(maxLength)"
        case .broken(let cause): "connection is broken by an earlier protocol error (\(cause)): nothing more can be received on it"
        case .invalidRange(let reason): reason
        case .invalidMaxFrameSize(let size): "maxFrameSize must be from 0 to \(UInt32.max) bytes, not \(size)"
        case .system(let operation, let errno): "\(operation) failed: \(errno) (errno \(errno.rawValue))"
        }
    }
}
