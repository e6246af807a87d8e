/// The peer did not prove it knows the shared `authkey` (or this end could not prove it), or
/// it did not speak the handshake. Python: `multiprocessing.AuthenticationError`.
public struct AuthenticationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, in Python's words where Python has them.
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "authentication failed: \(reason)" }
}
