import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreProcessing

/// Reports what currentProcess() and parentProcess() say, and optionally the same from a child
/// of its own.
struct IdentityReport: ProcessTask {
    var nested: Bool
    func run() throws -> [String] {
        let me = currentProcess()
        guard let parent = parentProcess() else { return ["no parent"] }
        var report = [me.name, "\(me.pid == getpid())", "\(me.identity)", "\(me.isMain)",
                      "\(parent.pid == getppid())", parent.name, "\(parent.isAlive)", "\(!(try parent.join(timeout: .milliseconds(1))))"]
        if nested {
            let child = ChildProcess(task: IdentityReport(nested: false), name: "grandchild")
            try child.start()
            _ = try child.join(timeout: .seconds(20))
            report += try child.result()
        }
        return report
    }
}

@Suite(.timeLimit(.minutes(5))) struct ProcessIdentityTests {
    @Test func theMainProcessHasNoParent() {
        let me = currentProcess()
        #expect(me.name == "MainProcess" && me.isMain && me.identity.isEmpty && me.pid == getpid())
        #expect(parentProcess() == nil)
    }

    @Test func aChildKnowsItselfAndItsParent() throws {
        let child = ChildProcess(task: IdentityReport(nested: true), name: "reporter")
        try child.start()
        #expect(try child.join(timeout: testDeadline))
        let report = try child.result()
        #expect(report.count == 16)
        #expect(Array(report.prefix(8)) == ["reporter", "true", "\(child.identityForTests)", "false", "true", "MainProcess", "true", "true"])
        #expect(report[8] == "grandchild" && report[13] == "reporter", "the grandchild's parent is the child")
        // The grandchild's identity extends the child's: [n, 1] for the child [n].
        #expect(report[10] == "\(child.identityForTests + [1])")
    }
}
