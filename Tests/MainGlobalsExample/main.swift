// A program whose tasks read constants of main.swift, as a port of a Python script does with
// its module's constants. Run by ProcessingTests (MainGlobalsTests) as its own process:
//   MainGlobalsExample pool spawn|forkserver   doubles through a Pool, prints the results
//   MainGlobalsExample child spawn|forkserver  one ChildProcess, prints its result
//   MainGlobalsExample forget                  workers skip enterWorkerIfChild() (a defect)
//   MainGlobalsExample order spawn|forkserver  prints a line, a child prints one, then another
import Multicore
#if canImport(Glibc)
import Glibc
#endif

// Read by the task in the workers: set there only because `enterWorkerIfChild()` below hands
// each worker over to main after them (without it, `factor` reads 0 and `table` crashes).
let factor = 3
let table = [100, 200, 300]

struct Scale: ProcessTask {
    var x: Int
    func run() -> Int { x * factor + table[x % table.count] }
}

struct Say: ProcessTask {
    var line: String
    func run() -> Int {
        print(line)
        return 0
    }
}

// The line this program exists for. (In "forget" mode the workers skip it, to show what
// happens then; a real program calls it unconditionally.)
if getenv("MAIN_GLOBALS_WORKERS_SKIP_ENTRY") == nil { enterWorkerIfChild() }

let arguments = Array(CommandLine.arguments.dropFirst())
let method: StartMethod = arguments.count > 1 && arguments[1] == "forkserver" ? .forkserver : .spawn
do {
    switch arguments.first ?? "pool" {
    case "pool":
        let pool = try Pool(processes: 2, startMethod: method)
        defer { pool.terminate() }
        print("results: \(try pool.map((0..<6).map { Scale(x: $0) }))")
    case "child":
        let child = ChildProcess(task: Scale(x: 4), startMethod: method)
        try child.start()
        _ = try child.join(timeout: .seconds(20))
        print("result: \(try child.result())")
    case "order":
        print("parent: before the child")
        let child = ChildProcess(task: Say(line: "child: hello"), startMethod: method)
        try child.start()
        _ = try child.join(timeout: .seconds(20))
        print("parent: after the child")
    case "forget":
        setenv("MAIN_GLOBALS_WORKERS_SKIP_ENTRY", "1", 1)
        let child = ChildProcess(task: Scale(x: 4))
        try child.start()
        _ = try child.join(timeout: .seconds(20))
        print("result: \(try child.result())")
    default:
        print("usage: MainGlobalsExample pool|child [spawn|forkserver] | forget")
        exit(64)
    }
} catch {
    print("error: \(error)")
    exit(1)
}
