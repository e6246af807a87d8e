import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What `Connection.wait(_:timeout:)` can wait on: a connection (ready when a message or its
/// end-of-file can be received), a process's `sentinel` or any other descriptor (ready when it
/// is readable). Python: the objects `multiprocessing.connection.wait` takes.
public protocol Waitable {
    /// The descriptor that is readable once this is ready.
    /// - Throws: `ConnectionError.closed` for a closed connection.
    func waitDescriptor() throws -> Int32
    /// Ready without looking at the descriptor (a connection that already holds a whole message).
    var isReadyNow: Bool { get }
}

/// A raw descriptor, such as a process's `sentinel`: ready when readable (or at end-of-file).
extension Int32: Waitable {
    public func waitDescriptor() throws -> Int32 { self }
    public var isReadyNow: Bool { false }
}

extension Connection: Waitable {
    public func waitDescriptor() throws -> Int32 {
        guard readable else { throw ConnectionError.writeOnly }
        let fd = fileDescriptor
        guard fd >= 0 else { throw ConnectionError.closed }
        return fd
    }

    public var isReadyNow: Bool { (try? poll(timeout: .zero)) == true }
}

extension Connection {
    /// Waits until at least one of `objects` is ready, or `timeout` passes (nil: no limit; a
    /// negative one counts as zero), and returns the ready ones in the order given (none when
    /// it timed out). One `poll` for them all: no thread per object. Python:
    /// `multiprocessing.connection.wait(object_list, timeout=None)`.
    /// - Throws: `ConnectionError.closed` or `.writeOnly` for a connection that cannot be read;
    ///   `ConnectionError.system` for a descriptor that is not open (`EBADF`);
    ///   `ThreadingError.timeoutTooLarge`.
    @available(*, noasync, message: "blocks the thread")
    public static func wait<Object: Waitable>(_ objects: [Object], timeout: Duration? = nil) throws -> [Object] {
        try readyIndices(objects.map { $0 as any Waitable }, timeout: timeout).map { objects[$0] }
    }

    /// `wait` for a mix of kinds: connections, sentinels and descriptors.
    @available(*, noasync, message: "blocks the thread")
    public static func wait(_ objects: [any Waitable], timeout: Duration? = nil) throws -> [any Waitable] {
        try readyIndices(objects, timeout: timeout).map { objects[$0] }
    }

    private static func readyIndices(_ objects: [any Waitable], timeout: Duration?) throws -> [Int] {
        if let timeout, timeout.isBeyondTimeoutMax { throw ThreadingError.timeoutTooLarge }
        var entries = try objects.map { pollfd(fd: try $0.waitDescriptor(), events: Int16(POLLIN), revents: 0) }
        let already = objects.indices.filter { objects[$0].isReadyNow }
        if !already.isEmpty { return already }
        let deadline = Deadline.after(timeout.map { max($0, .zero) })
        while true {
            let milliseconds = deadline.remaining.map { Int32(clamping: ($0.nanoseconds + 999_999) / 1_000_000) } ?? -1
            let ready: Int
            do throws(Errno) { ready = try Poll.wait(&entries, milliseconds: milliseconds) } catch {
                throw ConnectionError.system(operation: "poll", errno: error)
            }
            if entries.contains(where: { Int32($0.revents) & POLLNVAL != 0 }) {
                throw ConnectionError.system(operation: "poll", errno: Errno(rawValue: EBADF))
            }
            if ready > 0 { return entries.indices.filter { entries[$0].revents != 0 } }
            // Recomputed after each wake-up: the Int32 cap (24 days) can end a poll early.
            if deadline.isNever || !deadline.hasPassed { continue }
            return []
        }
    }
}
