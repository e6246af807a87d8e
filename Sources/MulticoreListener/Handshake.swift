import Crypto
import MulticoreProcessing

/// The challenge-response both ends of a `Listener`/`Client` connection run when they share an
/// `authkey`, byte for byte as CPython's `deliver_challenge` and `answer_challenge`: the
/// server sends `#CHALLENGE#` and a random message, the client answers with its HMAC under the
/// key, the server says `#WELCOME#` or `#FAILURE#`; then the other way round.
///
/// Both protocols of CPython are spoken: Python 3.12 and later prefix the message and the answer
/// with `{sha256}` and use HMAC-SHA256; Python 3.11 and earlier send a bare 20-byte message and
/// answer with a bare HMAC-MD5. This end challenges with `{sha256}` (a 3.11 peer answers it with
/// HMAC-MD5 over the whole message, which is accepted, as CPython 3.12 accepts it), and answers
/// whichever form it is challenged with. Messages during the handshake are at most 256 bytes.
enum Handshake {
    static let challenge = Array("#CHALLENGE#".utf8)
    static let welcome = Array("#WELCOME#".utf8)
    static let failure = Array("#FAILURE#".utf8)
    /// Random bytes in a challenge, after its `{sha256}` prefix (CPython 3.12's MESSAGE_LENGTH).
    static let messageLength = 40
    /// Lengths that mean the legacy protocol: a 3.11 challenge (20) or an HMAC-MD5 answer (16).
    static let legacyLengths: Set<Int> = [20, 16]

    /// A connection on socket `fd` (now owned) in CPython's framing, once the handshake has
    /// passed when there is an `authkey`: the listener challenges first, the client answers
    /// first, then the other way round. A failed handshake closes it and throws.
    /// - Throws: `AuthenticationError`.
    static func authenticated(_ fd: Int32, authkey: [UInt8]?, challengingFirst: Bool) throws -> Connection {
        let connection = Connection(descriptor: fd, readable: true, writable: true, isSocket: true, frameFormat: .python)
        guard let authkey else { return connection }
        do {
            if challengingFirst { try deliverChallenge(connection, authkey: authkey) }
            try answerChallenge(connection, authkey: authkey)
            if !challengingFirst { try deliverChallenge(connection, authkey: authkey) }
        } catch {
            connection.close()
            if error is AuthenticationError { throw error }
            throw AuthenticationError("the handshake failed: \(error)")
        }
        return connection
    }

    /// The server's side: challenge the peer, check its answer, tell it the verdict.
    static func deliverChallenge(_ connection: Connection, authkey: [UInt8]) throws {
        var message = Array("{sha256}".utf8)
        var generator = SystemRandomNumberGenerator()
        message += (0..<messageLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try connection.sendBytes(challenge + message)
        let response = try receive(connection)
        do {
            try verify(authkey: authkey, message: message, response: response)
        } catch {
            try? connection.sendBytes(failure)
            throw error
        }
        try connection.sendBytes(welcome)
    }

    /// The client's side: answer the peer's challenge, and learn whether it was accepted.
    static func answerChallenge(_ connection: Connection, authkey: [UInt8]) throws {
        let received = try receive(connection)
        guard received.starts(with: challenge) else {
            throw AuthenticationError("protocol error, expected a challenge")
        }
        let message = Array(received.dropFirst(challenge.count))
        guard message.count >= 20 else { throw AuthenticationError("challenge too short: \(message.count) bytes") }
        try connection.sendBytes(response(authkey: authkey, message: message))
        guard try receive(connection) == welcome else { throw AuthenticationError("digest sent was rejected") }
    }

    /// A handshake message: at most 256 bytes, as CPython's `recv_bytes(256)`.
    private static func receive(_ connection: Connection) throws -> [UInt8] {
        do {
            return try connection.recvBytes(maxLength: 256)
        } catch ConnectionError.messageTooLong {
            throw AuthenticationError("a handshake message longer than 256 bytes")
        } catch ConnectionError.endOfFile {
            throw AuthenticationError("the peer closed the connection during the handshake")
        }
    }

    /// The digest a message names (`{sha256}...`), or nil for the legacy protocol (HMAC-MD5, no
    /// prefix). CPython's `_get_digest_name_and_payload`.
    static func digestName(of message: [UInt8]) throws -> (name: String?, payload: [UInt8]) {
        if legacyLengths.contains(message.count) { return (nil, message) }
        if message.first == UInt8(ascii: "{"), let close = message.prefix(12).firstIndex(of: UInt8(ascii: "}")), close > 1 {
            let name = String(decoding: message[1..<close], as: UTF8.self)
            if ["md5", "sha256", "sha384"].contains(name) { return (name, Array(message[(close + 1)...])) }
        }
        throw AuthenticationError("unsupported message length, missing digest prefix, or unsupported digest")
    }

    /// CPython's `_create_response`: a bare HMAC-MD5 for a legacy challenge, else the digest's
    /// name and its HMAC over the whole message (prefix included).
    static func response(authkey: [UInt8], message: [UInt8]) throws -> [UInt8] {
        guard let name = try digestName(of: message).name else { return mac("md5", authkey: authkey, message: message) }
        return Array("{\(name)}".utf8) + mac(name, authkey: authkey, message: message)
    }

    /// CPython's `_verify_challenge`: the answer's digest (MD5 when it has no prefix) over our
    /// whole message, compared in constant time.
    static func verify(authkey: [UInt8], message: [UInt8], response: [UInt8]) throws {
        let (name, answer) = try digestName(of: response)
        let expected = mac(name ?? "md5", authkey: authkey, message: message)
        guard expected.count == answer.count else {
            throw AuthenticationError("expected '\(name ?? "md5")' of length \(expected.count), got \(answer.count)")
        }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, answer) { difference |= a ^ b }
        guard difference == 0 else { throw AuthenticationError("digest received was wrong") }
    }

    static func mac(_ digest: String, authkey: [UInt8], message: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: authkey)
        switch digest {
        case "md5": return Array(HMAC<Insecure.MD5>.authenticationCode(for: message, using: key))
        case "sha384": return Array(HMAC<SHA384>.authenticationCode(for: message, using: key))
        default: return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        }
    }
}
