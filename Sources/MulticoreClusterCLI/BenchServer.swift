#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The benchmark's own throwaway PostgreSQL server, started by the package's
/// Scripts/postgres-server.sh (initdb into a temporary folder, 127.0.0.1, a free port, fsync
/// off; the binaries installed with apt-get when absent and run as root). `stop()` stops it and
/// removes its folder; the script's watch on this process does the same within a second when the
/// benchmark ends any other way (a failure, Ctrl-C, a SIGKILL).
struct BenchServer: Sendable {
    let directory: String
    let url: String

    /// The package's root, found from this source file's place in it (as the main bench finds
    /// its Python scripts).
    static let packageRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3) // Sources/MulticoreClusterCLI/BenchServer.swift
        return parts.joined(separator: "/")
    }()

    static var script: String { packageRoot + "/Scripts/postgres-server.sh" }

    /// Installs the binaries when absent, then starts a server watched by this process.
    static func start() throws -> BenchServer {
        guard FileManager.default.isExecutableFile(atPath: script) || FileManager.default.fileExists(atPath: script) else {
            throw BenchError("no \(script): the benchmark starts its server with the package's script (or pass --database URL)")
        }
        let install = ChildProgram.run(["/bin/bash", script, "install"])
        guard install.status == 0 else { throw BenchError("\(script) install failed (status \(install.status)): \(install.output)") }
        let directory = NSTemporaryDirectory() + "multicore-bench-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        } catch {
            throw BenchError("cannot make \(directory): \(error)")
        }
        let started = ChildProgram.run(["/bin/bash", script, "start", directory, "\(getpid())"])
        guard started.status == 0, let url = started.output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            _ = ChildProgram.run(["/bin/bash", script, "stop", directory])
            throw BenchError("the server did not start (status \(started.status)): \(started.output)")
        }
        return BenchServer(directory: directory, url: String(url))
    }

    /// Stops the server (immediate) and removes its folder.
    func stop() { _ = ChildProgram.run(["/bin/bash", Self.script, "stop", directory]) }
}

/// A benchmark that could not be measured, and why.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
