import struct Foundation.UUID
import PostgresNIO

/// A snapshot of a cluster's queue (`Cluster.queueStatus()`, `multicore-cluster status`): the
/// tasks not finished by task type, the nodes with their last heartbeat, the failures of the last
/// minute; ages by the database's clock.
public struct ClusterStatus: Sendable {
    /// The unfinished tasks of one task type (`kind`: its mangled name, as nodes claim it;
    /// `typeName`: as Swift prints the type).
    public struct Queue: Sendable, Equatable {
        public let kind: String
        /// The task type as Swift prints it (`String(reflecting:)`, `MyApp.Twice`), read from
        /// `kind` by the Swift runtime's demangler; `kind` itself when it is not a mangled name.
        public var typeName: String { TaskTypeName.readable(kind) }
        /// Ready to be claimed now.
        public let ready: Int
        /// Durable jobs whose start time has not come.
        public let delayed: Int
        /// Claimed by a node.
        public let running: Int
        /// Failed in the last minute (thrown, worker died, timed out, or node lost).
        public let failedLastMinute: Int
    }

    /// A node incarnation, as it registered.
    public struct Node: Sendable, Equatable {
        public let id: UUID
        public let host: String
        public let pid: Int32
        /// The task types it claims (their mangled names).
        public let kinds: [String]
        /// The task types it claims, as Swift prints them (see `Queue.typeName`).
        public var typeNames: [String] { kinds.map(TaskTypeName.readable) }
        /// Tasks it holds now.
        public let running: Int
        /// Seconds since its last heartbeat.
        public let secondsSinceHeartbeat: Double
    }

    /// By task type, sorted by name: every type with unfinished tasks or failures in the last minute.
    public let queues: [Queue]
    /// Sorted by host, then pid.
    public let nodes: [Node]

    /// Failures of the last minute, every type together.
    public var failuresLastMinute: Int { queues.reduce(0) { $0 + $1.failedLastMinute } }
}

extension ClusterStatements {
    /// The queue's snapshot: the task counts, then the nodes.
    func status(_ client: PostgresClient) async throws -> ClusterStatus {
        let s = database.schema
        let queues = try await run(client, """
            SELECT kind, sum(ready)::bigint, sum(delayed)::bigint, sum(running)::bigint, sum(failed)::bigint FROM (
                SELECT kind, count(*) FILTER (WHERE state = 0 AND run_at <= now()) AS ready,
                       count(*) FILTER (WHERE state = 0 AND run_at > now()) AS delayed,
                       count(*) FILTER (WHERE state = 1) AS running, 0 AS failed
                  FROM \(unescaped: s).tasks WHERE state < 2 GROUP BY kind
                UNION ALL
                SELECT kind, 0, 0, 0, count(*) FROM \(unescaped: s).failures WHERE at > now() - interval '1 minute' GROUP BY kind) counts
             GROUP BY kind ORDER BY kind
            """) { rows in
            var queues: [ClusterStatus.Queue] = []
            for try await (kind, ready, delayed, running, failed) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
                queues.append(ClusterStatus.Queue(kind: kind, ready: Int(ready), delayed: Int(delayed), running: Int(running),
                                                  failedLastMinute: Int(failed)))
            }
            return queues
        }
        let nodes = try await run(client, """
            SELECT n.id, n.host, n.pid, n.kinds, (SELECT count(*) FROM \(unescaped: s).tasks t WHERE t.state = 1 AND t.owner = n.id),
                   extract(epoch FROM now() - n.heartbeat_at)::float8
              FROM \(unescaped: s).nodes n ORDER BY n.host, n.pid
            """) { rows in
            var nodes: [ClusterStatus.Node] = []
            for try await (id, host, pid, kinds, running, age) in rows.decode((UUID, String, Int32, [String], Int64, Double).self) {
                nodes.append(ClusterStatus.Node(id: id, host: host, pid: pid, kinds: kinds, running: Int(running),
                                                secondsSinceHeartbeat: age))
            }
            return nodes
        }
        return ClusterStatus(queues: queues, nodes: nodes)
    }
}
