import Testing
@testable import MulticoreBenchReport

/// The cluster rows travel from `multicore-cluster bench --json` to `multicore bench --cluster`
/// as JSON lines: read back with their goals from the catalog.
@Suite struct ClusterBenchCatalogTests {
    @Test func aRowReadBackFromItsJSONHasItsFiguresPeersAndGoal() throws {
        let entry = try #require(ClusterBenchCatalog.entry("cluster.map.auto"))
        let row = BenchRow(name: entry.name, unit: entry.unit, goal: entry.goal, multicore: 2.5e-5, python: nil, raw: 2e-5,
                           peers: [PeerFigure(peer: "pgqueuer", value: 1.6e-4), PeerFigure(peer: "procrastinate", value: nil)])
        let read = try #require(ClusterBenchCatalog.row(json: row.json))
        #expect(read.name == "cluster.map.auto" && read.unit == "s/task" && read.goal == entry.goal)
        #expect(read.multicore == 2.5e-5 && read.python == nil && read.raw == 2e-5)
        #expect(read.peers == [PeerFigure(peer: "pgqueuer", value: 1.6e-4), PeerFigure(peer: "procrastinate", value: nil)])
        #expect(read.text == row.text && read.json == row.json)
        // 1.25x raw, 6.4x faster than pgqueuer: both goals met.
        #expect(read.verdict == .met)
        #expect(read.goalText == "met: <=1.5x raw, >=2x faster than the best peer")
    }

    @Test func aRowWithoutPeersOrWithAbsoluteGoalsReadsBack() throws {
        let read = try #require(ClusterBenchCatalog.row(json:
            "{\"name\": \"cluster.task_crash_detect\", \"unit\": \"s\", \"multicore\": 0.2, \"python\": null, \"raw\": null, \"peers\": {}}"))
        #expect(read.peers == [] && read.multicore == 0.2)
        #expect(read.goalText == "MISSED: <=0.1 s")
    }

    @Test func linesThatAreNotClusterRowsAreNotRows() {
        for line in ["bench: load average 1.0 1.0 1.0", "", "{}", "{\"name\": \"lock.uncontended\", \"multicore\": 1}",
                     "{\"name\": \"cluster.map.auto\", \"multicore\": 1", "{\"name\": \"cluster.map.auto\"} trailing",
                     "[1, 2]", "{\"name\": \"cluster.map.auto\", \"multicore\": 1e}"] {
            #expect(ClusterBenchCatalog.row(json: line) == nil, "\(line)")
        }
    }
}
