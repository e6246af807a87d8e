#if canImport(Glibc)
import Glibc
#endif
@testable import MulticoreSystem
import SystemPackage
import Testing

/// `OutputFile` (what `multicore bench --svg` writes through): opened before the run, so that a
/// path that cannot be written fails at once, and replaced whole at the end.
@Suite struct OutputFileTests {
    let path = "/tmp/multicore-output-file-test-\(getpid()).txt"

    @Test func opensWithoutTruncatingAndReplacesTheWholeContents() throws {
        defer { unlink(path) }
        let first = try OutputFile(path: path)
        try first.replaceContents(with: "a longer first picture")
        let second = try OutputFile(path: path)
        #expect(MemoryCgroup.readText(path) == "a longer first picture", "opening leaves the file as it was")
        try second.replaceContents(with: "short")
        #expect(MemoryCgroup.readText(path) == "short")
    }

    @Test func aPathThatCannotBeWrittenFailsWhenOpened() {
        #expect(throws: Errno.isDirectory) { try OutputFile(path: "/tmp") }
        #expect(throws: Errno.noSuchFileOrDirectory) { try OutputFile(path: "/nonexistent-multicore-folder/picture.svg") }
    }
}
