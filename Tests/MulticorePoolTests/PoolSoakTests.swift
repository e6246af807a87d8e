import Testing
@testable import MulticorePool
import MulticoreSoak

@Suite(.timeLimit(.minutes(5))) struct PoolSoakTests {
    @Test func withRetriesEveryResultArrivesDespiteKilledWorkers() throws {
        let report = try PoolSoak.run(tasks: 4_000, workers: 2, retries: 3, killEvery: 400, deadline: .seconds(60))
        // Exactly what the pool promises (see `isSound`): a random killer may hit one task on
        // four workers in a row, which then fails after its three retries, and that is sound.
        #expect(report.isSound, "\(report)")
        #expect(report.diedBeforeRetriesUsed == 0 && report.workerDied * 4 <= report.kills, "\(report)")
        #expect(report.kills >= 3, "\(report)")
    }

    @Test func withoutRetriesEachTaskHasExactlyOneOutcome() throws {
        let report = try PoolSoak.run(tasks: 4_000, workers: 2, retries: 0, killEvery: 400, deadline: .seconds(60))
        #expect(report.isSound, "\(report)")
        #expect(report.results + report.workerDied == 4_000 && report.withoutOutcome == 0, "\(report)")
        #expect(report.diedBeforeRetriesUsed == 0, "\(report)")
        #expect(report.kills >= 3, "\(report)")
    }
}
