#if canImport(Glibc)
import Glibc
#endif
import ClusterTestTasks
import Foundation
import MulticoreCluster
import MulticoreTestSupport
import Testing

/// Hosts on this machine for the cluster tests: network namespaces joined to this one by veth
/// pairs (Scripts/network-hosts.sh), removed at the end of the test, or once this process is
/// gone however it ended.
struct NetworkHosts {
    struct Host {
        /// The namespace.
        let name: String
        /// The address on this machine's side of its pair (a server listening there is reached
        /// from inside), and the host's own.
        let outside: String, inside: String
    }

    let hosts: [Host]
    /// A network holding every address.
    let network: String
    private let prefix: String

    /// iproute2's `ip`, if installed.
    static let ip: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { (path: String) in access(path, X_OK) == 0 }

    /// Why these tests cannot run here (nil: they can): they need root and iproute2's `ip`.
    static let unavailable: String? = {
        var reason: String?
        if getuid() != 0 {
            reason = "not root (network namespaces need root; CI runs as root)"
        } else if ip == nil {
            reason = "no `ip` (iproute2)"
        }
        if let reason { FileHandle.standardError.write(Data("CLUSTER NETWORK HOSTS TEST SKIPPED: \(reason)\n".utf8)) }
        return reason
    }()

    init(count: Int) async throws {
        prefix = "mc\(getpid() % 10_000_000)x"
        let made = try await runProgramAside(scriptPath("network-hosts.sh"), ["create", prefix, "\(count)", "\(getpid())"])
        let lines = made.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.filter { $0.count == 4 }
        guard made.status == 0, lines.count == count else {
            _ = runProgram(scriptPath("network-hosts.sh"), ["remove", prefix, "\(count)"])
            throw ProgramRunError("network-hosts.sh create failed (status \(made.status)): \(made.output)")
        }
        hosts = lines.map { Host(name: $0[0], outside: $0[1], inside: $0[2]) }
        network = lines[0][3]
    }

    func cut(_ host: Host) async throws { try await run(["cut", host.name]) }
    func restore(_ host: Host) async throws { try await run(["restore", host.name]) }
    func remove() { _ = runProgram(scriptPath("network-hosts.sh"), ["remove", prefix, "\(hosts.count)"]) }

    private func run(_ arguments: [String]) async throws {
        let done = try await runProgramAside(scriptPath("network-hosts.sh"), arguments)
        guard done.status == 0 else { throw ProgramRunError("network-hosts.sh \(arguments) failed: \(done.output)") }
    }
}

extension ClusterTests {
    /// Two hosts, each a network namespace with a node that reaches the server over TCP at its
    /// veth address. Host 1 runs a task; it is cut off (`ip link set ... down`): host 2 rescues
    /// the task once host 1 is a second late and runs attempt 2. Host 1's attempt finishes while
    /// it is cut off; brought back, its late outcome is refused, and its node joins again under a
    /// new incarnation. The submitter gets exactly one outcome: host 2's.
    @Test(.enabled(if: NetworkHosts.unavailable == nil, "needs root and iproute2's ip (network namespaces)"))
    func aHostCutOffHasItsTaskRescuedAndItsLateOutcomeRefused() async throws {
        let network = try await NetworkHosts(count: 2)
        defer { network.remove() }
        let (one, two) = (network.hosts[0], network.hosts[1])
        let server = try await aside { PostgresServer.start(addresses: [one.outside, two.outside], network: network.network) }.get()
        defer { server.stop() }
        let schema = "t_hosts"
        let gates = NSTemporaryDirectory() + "multicore-gates-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: gates) }
        let cluster = try await Cluster(url: server.url, schema: schema, pollInterval: .milliseconds(200))
        let inspector = try QueueInspector(url: server.url, schema: schema)

        func startNode(on host: NetworkHosts.Host) throws -> ProgramRun {
            try ProgramRun(path: try #require(NetworkHosts.ip), ["netns", "exec", host.name, ProgramRun.besideTheTests("ClusterNodeExample"),
                                                 server.url(host: host.outside), schema, "1", "200", "1000"])
        }
        let nodeOne = try startNode(on: one)
        var nodeTwo: ProgramRun?
        defer {
            for node in [nodeOne, nodeTwo].compactMap({ $0 }) {
                node.signalGroup(SIGKILL)
                _ = node.wait(within: testDeadline)
            }
        }
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.nodes WHERE pid = \(nodeOne.pid)", toBe: 1),
                "\(nodeOne.output)")
        let future = try await cluster.submit(WaitForGate(directory: gates, value: 21))
        #expect(try await inspector.waitFor("""
            SELECT count(*) FROM $schema.tasks t JOIN $schema.nodes n ON n.id = t.owner
             WHERE t.state = 1 AND t.attempt = 1 AND n.pid = \(nodeOne.pid)
            """, toBe: 1), "\(nodeOne.output)")
        nodeTwo = try startNode(on: two)
        let twoPid = try #require(nodeTwo?.pid)

        try await network.cut(one)
        let cutAt = ContinuousClock.now
        let rescued = try await inspector.waitFor("""
            SELECT count(*) FROM $schema.tasks t JOIN $schema.nodes n ON n.id = t.owner
             WHERE t.state = 1 AND t.attempt = 2 AND n.pid = \(twoPid)
            """, toBe: 1)
        #expect(rescued, "\(nodeTwo?.output ?? "")")
        print("cluster: a host cut off, its task running again on another host after \(ContinuousClock.now - cutAt)")

        // Host 1's attempt finishes while it is cut off; back, its outcome is refused.
        #expect(FileManager.default.createFile(atPath: WaitForGate.gate(in: gates, node: nodeOne.pid), contents: nil))
        try await network.restore(one)
        #expect(await eventually { nodeOne.output.contains("outcome refused") }, "\(nodeOne.output)")
        #expect(!future.isDone)
        // It joins again (a new incarnation, its old one declared dead).
        #expect(await eventually { nodeOne.output.contains("joining again") }, "\(nodeOne.output)")
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.nodes WHERE pid = \(nodeOne.pid)", toBe: 1))

        // Host 2's attempt is the one outcome.
        #expect(FileManager.default.createFile(atPath: WaitForGate.gate(in: gates, node: twoPid), contents: nil))
        #expect(try await within { try await future.value } == GateOutput(doubled: 42, node: twoPid))
        #expect(try await inspector.waitFor("SELECT count(*) FROM $schema.tasks", toBe: 0))
        await cluster.shutdown()
    }
}
