import Testing
#if canImport(Glibc)
import Glibc
#endif
import MulticoreTestSupport

/// `PoolService` in a real `ServiceGroup`, shut down by a real SIGTERM: run in the
/// PoolServiceExample program (Tests/PoolServiceExample, built beside the tests), so that the
/// signal never reaches the test runner.
@Suite(.timeLimit(.minutes(5))) struct PoolServiceTests {
    @Test func onSIGTERMTheGroupDrainsItsPoolsAndLeavesNoWorker() throws {
        let run = try ProgramRun(beside: "PoolServiceExample", [])
        // Ready: a ProcessPoolExecutor and a Pool, each running a task the shutdown releases and
        // one that would never end.
        #expect(eventually { run.output.contains("\nready\n") || run.wait(within: .zero) != nil }, "\(run.output)")
        let workers = run.output.split(separator: "\n").first { $0.hasPrefix("workers: ") }.map {
            $0.dropFirst("workers: ".count).split(separator: " ").compactMap { Int32($0) }
        } ?? []
        let started = run.descendants()
        #expect(workers.count == 4 && Set(workers).isSubset(of: started), "\(workers) of \(started): \(run.output)")
        run.signal(SIGTERM)
        // Two grace periods of 2 s, one pool after the other; checked with room to spare.
        let status = run.wait(within: testDeadline)
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none: still running"): \(run.output)")
        let output = run.output
        // The tasks running at SIGTERM that finished within the grace period delivered their
        // results; those still running at its end failed with the typed error.
        #expect(output.contains("executor held: 7\n") && output.contains("pool held: 5\n"), "\(output)")
        let expired = "PoolShutdownError: the pool was shut down and its grace period of 2.0 seconds ended"
        #expect(output.contains("executor long: \(expired)") && output.contains("pool long: \(expired)"), "\(output)")
        #expect(output.hasSuffix("outcome: ok\n"), "\(output)")
        #expect(eventually(within: .seconds(10)) { started.allSatisfy(ProgramRun.isGone) },
                "left running: \(started.filter { !ProgramRun.isGone($0) })")
    }
}
