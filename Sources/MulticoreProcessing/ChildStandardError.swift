import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The pipe a `ChildProcess`'s standard error goes through. Its read end is tapped (passed on
/// to this process's stderr byte for byte, its tail kept) by `ChildOutputReader` from before
/// the child starts; its write end goes to the child, with its request (spawn, forkserver) or
/// over the fork, and this process's copy is closed once the child has its own: only then does
/// the tap see end of file when the child ends.
struct ChildStandardError {
    let tap: SharedTap
    /// This process's copy of the write end, which the starter closes.
    let writeEnd: Int32

    /// How long a joiner waits for the pipe's end after the child's: a grandchild that inherited
    /// it may hold it open for good.
    static let endGrace = Duration.milliseconds(100)

    /// - Throws: `ProcessError.spawnFailed` when no pipe, or no reader thread, can be had.
    init() throws(ProcessError) {
        let ends: (read: FileDescriptor, write: FileDescriptor)
        do throws(Errno) { ends = try DescriptorPair.pipe() } catch { throw .spawnFailed(errno: error) }
        tap = SharedTap(descriptor: ends.read.rawValue, destination: .raw(STDERR_FILENO))
        writeEnd = ends.write.rawValue
        do throws(ProcessError) {
            try ChildOutputReader.watch(tap)
        } catch {
            closeDescriptor(writeEnd)
            throw error
        }
    }
}

/// A child's stderr tap that the reader thread and the child's joiner share: reached only under
/// its own lock.
final class SharedTap: @unchecked Sendable { // `tap` is reached only with `lock` held
    private let lock = Lock()
    private let tap: OutputTap
    /// The pipe's read end (the tap's).
    let descriptor: Int32

    /// Takes the read end `descriptor`; what comes is passed on to `destination`.
    init(descriptor: Int32, destination: OutputTap.Destination) {
        tap = OutputTap(descriptor: descriptor, destination: destination)
        self.descriptor = descriptor
    }

    /// Reads what has arrived, never waiting; whether the pipe's end was reached.
    func readAvailable() -> Bool {
        lock.withLock {
            tap.readAvailable()
            return tap.ended
        }
    }

    /// At the child's end: reads the rest, up to end of file or `deadline` (a grandchild may
    /// hold the pipe: then the reader thread goes on passing it on); the last KiB read and the
    /// last fatal-error line.
    func drain(until deadline: Deadline) -> (text: String, fatalLine: String?) {
        var ended = readAvailable()
        while !ended, !deadline.hasPassed {
            _ = try? Poll.isReady(descriptor, milliseconds: deadline.pollMilliseconds)
            ended = readAvailable()
        }
        // Out of the reader thread's set before it is closed; or back in it, to be read on.
        if ended { ChildOutputReader.forget(self) } else { try? ChildOutputReader.watch(self) }
        return lock.withLock {
            // Closed here, so that a joined child leaves no descriptor open behind it (the reader
            // thread may hold the tap a moment longer; it reads nothing from an ended tap).
            tap.close()
            return (tap.text, tap.fatalLine)
        }
    }
}
