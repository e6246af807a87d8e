import CMulticore
import SystemPackage

/// Unix-domain and TCP stream sockets (Listener and Client); every descriptor close-on-exec.
/// A lookup that fails is EADDRNOTAVAIL. An interrupted connect is made again from a new socket.
package enum StreamSockets {
    /// A Unix-domain socket bound to `path` and listening.
    package static func listen(path: String, backlog: Int32) throws(Errno) -> Int32 {
        Int32(try SystemCall.accept.perform { Int(mc_listen_unix(path, backlog)) })
    }

    /// A TCP socket bound to `host`:`port` and listening, and the port it got (for port 0).
    package static func listen(host: String, port: Int32, backlog: Int32) throws(Errno) -> (Int32, port: Int32) {
        var bound = port
        let fd = try SystemCall.accept.perform { Int(mc_listen_tcp(host, port, backlog, &bound)) }
        return (Int32(fd), bound)
    }

    /// A Unix-domain socket connected to `path`.
    package static func connect(path: String) throws(Errno) -> Int32 {
        Int32(try SystemCall.connect.perform { Int(mc_connect_unix(path)) })
    }

    /// A TCP socket connected to `host`:`port` (TCP_NODELAY).
    package static func connect(host: String, port: Int32) throws(Errno) -> Int32 {
        Int32(try SystemCall.connect.perform { Int(mc_connect_tcp(host, port)) })
    }

    /// The next connection on the listening socket `fd`.
    package static func accept(_ fd: Int32) throws(Errno) -> Int32 {
        Int32(try SystemCall.accept.perform { Int(mc_accept(fd)) })
    }
}
