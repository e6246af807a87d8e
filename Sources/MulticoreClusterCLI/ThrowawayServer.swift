#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MulticoreSystem

/// A throwaway PostgreSQL server for the soak and the benchmark, started by
/// Scripts/postgres-server.sh as the cluster tests start theirs (the binaries installed with
/// apt-get when absent and run as root; initdb in a temporary folder, 127.0.0.1, a free port,
/// fsync off). The script stops it and removes its folder once this process is gone, however it
/// ended (a failure, Ctrl-C, a SIGKILL); `stop()` does it at once.
struct ThrowawayServer {
    let directory: String
    let url: String

    /// The package's root, found from this source file's place in it (as the main bench finds
    /// its Python scripts).
    static let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The script: `MULTICORE_POSTGRES_SCRIPT`, or Scripts/postgres-server.sh of the sources
    /// this binary was built from.
    static var script: String {
        if let path = ProcessInfo.processInfo.environment["MULTICORE_POSTGRES_SCRIPT"] { return path }
        return packageRoot + "/Scripts/postgres-server.sh"
    }

    static func start() throws -> ThrowawayServer {
        let install = runScript(["install"])
        guard install.status == 0 else { throw SoakError("\(script) install failed (status \(install.status)): \(install.output)") }
        let directory = NSTemporaryDirectory() + "multicore-cluster-soak-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let started = runScript(["start", directory, "\(getpid())"])
        guard started.status == 0, let url = started.output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            try? FileManager.default.removeItem(atPath: directory)
            throw SoakError("no PostgreSQL server (\(script) start: status \(started.status)): \(started.output)"
                            + "(install the server binaries with `\(script) install` as root, or pass --database URL)")
        }
        return ThrowawayServer(directory: directory, url: String(url))
    }

    func stop() { _ = Self.runScript(["stop", directory]) }

    /// Runs the script to its end (at most 2 minutes; the install at most 15): its status and output.
    private static func runScript(_ arguments: [String]) -> (status: Int32, output: String) {
        ChildProgram.run(["/bin/bash", script] + arguments, within: arguments.first == "install" ? .seconds(900) : .seconds(120))
    }
}

/// Why the soak could not run.
struct SoakError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
