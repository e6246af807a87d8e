import Testing
@testable import MulticorePool

@Suite(.timeLimit(.minutes(5))) struct PoolSoakTests {
    @Test func withRetriesEveryResultArrivesDespiteKilledWorkers() throws {
        let report = try PoolSoak.run(tasks: 4_000, workers: 2, retries: 3, killEvery: 400, deadline: .seconds(60))
        #expect(report.isSound, "\(report)")
        #expect(report.results == 4_000, "\(report)")
        #expect(report.kills >= 3, "\(report)")
    }

    @Test func withoutRetriesEachTaskHasExactlyOneOutcome() throws {
        let report = try PoolSoak.run(tasks: 4_000, workers: 2, retries: 0, killEvery: 400, deadline: .seconds(60))
        #expect(report.isSound, "\(report)")
        #expect(report.results + report.workerDied == 4_000 && report.withoutOutcome == 0, "\(report)")
        #expect(report.kills >= 3, "\(report)")
    }
}
