/// Why bytes from another process could not be turned back into a value (or a value into bytes).
/// Every malformed input is reported with one of these; none crashes or hangs the reader.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended early: `needed` more bytes were required at `offset`.
    case truncated(offset: Int, needed: Int)
    /// The bytes cannot be what the type expects (an invalid Bool, presence byte or UTF-8, a
    /// count larger than the input, a key that does not match).
    case corrupt(offset: Int, reason: String)
    /// Bytes were left after the value was complete.
    case trailingBytes(Int)
    /// A frame announced more bytes than the limit allows.
    case oversizedFrame(size: Int, limit: Int)
    /// A frame's payload does not match its checksum.
    case checksumMismatch(expected: UInt32, actual: UInt32)
    /// A value nests deeper than the decoder allows (a recursive type fed hostile input).
    case tooDeep(limit: Int)
    /// A value cannot be written in this format (an encoding container misused), or a coder was
    /// used as it cannot be (a keyed container after its coding ended, or on another thread).
    case unsupported(String)

    /// The message.
    public var description: String {
        switch self {
        case .truncated(let offset, let needed): "truncated input: \(needed) more byte(s) needed at offset \(offset)"
        case .corrupt(let offset, let reason): "corrupt input at offset \(offset): \(reason)"
        case .trailingBytes(let count): "\(count) unexpected byte(s) after the value"
        case .oversizedFrame(let size, let limit): "frame of \(size) bytes exceeds the limit of \(limit) bytes"
        case .checksumMismatch(let expected, let actual):
            "frame checksum mismatch (expected \(String(expected, radix: 16)), got \(String(actual, radix: 16)))"
        case .tooDeep(let limit): "value nests deeper than \(limit) levels"
        case .unsupported(let reason): "unsupported: \(reason)"
        }
    }
}
