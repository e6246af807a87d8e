import Testing
#if canImport(Glibc)
import Glibc
#endif
import MulticoreTestSupport

/// Ctrl-C on `multicore pool` and `multicore soak` (the built command, beside the tests): the
/// terminal's SIGINT goes to the whole job; the workers ignore it, the command stops its pool,
/// leaves no process behind and exits with 130.
@Suite(.timeLimit(.minutes(5))) struct CommandInterruptTests {
    @Test(arguments: [["pool", "--numbers", "1000", "--workers", "2"], ["soak", "--tasks", "100000", "--workers", "2"]])
    func ctrlCStopsTheCommandLeavingNoProcessAndExits130(arguments: [String]) throws {
        let run = try ProgramRun(beside: "multicore", arguments)
        // Running: its two workers are there (long before the work could be done).
        var workers: [pid_t] = []
        #expect(eventually {
            workers = run.descendants().filter { ProgramRun.programName($0) == "multicore-worker" }
            return workers.count >= 2
        }, "the workers started: \(run.output)")
        let started = run.descendants()
        try #require(!started.isEmpty)
        run.signalGroup(SIGINT)
        // Promised: within a second. Checked with room for a loaded machine, never for speed.
        let status = run.wait(within: .seconds(10))
        #expect(status == 130, "exit status \(status.map(String.init) ?? "none: still running"): \(run.output)")
        #expect(eventually(within: .seconds(10)) { started.allSatisfy(ProgramRun.isGone) },
                "left running: \(started.filter { !ProgramRun.isGone($0) })")
        #expect(run.output.contains("interrupted: stopping the pool"), "\(run.output)")
    }
}
