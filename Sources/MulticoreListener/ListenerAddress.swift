/// Where a `Listener` listens and a `Client` connects. Python: the `address` of
/// `multiprocessing.connection.Listener` and `Client` (a path for 'AF_UNIX', a `(host, port)`
/// tuple for 'AF_INET').
public enum ListenerAddress: Sendable, Hashable, CustomStringConvertible {
    /// A Unix-domain socket at this path (this machine only; the file's permissions decide who
    /// may connect). Python: `Listener('/tmp/sock')`, family 'AF_UNIX'.
    case unix(path: String)
    /// A TCP address. Port 0 picks a free port, which `Listener.address` then tells.
    /// Python: `Listener(('127.0.0.1', 6000))`, family 'AF_INET'.
    case tcp(host: String, port: Int)

    public var description: String {
        switch self {
        case .unix(let path): path
        case .tcp(let host, let port): "\(host):\(port)"
        }
    }
}
