#if canImport(Glibc)
import Glibc
#endif
import MulticoreBenchReport
import MulticoreSystem

/// The `multicore-cluster` executable beside this one (the same build's folder): the cluster
/// commands live there so that `multicore`, whose workers are copies of it, links no PostgreSQL
/// client. `multicore cluster ARGS` is `multicore-cluster ARGS`; `multicore bench --cluster`
/// merges the rows of `multicore-cluster bench --json`.
enum ClusterSibling {
    /// Its path, or a usage-free error saying where it was looked for.
    static func path() throws(ClusterSiblingError) -> String {
        guard let own = Executable.path(), let slash = own.lastIndex(of: "/") else {
            throw ClusterSiblingError("cannot read this executable's path (/proc/self/exe)")
        }
        let sibling = String(own[..<slash]) + "/multicore-cluster"
        guard access(sibling, X_OK) == 0 else {
            throw ClusterSiblingError("no multicore-cluster beside this executable (\(sibling)): build it with "
                                      + "`swift build --product multicore-cluster` (the cluster commands live there)")
        }
        return sibling
    }

    /// `multicore cluster ARGS`: this process becomes `multicore-cluster ARGS` (its output, exit
    /// status and signals are that program's).
    static func forward(_ arguments: [String]) throws -> Never {
        let sibling = try path()
        do {
            try Executable.replaceProcess(with: sibling, arguments: ["multicore-cluster"] + arguments)
        } catch {
            throw ClusterSiblingError("cannot run \(sibling): \(error)")
        }
    }

    /// The cluster rows, measured by `multicore-cluster bench --json` (its progress and notes go
    /// to standard error as it runs): on `database`, or on a throwaway server it starts.
    static func benchRows(filter: String?, rounds: Int?, database: String?, peers: Bool) throws -> [BenchRow] {
        var arguments = [try path(), "bench", "--json"]
        if let filter { arguments += ["--filter", filter] }
        if let rounds { arguments += ["--rounds", "\(rounds)"] }
        if let database { arguments += ["--database", database] }
        if !peers { arguments.append("--skip-peers") }
        let run = runProgram(arguments, standardError: false)
        let rows = run.output.split(separator: "\n").compactMap { ClusterBenchCatalog.row(json: String($0)) }
        if run.status != 0 {
            Console.writeError("bench: multicore-cluster bench ended with status \(run.status)\(rows.isEmpty ? "" : " (its rows are kept)")\n")
        }
        return rows
    }

    /// Whether some cluster row's name contains `filter` (all do when there is none).
    static func hasRows(matching filter: String?) -> Bool {
        ClusterBenchCatalog.entries.contains { entry in filter.map { entry.name.contains($0) } ?? true }
    }
}

struct ClusterSiblingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
