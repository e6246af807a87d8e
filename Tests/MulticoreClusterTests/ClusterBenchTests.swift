import Foundation
import MulticoreBenchReport
import MulticoreTestSupport
import Testing

/// `multicore-cluster bench`: a small run of its quickest row against the tests' server gives one
/// well-formed row, and leaves none of its schemas behind.
extension ClusterTests {
    @Test func theBenchmarksSubmitLatencyRowIsWellFormed() async throws {
        let url = try ThrowawayPostgres.url
        let program = ProgramRun.besideTheTests("multicore-cluster")
        let (status, output) = try await runProgramAside(program, ["bench", "--database", url, "--filter", "cluster.submit.latency",
                                                                  "--rounds", "1", "--json", "--skip-peers"])
        #expect(status == 0, "\(output)")
        let rows = output.split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
        #expect(rows.count == 1, "\(output)")
        let row = try #require(rows.first.flatMap { ClusterBenchCatalog.row(json: $0) }, "\(output)")
        #expect(row.name == "cluster.submit.latency" && row.unit == "s")
        // Seconds of a round trip through the server: positive and finite (how many is not asserted).
        #expect((row.multicore ?? 0) > 0 && (row.multicore ?? .infinity) < 60, "\(output)")
        #expect((row.raw ?? 0) > 0 && (row.raw ?? .infinity) < 60, "\(output)")
        #expect(row.verdict != .none)
        // Each part ran in a schema of its own, dropped at the end.
        let inspector = try QueueInspector(url: url, schema: "public")
        #expect(try await inspector.int("""
            SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench\\_%' OR nspname LIKE 'raw\\_%'
            """) == 0)
        // A usage error is told as one.
        #expect(try await runProgramAside(program, ["bench", "--rounds", "0"]).status == 2)
    }
}
