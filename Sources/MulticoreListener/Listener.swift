import CMulticore
import MulticoreProcessing
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Accepts connections from processes that did not start each other, on a Unix-domain or TCP
/// address, each as a `Connection` with the same API as a pipe's. Corresponds to Python's
/// `multiprocessing.connection.Listener(address, family, backlog, authkey)`, and speaks its
/// wire format: messages are framed as CPython frames them (`FrameFormat.python`) and the
/// `authkey` handshake is CPython's (3.11's HMAC-MD5 and 3.12's `{sha256}` both), so a Python
/// `Client` can connect and exchange `send_bytes`/`recv_bytes` messages. (`send`/`recv` of
/// values use Multicore's wire format, which only Multicore reads.)
///
/// With an `authkey`, `accept` returns only connections whose peer proved it knows the key; no
/// message is read from a peer before that, and one that fails throws `AuthenticationError`.
/// - Warning: without an `authkey`, anyone who can reach the address can connect: on a TCP
///   address that is every host that can route to it. Give a TCP listener an `authkey`, or
///   bind it to a loopback address. (Python warns the same way.)
public final class Listener: @unchecked Sendable { // `descriptor` is guarded by `lock`
    /// The address it listens on; for TCP with port 0, the port it was given.
    /// Python: `Listener.address`.
    public let address: ListenerAddress
    private let authkey: [UInt8]?
    private let lock = Lock()
    private var descriptor: Int32

    /// Starts listening on `address`. Python: `Listener(address, family=None, backlog=1, authkey=None)`.
    /// - Parameters:
    ///   - backlog: connections the system queues until they are accepted.
    ///   - authkey: the shared key each peer must prove it knows (nil: no handshake).
    /// - Throws: `ConnectionError.system` (address in use, a path too long, an unknown host...).
    public init(address: ListenerAddress, backlog: Int = 1, authkey: [UInt8]? = nil) throws(ConnectionError) {
        do throws(Errno) {
            switch address {
            case .unix(let path):
                descriptor = try StreamSockets.listen(path: path, backlog: Int32(clamping: backlog))
                self.address = address
            case .tcp(let host, let port):
                let (fd, bound) = try StreamSockets.listen(host: host, port: Int32(clamping: port), backlog: Int32(clamping: backlog))
                descriptor = fd
                self.address = .tcp(host: host, port: Int(bound))
            }
        } catch {
            throw .system(operation: "listen on \(address)", errno: error)
        }
        self.authkey = authkey
    }

    deinit { close() }

    /// Waits for the next peer, runs the handshake when there is an `authkey`, and returns the
    /// connection. Python: `Listener.accept()`.
    /// - Throws: `AuthenticationError` when the peer failed the handshake (its connection is
    ///   closed; the listener goes on); `ConnectionError.closed` after `close()`, `.system`.
    @available(*, noasync, message: "blocks the thread until a peer connects")
    public func accept() throws -> Connection {
        let listening = lock.withLock { descriptor }
        guard listening >= 0 else { throw ConnectionError.closed }
        let fd: Int32
        do throws(Errno) { fd = try StreamSockets.accept(listening) } catch {
            throw error == .badFileDescriptor || error == .invalidArgument
                ? ConnectionError.closed : ConnectionError.system(operation: "accept", errno: error)
        }
        return try Handshake.authenticated(fd, authkey: authkey, challengingFirst: true)
    }

    /// Stops listening; a Unix-domain socket's file is removed. Calling it again does nothing.
    /// Python: `Listener.close()`.
    public func close() {
        let fd = lock.withLock { () -> Int32 in
            defer { descriptor = -1 }
            return descriptor
        }
        guard fd >= 0 else { return }
        shutdown(fd, Int32(SHUT_RDWR)) // wakes a thread blocked in accept
        closeDescriptor(fd)
        if case .unix(let path) = address { unlink(path) }
    }
}

/// Connects to a `Listener`, Multicore's or Python's. Corresponds to Python's
/// `multiprocessing.connection.Client(address, family, authkey)`.
public enum Client {
    /// Connects to `address` and, with an `authkey`, runs the handshake (answering first, as
    /// Python's client does) before returning the connection.
    /// Python: `Client(address, family=None, authkey=None)`.
    /// - Throws: `AuthenticationError` (the connection is then closed); `ConnectionError.system`
    ///   (refused, unknown host...).
    @available(*, noasync, message: "blocks the thread while it connects")
    public static func connect(to address: ListenerAddress, authkey: [UInt8]? = nil) throws -> Connection {
        let fd: Int32
        do throws(Errno) {
            switch address {
            case .unix(let path): fd = try StreamSockets.connect(path: path)
            case .tcp(let host, let port): fd = try StreamSockets.connect(host: host, port: Int32(clamping: port))
            }
        } catch {
            throw ConnectionError.system(operation: "connect to \(address)", errno: error)
        }
        return try Handshake.authenticated(fd, authkey: authkey, challengingFirst: false)
    }
}
