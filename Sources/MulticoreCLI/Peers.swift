import CMulticoreBench
import MulticoreBenchReport
#if canImport(Glibc)
import Glibc
#endif

/// `multicore bench --peers`: loky, pebble and joblib, the Python libraries people reach for
/// when multiprocessing's pools fall short, doing the same work as the benchmarks that have a
/// counterpart in them (Benchmarks/python/peers_bench.py). They are installed from PyPI into a
/// virtual environment under the package's .build the first time.
struct PeerReference {
    static let peers = ["loky", "pebble", "joblib"]

    /// The package's root, found from this source file's place in it.
    static let packageRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3) // Sources/MulticoreCLI/Peers.swift
        return parts.joined(separator: "/")
    }()

    static let environment = packageRoot + "/.build/peers-venv"
    static let script = packageRoot + "/Benchmarks/python/peers_bench.py"
    static var python: String { environment + "/bin/python" }

    /// Which peers have each benchmark's work: asked of the script (which imports no peer for that).
    let pairs: [String: [String]]
    /// Whether the peers could be installed: when not, every pair's figure is missing.
    var installed: Bool { versions != nil }
    /// "loky=3.7.0 pebble=5.2.3 joblib=1.6.0" when they are installed.
    let versions: String?

    /// The peers' figures for one benchmark, measured with `iterations` (CPython's count: the
    /// script takes fewer for a slow peer); nil when no peer has this work.
    func measure(_ name: String, iterations: Int) -> [PeerFigure]? {
        guard let peers = pairs[name] else { return nil }
        return peers.map { peer in
            guard installed else { return PeerFigure(peer: peer, value: nil) }
            let run = runProgram([Self.python, Self.script, name, peer, String(iterations)], standardError: false)
            guard run.status == 0, let value = Double(run.output.filter { !$0.isWhitespace }) else {
                Console.writeError("peers: \(peer) failed on \(name) (status \(run.status))\n")
                return PeerFigure(peer: peer, value: nil)
            }
            return PeerFigure(peer: peer, value: value)
        }
    }

    /// Makes the virtual environment and installs the peers the first time; says in one line
    /// on standard error what it did, or why the peers' figures will be missing.
    static func prepare() -> PeerReference {
        let listing = runProgram(["python3", script, "--list"], standardError: false)
        var pairs: [String: [String]] = [:]
        for line in listing.output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 { pairs[String(fields[0]), default: []].append(String(fields[1])) }
        }
        guard listing.status == 0, !pairs.isEmpty else {
            Console.writeError("peers: cannot list the peers' benchmarks (python3 \(script) --list: status \(listing.status)); no peer figures\n")
            return PeerReference(pairs: [:], versions: nil)
        }
        if let versions = versions() {
            Console.writeError("peers: \(versions) (in .build/peers-venv)\n")
            return PeerReference(pairs: pairs, versions: versions)
        }
        Console.writeError("peers: installing \(peers.joined(separator: ", ")) from PyPI into .build/peers-venv (first run only)...\n")
        let created = runProgram(["python3", "-m", "venv", environment], standardError: true)
        guard created.status == 0 else {
            Console.writeError("peers: cannot make a virtual environment (python3 -m venv: status \(created.status): \(lastLine(created.output))); no peer figures\n")
            return PeerReference(pairs: pairs, versions: nil)
        }
        let pip = runProgram([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1", "--timeout", "20"] + peers,
                             standardError: true)
        guard pip.status == 0, let versions = versions() else {
            Console.writeError("peers: cannot install \(peers.joined(separator: ", ")) (pip: status \(pip.status): \(lastLine(pip.output))); no peer figures\n")
            return PeerReference(pairs: pairs, versions: nil)
        }
        Console.writeError("peers: installed \(versions)\n")
        return PeerReference(pairs: pairs, versions: versions)
    }

    /// "loky=3.7.0 pebble=5.2.3 joblib=1.6.0", or nil when the environment lacks a peer.
    private static func versions() -> String? {
        let run = runProgram([python, script, "--versions"], standardError: true)
        let line = lastLine(run.output)
        return run.status == 0 && !line.isEmpty ? line : nil
    }

    private static func lastLine(_ text: String) -> String {
        String(text.split(separator: "\n").last { !$0.allSatisfy(\.isWhitespace) } ?? "no output")
    }
}

/// Runs `arguments` (the program searched in PATH) and returns its exit status and its
/// standard output (with its standard error too, when asked: then nothing reaches the
/// terminal). Keeps the last 64 kB.
func runProgram(_ arguments: [String], standardError: Bool) -> (status: Int32, output: String) {
    var output = [CChar](repeating: 0, count: 65_536)
    let status = withCStringArray(arguments) { argv in
        mcb_run_collect(argv, &output, Int32(output.count), standardError ? 1 : 0)
    }
    return (status, String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

/// Calls `body` with `strings` as a NULL-terminated C `argv`.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
