import Foundation
import Testing
@testable import MulticoreListener
import MulticoreProcessing
import MulticoreTestSupport

struct PeerError: Error, CustomStringConvertible {
    let description: String
}

/// A Python process, run with `python3 -c script arguments...`: its output is read as it comes.
final class PythonPeer {
    let process = Foundation.Process()
    private let output = Foundation.Pipe()

    init(_ script: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// The next line it printed, waiting at most the test deadline.
    func line() throws -> String {
        var bytes: [UInt8] = []
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = ContinuousClock.now + testDeadline
        while ContinuousClock.now < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { break }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        throw PeerError(description: "python3 printed no whole line in time: \(String(decoding: bytes, as: UTF8.self))")
    }

    /// Its exit status, once it ended (within the test deadline).
    func exitStatus() -> Int32 {
        if !eventually({ !process.isRunning }) { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Python's Client against our Listener, and our Client against Python's Listener.
private let pythonClient = """
import sys
from multiprocessing.connection import Client
key = sys.argv[2].encode() if sys.argv[2] else None
try:
    c = Client(('127.0.0.1', int(sys.argv[1])), authkey=key)
except Exception as e:
    print('error', type(e).__name__, flush=True)
    sys.exit(3)
c.send_bytes(b'ping from python')
print(c.recv_bytes().decode(), flush=True)
print(len(c.recv_bytes()), flush=True)
c.close()
"""

private let pythonListener = """
import sys
from multiprocessing.connection import Listener
key = sys.argv[1].encode() if sys.argv[1] else None
with Listener(('127.0.0.1', 0), authkey=key) as listener:
    print(listener.address[1], flush=True)
    try:
        with listener.accept() as c:
            message = c.recv_bytes()
            c.send_bytes(message.upper())
            c.send_bytes(b'x' * 100000)
            print('served', flush=True)
    except Exception as e:
        print('error', type(e).__name__, flush=True)
        sys.exit(3)
"""

@Suite(.timeLimit(.minutes(5))) struct ListenerTests {
    /// Python 3.11's client (legacy HMAC-MD5 answer to our {sha256} challenge, then its own
    /// legacy challenge) against our Listener, with Python's framing both ways.
    @Test func aPythonClientTalksToOurListener() throws {
        let listener = try Listener(address: .tcp(host: "127.0.0.1", port: 0), authkey: Array("secret".utf8))
        defer { listener.close() }
        guard case .tcp(_, let port) = listener.address else { Issue.record("no port"); return }
        #expect(port > 0)
        let python = try PythonPeer(pythonClient, ["\(port)", "secret"])
        let connection = try listener.accept()
        #expect(try connection.recvBytes() == Array("ping from python".utf8))
        try connection.sendBytes(Array("pong from swift".utf8))
        try connection.sendBytes([UInt8](repeating: 7, count: 100_000)) // header and body in two writes
        #expect(try python.line() == "pong from swift")
        #expect(try python.line() == "100000")
        #expect(python.exitStatus() == 0)
    }

    @Test func ourClientTalksToAPythonListener() throws {
        let python = try PythonPeer(pythonListener, ["secret"])
        let port = try #require(Int(python.line()))
        let connection = try Client.connect(to: .tcp(host: "127.0.0.1", port: port), authkey: Array("secret".utf8))
        try connection.sendBytes(Array("hello".utf8))
        #expect(try connection.recvBytes() == Array("HELLO".utf8))
        #expect(try connection.recvBytes().count == 100_000)
        #expect(try python.line() == "served")
        #expect(python.exitStatus() == 0)
    }

    /// A wrong key fails on both sides with AuthenticationError, and nothing is exchanged.
    @Test func aWrongKeyIsRefusedOnBothSides() throws {
        let listener = try Listener(address: .tcp(host: "127.0.0.1", port: 0), authkey: Array("right".utf8))
        defer { listener.close() }
        guard case .tcp(_, let port) = listener.address else { return }
        let python = try PythonPeer(pythonClient, ["\(port)", "wrong"])
        #expect(throws: AuthenticationError.self) { try listener.accept() }
        #expect(try python.line() == "error AuthenticationError")
        #expect(python.exitStatus() == 3)

        let server = try PythonPeer(pythonListener, ["right"])
        let serverPort = try #require(Int(server.line()))
        #expect(throws: AuthenticationError.self) {
            try Client.connect(to: .tcp(host: "127.0.0.1", port: serverPort), authkey: Array("wrong".utf8))
        }
        #expect(try server.line() == "error AuthenticationError")
        #expect(server.exitStatus() == 3)
    }

    /// Swift on both ends, over a Unix-domain socket: values and bytes, with the same key.
    @Test func swiftOnBothEndsOverAUnixSocket() throws {
        let path = "/tmp/mc-listener-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let listener = try Listener(address: .unix(path: path), authkey: Array("k".utf8))
        let server = ValueThread<[Int]>(daemon: true) {
            let connection = try listener.accept()
            let numbers = try connection.recv([Int].self)
            try connection.send(numbers.map { $0 * 2 })
            return numbers
        }
        try server.start()
        let client = try Client.connect(to: .unix(path: path), authkey: Array("k".utf8))
        try client.send([1, 2, 3])
        #expect(try client.recv([Int].self) == [2, 4, 6])
        #expect(try server.join(timeout: testDeadline))
        #expect(try server.value() == [1, 2, 3])
        #expect(client.frameFormat == .python)
        listener.close()
        #expect(access(path, F_OK) != 0, "the socket file is removed on close")
        #expect(throws: ConnectionError.closed) { try listener.accept() }
    }

    /// The handshake against CPython 3.12's rules, without a peer: a {sha256} challenge is
    /// answered with {sha256} and the HMAC over the whole message; a bare 20-byte one with a
    /// bare HMAC-MD5; a bare 16-byte answer is checked as HMAC-MD5.
    @Test func theHandshakeFollowsBothOfPythonsProtocols() throws {
        let key = Array("key".utf8)
        let modern = Array("{sha256}".utf8) + [UInt8](repeating: 1, count: 40)
        let answer = try Handshake.response(authkey: key, message: modern)
        #expect(answer.starts(with: Array("{sha256}".utf8)) && answer.count == 8 + 32)
        try Handshake.verify(authkey: key, message: modern, response: answer)
        let legacy = [UInt8](repeating: 2, count: 20)
        let md5 = try Handshake.response(authkey: key, message: legacy)
        #expect(md5.count == 16)
        // A 3.11 client answers our {sha256} challenge with a bare HMAC-MD5 of all of it.
        try Handshake.verify(authkey: key, message: modern, response: Handshake.mac("md5", authkey: key, message: modern))
        #expect(throws: AuthenticationError.self) { try Handshake.verify(authkey: Array("other".utf8), message: modern, response: answer) }
        #expect(throws: AuthenticationError.self) { try Handshake.digestName(of: Array("{md4}abcdefghijklmnopqrstuvwxyz".utf8)) }
    }
}
