import Foundation
import Testing
import MulticoreTestSupport

/// The globals of main.swift are set in workers once `main` calls `enterWorkerIfChild()`: a
/// task that reads `let factor = 3` there used to read 0 (and an array constant crashed the
/// worker), silently. Runs the MainGlobalsExample executable (Tests/MainGlobalsExample), built
/// beside this test bundle.
@Suite(.timeLimit(.minutes(5))) struct MainGlobalsTests {
    /// Runs the example with `arguments`; its exit status and everything it printed.
    func runExample(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let executable = directory.appendingPathComponent("MainGlobalsExample")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path),
                     "MainGlobalsExample was not built beside the tests in \(directory.path)")
        let process = Foundation.Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Foundation.Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let ended = eventually { !process.isRunning }
        if !ended { process.terminate() }
        #expect(ended, "MainGlobalsExample \(arguments) did not end in time")
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, text)
    }

    @Test(arguments: ["spawn", "forkserver"])
    func poolTasksReadTheConstantsOfMainSwift(method: String) throws {
        let run = try runExample(["pool", method])
        #expect(run.status == 0 && run.output.contains("results: [100, 203, 306, 109, 212, 315]"), "\(run.output)")
    }

    @Test(arguments: ["spawn", "forkserver"])
    func aChildProcessReadsTheConstantsOfMainSwift(method: String) throws {
        let run = try runExample(["child", method])
        #expect(run.status == 0 && run.output.contains("result: 212"), "\(run.output)")
    }

    /// With stdout a pipe, what the parent printed before starting a child comes out before what
    /// the child prints (Python flushes before every start method; spawn used not to).
    @Test(arguments: ["spawn", "forkserver"])
    func theParentsOutputComesOutBeforeTheChilds(method: String) throws {
        let run = try runExample(["order", method])
        #expect(run.status == 0)
        #expect(run.output == "parent: before the child\nchild: hello\nparent: after the child\n", "\(run.output)")
    }

    /// A worker whose `main` goes past where the line should be cannot start processes of its
    /// own (Python's "bootstrapping phase" error) and ends with status 70, saying why.
    @Test func aWorkerThatNeverReachesTheLineSaysSoAndStartsNothing() throws {
        let run = try runExample(["forget"])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains("tried to start a process before main reached enterWorkerIfChild()"), "\(run.output)")
        #expect(run.output.contains("reached the end of main without calling enterWorkerIfChild()"), "\(run.output)")
        #expect(run.output.contains(") exited with code 70 without a result"), "\(run.output)")
    }
}
