#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import MulticoreCluster
import MulticoreTestSupport
import NIOSSL
import PostgresNIO
import Testing

/// Connecting with a postgres-nio configuration instead of a URL.
extension ClusterTests {
    /// A submitter and a node given a `PostgresConnection.Configuration` built by hand connect
    /// with what it says (its startup parameters too: their sessions carry its application name),
    /// and a task goes round. A `search_path` given there is replaced by the cluster's schema:
    /// its prepared statements name their tables without it (with `public`, they fail).
    @Test func aClusterAndANodeConnectWithAPostgresNIOConfiguration() async throws {
        let parts = try ClusterURLParts(try ThrowawayPostgres.url)
        let schema = "t_configuration"
        var configuration = PostgresConnection.Configuration(host: parts.host, port: parts.port, username: parts.user, password: nil,
                                                             database: parts.database, tls: .disable)
        configuration.options.additionalStartupParameters = [("application_name", "multicore-configured"), ("search_path", "public")]
        let database = try ClusterDatabase(configuration: configuration, schema: schema)
        let node = try ClusterNode(database: database, processes: 1, tasks: [Twice.self],
                                   heartbeat: .milliseconds(200), deadAfter: .seconds(1), pollInterval: .milliseconds(200))
        #expect(node.database.host == parts.host && node.database.port == parts.port && node.database.username == parts.user)
        let nodeRun = Task { try await node.run() }
        let cluster = try await Cluster(configuration: configuration, schema: schema)

        let future = try await cluster.submit(Twice(value: 21))
        #expect(try await within { try await future.value } == 42)
        // The submitter's and the node's connections, their LISTENs among them.
        let inspector = try QueueInspector(url: try ThrowawayPostgres.url, schema: schema)
        let sessions = try await inspector.int("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'multicore-configured'")
        #expect((sessions ?? 0) >= 2, "\(String(describing: sessions))")
        await cluster.shutdown()
        try await stop(nodeRun)
    }

    /// TLS is not supported yet (as `sslmode=require` in a URL): a configuration asking for it
    /// is refused, not connected without it.
    @Test func aConfigurationWithTLSIsRefused() async throws {
        let context = try NIOSSLContext(configuration: .makeClientConfiguration())
        let configuration = PostgresConnection.Configuration(host: "127.0.0.1", username: "me", password: nil, database: nil,
                                                             tls: .prefer(context))
        #expect(throws: ClusterError.self) { try ClusterDatabase(configuration: configuration) }
        await #expect(throws: ClusterError.self) { try await Cluster(configuration: configuration) }
        let plain = PostgresConnection.Configuration(host: "127.0.0.1", username: "me", password: nil, database: nil, tls: .disable)
        #expect(throws: ClusterError.invalidSchema("Bad")) { try ClusterDatabase(configuration: plain, schema: "Bad") }
    }
}
