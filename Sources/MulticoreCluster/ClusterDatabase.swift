import struct Foundation.UUID
import PostgresNIO

/// Where the cluster's queue lives: a PostgreSQL server, a database on it, and a schema in that
/// database (`multicore` by default), from a URL such as
/// `postgres://user:password@127.0.0.1:5432/queue`, or from a postgres-nio
/// `PostgresConnection.Configuration`. Several clusters can share a database with schemas of
/// their own.
public struct ClusterDatabase: Sendable {
    public var host: String
    public var port: Int
    /// The server's Unix domain socket: when set, `host` and `port` are not used.
    public var unixSocketPath: String?
    public var username: String
    public var password: String?
    public var database: String?
    /// How long a connection may take to open (default 5 s).
    public var connectTimeout: Duration = .seconds(5)
    /// Parameters sent to the server at each connection's start (postgres-nio's
    /// `additionalStartupParameters`, such as `application_name`). The cluster's connections
    /// have its `schema` as their `search_path` and custom plans, whatever is given here.
    public var startupParameters: [(String, String)] = []
    /// The schema of the cluster's tables and the prefix of its notification channels.
    public let schema: String
    /// Parses `postgres://` or `postgresql://` URLs: user, optional password, host, optional port
    /// (5432), optional database, optional `?sslmode=disable` (TLS is not supported yet:
    /// `sslmode=require` is refused).
    /// - Throws: `ClusterError.invalidURL`, `ClusterError.invalidSchema`.
    public init(url: String, schema: String = "multicore") throws(ClusterError) {
        guard let scheme = url.range(of: "://"), ["postgres", "postgresql"].contains(url[..<scheme.lowerBound]) else {
            throw .invalidURL(url, reason: "it must start with postgres:// or postgresql://")
        }
        var rest = Substring(url[scheme.upperBound...])
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@") else { throw .invalidURL(url, reason: "it names no user (user@host)") }
        let credentials = rest[..<at]
        var address = rest[rest.index(after: at)...]
        if let colon = credentials.firstIndex(of: ":") {
            username = Self.percentDecoded(credentials[..<colon])
            password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
        } else {
            username = Self.percentDecoded(credentials)
            password = nil
        }
        guard !username.isEmpty else { throw .invalidURL(url, reason: "the user is empty") }
        database = nil
        if let slash = address.firstIndex(of: "/") {
            let name = address[address.index(after: slash)...]
            database = name.isEmpty ? nil : Self.percentDecoded(name)
            address = address[..<slash]
        }
        port = 5432
        if let colon = address.lastIndex(of: ":"), !address.hasSuffix("]") {
            guard let number = Int(address[address.index(after: colon)...]), (1...65535).contains(number) else {
                throw .invalidURL(url, reason: "the port is not a number from 1 to 65535")
            }
            port = number
            address = address[..<colon]
        }
        if address.hasPrefix("["), address.hasSuffix("]") { address = address.dropFirst().dropLast() }
        guard !address.isEmpty else { throw .invalidURL(url, reason: "the host is empty") }
        host = String(address)
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "sslmode" else { continue }
            switch parts[1] {
            case "disable", "prefer", "allow": continue
            case "require", "verify-ca", "verify-full": throw .invalidURL(url, reason: "TLS is not supported yet (sslmode=\(parts[1]))")
            default: throw .invalidURL(url, reason: "unknown sslmode \(parts[1])")
            }
        }
        guard Self.isValidSchema(schema) else { throw .invalidSchema(schema) }
        self.schema = schema
    }

    /// Takes from `configuration` its host and port or Unix socket, user, password, database,
    /// connect timeout and startup parameters: the same connections as a URL with those.
    /// - Throws: `ClusterError.invalidConfiguration` for TLS (not supported yet, as
    ///   `sslmode=require` in a URL) or an already established channel (the cluster opens
    ///   several connections, and opens them again after a loss); `ClusterError.invalidSchema`.
    public init(configuration: PostgresConnection.Configuration, schema: String = "multicore") throws(ClusterError) {
        guard !configuration.tls.isAllowed else {
            throw .invalidConfiguration("TLS is not supported yet: give the configuration tls: .disable")
        }
        if let socket = configuration.unixSocketPath {
            unixSocketPath = socket
            host = "localhost"
            port = 5432
        } else if let host = configuration.host, let port = configuration.port {
            self.host = host
            self.port = port
        } else {
            throw .invalidConfiguration("a configuration with an established channel cannot open the cluster's connections")
        }
        username = configuration.username
        password = configuration.password
        database = configuration.database
        connectTimeout = .nanoseconds(configuration.options.connectTimeout.nanoseconds)
        startupParameters = configuration.options.additionalStartupParameters
        guard Self.isValidSchema(schema) else { throw .invalidSchema(schema) }
        self.schema = schema
    }

    static func isValidSchema(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...24).contains(bytes.count), !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            if byte == UInt8(ascii: "%"), let high = utf8.next(), let low = utf8.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The pool's configuration: a few connections, kept alive.
    package func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration = if let unixSocketPath {
            PostgresClient.Configuration(unixSocketPath: unixSocketPath, username: username, password: password, database: database)
        } else {
            PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database,
                                         tls: .disable)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = connectionParameters
        return configuration
    }

    /// A single connection's configuration (the LISTEN connection: the pool has no LISTEN).
    func connectionConfiguration() -> PostgresConnection.Configuration {
        var configuration = if let unixSocketPath {
            PostgresConnection.Configuration(unixSocketPath: unixSocketPath, username: username, password: password, database: database)
        } else {
            PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database,
                                             tls: .disable)
        }
        let (seconds, attoseconds) = connectTimeout.components
        configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        configuration.options.additionalStartupParameters = connectionParameters
        return configuration
    }

    /// `startupParameters`, the schema as the connection's `search_path` (in place of any given:
    /// the prepared statements name their tables without it, `ClusterPrepared`), and plans
    /// made for each run's values (`force_custom_plan`): the generic plans PostgreSQL switches a
    /// prepared statement to after five runs recorded a map's batches of a thousand outcomes in
    /// 100 ms each, where a plan for the values takes a few (seen here), so only the parsing is
    /// saved.
    var connectionParameters: [(String, String)] {
        startupParameters.filter { $0.0 != "search_path" && $0.0 != "plan_cache_mode" }
            + [("search_path", schema), ("plan_cache_mode", "force_custom_plan")]
    }

    /// The channel nodes listen on for new tasks.
    var readyChannel: String { "\(schema)_ready" }

    /// The channel a submitter listens on for the outcomes of its tasks (`session`: its id).
    func doneChannel(_ session: UUID) -> String { "\(schema)_done_\(Self.hex(session))" }

    static func hex(_ id: UUID) -> String { id.uuidString.lowercased().filter { $0 != "-" } }
}
