import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// In the child: starts a grandchild that sleeps forever, writes its pid to `pidFile`, then
/// sleeps forever itself (until the test kills it).
struct SpawnsGrandchild: ProcessTask {
    var pidFile: String
    var method: StartMethod = .spawn
    func run() throws -> Int {
        let grandchild = ChildProcess(task: Sleeper(), startMethod: method)
        try grandchild.start()
        let text = "\(grandchild.pid ?? 0)\n"
        guard let file = fopen(pidFile + ".tmp", "w") else { return 1 }
        fputs(text, file)
        fclose(file)
        rename(pidFile + ".tmp", pidFile) // the parent never reads a half-written file
        while true { pause() }
    }
}

@Suite(.timeLimit(.minutes(5))) struct OrphanTests {
    @Test(arguments: [StartMethod.spawn, .forkserver, .fork])
    func aGrandchildDiesWhenItsParentIsKilled(method: StartMethod) throws {
        let pidFile = "/tmp/multicore-orphan-test-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        defer { unlink(pidFile) }
        let child = ChildProcess(task: SpawnsGrandchild(pidFile: pidFile, method: method))
        try child.start()
        var grandchild: pid_t = 0
        #expect(eventually {
            guard let file = fopen(pidFile, "r") else { return false }
            defer { fclose(file) }
            var value: Int32 = 0
            guard withUnsafeMutablePointer(to: &value, { fscanfInt(file, $0) }) else { return false }
            grandchild = value
            return true
        })
        try #require(grandchild > 0)
        #expect(!processIsGone(grandchild), "the grandchild runs while its parent lives")
        try child.kill()
        #expect(try child.join(timeout: testDeadline))
        #expect(try child.exitCode == -SIGKILL)
        #expect(eventually { processIsGone(grandchild) }, "the grandchild did not outlive its parent")
    }
}

/// Reads one integer (`fscanf` is variadic, which Swift does not import).
private func fscanfInt(_ file: UnsafeMutablePointer<FILE>, _ value: UnsafeMutablePointer<Int32>) -> Bool {
    var buffer = [CChar](repeating: 0, count: 32)
    guard fgets(&buffer, Int32(buffer.count), file) != nil,
          let number = Int32(String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    else { return false }
    value.pointee = number
    return true
}
