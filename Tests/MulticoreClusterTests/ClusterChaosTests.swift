import Foundation
import MulticoreTestSupport
import Testing

/// The chaos soak, bounded: `multicore-cluster soak` maps 20,000 doublers over 3 node processes
/// while it SIGKILLs nodes (started again at once) and their workers at random, every 0.5 s on
/// average from a seed it prints; it exits with 0 only when every task had exactly one outcome
/// and no row was left. The janitor vacuums every second here: the `tasks` table's dead tuples,
/// sampled every second, stay bounded. A task leaves about three (its claim, its completion, its
/// deletion): with no janitor, about 57,000 over the same 20,000 tasks; with one, at most about
/// 7,000 when a run took 12 to 17 s, and up to 21,800 since the pool got faster (20,000 tasks in
/// 5 s: a second's vacuum then trails more tasks). The bound is half of what no janitor leaves.
/// The nodes' ThreadSanitizer reports, if any, fail the soak.
extension ClusterTests {
    @Test func aMapThroughRandomKillsOfNodesAndWorkersHasExactlyOneOutcomePerTask() async throws {
        let url = try ThrowawayPostgres.url
        let schema = "t_chaos"
        let seed = UInt32.random(in: 0...UInt32.max)
        // Under ThreadSanitizer every process of the soak is instrumented: a quarter of the tasks
        // (20,000 took 96 s there, on a loaded machine, against 12 to 17 s plain).
        let tasks = underThreadSanitizer ? 5_000 : 20_000
        let run = try await runProgramAside(
            ProgramRun.besideTheTests("multicore-cluster"),
            ["soak", "--tasks", "\(tasks)", "--nodes", "3", "--processes", "2", "--database", url, "--schema", schema, "--seed", "\(seed)",
             "--kill-every", "0.5", "--vacuum-interval", "1", "--window", "1", "--deadline", "200"],
            within: .seconds(240))
        let output = run.output
        #expect(run.status == 0, "seed \(seed): \(output)")
        #expect(output.contains("soak: \(tasks) tasks in"), "\(output)")
        #expect(output.contains("0 tasks without one, 0 duplicates (every task had exactly one outcome)"), "\(output)")
        #expect(output.contains("0 other failures, 0 wrong outputs"), "\(output)")
        #expect(output.contains("rows left: 0"), "\(output)")
        // Both kinds of kill happened (the first kill is a node's, the second a worker's).
        let kills = try #require(number(after: "kills: ", in: output)), workers = try #require(number(after: "(started again), ", in: output))
        #expect(kills >= 1 && workers >= 1, "\(output)")
        let dead = try #require(number(after: "live, ", in: output))
        #expect(dead <= tasks * 3 / 2, "dead tuples stay bounded: \(output)")

        // The database agrees: no row left.
        let inspector = try QueueInspector(url: url, schema: schema)
        #expect(try await inspector.int("SELECT count(*) FROM $schema.tasks") == 0)
    }
}

private let underThreadSanitizer = dlsym(nil, "__tsan_init") != nil

/// The whole number right after `marker` in `text`.
private func number(after marker: String, in text: String) -> Int? {
    guard let range = text.range(of: marker) else { return nil }
    return Int(text[range.upperBound...].prefix { $0.isNumber })
}
