#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreSystem

/// A throwaway PostgreSQL server for the soak, started by Scripts/postgres-server.sh as the
/// cluster tests start theirs (initdb in a temporary folder, 127.0.0.1, a free port, fsync off).
/// The script stops it and removes its folder once this process is gone, however it ended;
/// `stop()` does it at once.
struct ThrowawayServer {
    let directory: String
    let url: String

    /// The script: `MULTICORE_POSTGRES_SCRIPT`, or Scripts/postgres-server.sh of the sources
    /// this binary was built from.
    static var script: String {
        if let path = ProcessInfo.processInfo.environment["MULTICORE_POSTGRES_SCRIPT"] { return path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/postgres-server.sh").path
    }

    static func start() throws -> ThrowawayServer {
        let directory = NSTemporaryDirectory() + "multicore-cluster-soak-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let started = try runScript(["start", directory, "\(getpid())"])
        guard started.status == 0, let url = started.output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            try? FileManager.default.removeItem(atPath: directory)
            throw SoakError("no PostgreSQL server (\(script) start: status \(started.status)): \(started.output)"
                            + "(install the server binaries with `\(script) install` as root, or pass --database URL)")
        }
        return ThrowawayServer(directory: directory, url: String(url))
    }

    func stop() { _ = try? Self.runScript(["stop", directory]) }

    /// Runs the script to its end (at most 2 minutes): its status and output.
    private static func runScript(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "multicore-cluster-script-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let output = try ProgramSpawn.openOutput(outputPath)
        defer {
            closeDescriptor(output)
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        let run = try ChildProgram("/bin/bash", [script] + arguments, output: output)
        guard ChildProgram.waitForExit([run], within: .seconds(120)) else {
            run.signal(SIGKILL)
            ChildProgram.waitForExit([run], within: .seconds(5))
            return (-1, "timed out")
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (run.exitStatus, text)
    }
}

/// Why the soak could not run.
struct SoakError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
