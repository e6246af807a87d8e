import MulticoreSystem
import SystemPackage

/// The parent's end of one output stream of a child (the read end of a pipe that is the child's
/// standard output or error): what arrives is passed on as the pool was told to, and the last
/// few KiB are kept, with the last fatal-error line, to travel with the child's death.
///
/// Read only when bytes are there (`readAvailable`: the descriptor is non-blocking), by one
/// thread, the one that polls it; not Sendable.
package final class OutputTap {
    /// Where what the child writes goes.
    package enum Destination {
        /// Byte for byte to this descriptor, as it comes (what inheriting the stream looks like).
        case raw(Int32)
        /// Whole lines to this descriptor, each with this prefix, one write per read: lines of
        /// different children are never mixed mid-line.
        case prefixed(Int32, String)
        /// Whole lines, without their newline, to this function (a logger).
        case lines((String) -> Void)
        /// Nowhere (the tail is still kept).
        case discard
    }

    /// How many bytes of the end of the stream are kept.
    package static let tailLimit = 4096

    /// The read end (non-blocking).
    package let descriptor: Int32
    private let destination: Destination
    private var tail: [UInt8] = []
    /// The unfinished last line (bounded: a line longer than `tailLimit` is cut there).
    private var partial: [UInt8] = []
    /// The last line that reads like a Swift runtime trap's message.
    package private(set) var fatalLine: String?
    /// End of file was read: every writer has closed it.
    package private(set) var ended = false
    /// The read end was closed (`close`), before the tap's end.
    private var closed = false

    /// Takes `descriptor` (closed with the tap), which it makes non-blocking.
    package init(descriptor: Int32, destination: Destination) {
        self.descriptor = descriptor
        self.destination = destination
        try? FileDescriptor(rawValue: descriptor).setNonBlocking()
    }

    deinit { if !closed { closeDescriptor(descriptor) } }

    /// Closes the read end now, once its end of file was read: not when the last holder of the
    /// tap lets it go, which may be another thread, later.
    package func close() {
        guard ended, !closed else { return }
        closed = true
        closeDescriptor(descriptor)
    }

    /// Reads what has arrived, never waiting: passes it on, keeps its tail. At end of file the
    /// unfinished line is passed on too.
    package func readAvailable() {
        guard !ended else { return }
        // Not zeroed: a read that finds nothing (the end of file, most calls) writes no memory.
        // In a parent that has just forked, each page written costs a fault and a page copy.
        withUnsafeTemporaryAllocation(byteCount: 16384, alignment: 16) { buffer in
            while true {
                let count: Int
                do {
                    count = try FileDescriptor(rawValue: descriptor).readAvailable(into: buffer)
                } catch {
                    return // EAGAIN: nothing more now (any other error: nothing more ever, the exit tells)
                }
                guard count > 0 else {
                    ended = true
                    if !partial.isEmpty { finishLines(flushingPartial: true) }
                    return
                }
                take(ArraySlice(UnsafeRawBufferPointer(rebasing: buffer[..<count])))
                if count < buffer.count { return }
            }
        }
    }

    /// The last bytes read, as text (invalid UTF-8 repaired).
    package var text: String { String(decoding: tail.suffix(Self.tailLimit), as: UTF8.self) }

    private func take(_ bytes: ArraySlice<UInt8>) {
        tail.append(contentsOf: bytes)
        if tail.count > 2 * Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
        if case .raw(let target) = destination { write(bytes, to: target) }
        partial.append(contentsOf: bytes)
        finishLines(flushingPartial: partial.count > Self.tailLimit)
    }

    /// Passes on the whole lines in `partial` (and the rest too when `flushingPartial`).
    private func finishLines(flushingPartial: Bool) {
        var lines: [ArraySlice<UInt8>] = []
        var start = partial.startIndex
        while let newline = partial[start...].firstIndex(of: 0x0A) {
            lines.append(partial[start..<newline])
            start = newline + 1
        }
        if flushingPartial, start < partial.endIndex {
            lines.append(partial[start...])
            start = partial.endIndex
        }
        guard !lines.isEmpty else { return }
        for line in lines where Self.isFatal(line) { fatalLine = String(decoding: line, as: UTF8.self) }
        switch destination {
        case .raw, .discard:
            break
        case .prefixed(let target, let prefix):
            var out: [UInt8] = []
            for line in lines {
                out.append(contentsOf: prefix.utf8)
                out.append(contentsOf: line)
                out.append(0x0A)
            }
            write(out[...], to: target)
        case .lines(let receive):
            for line in lines { receive(String(decoding: line, as: UTF8.self)) }
        }
        partial.removeFirst(start - partial.startIndex)
    }

    /// Whether `line` is a Swift runtime trap's message ("…: Fatal error: …", "Precondition
    /// failed", "Assertion failed").
    private static func isFatal(_ line: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: line, as: UTF8.self)
        return text.contains("Fatal error") || text.contains("Precondition failed") || text.contains("Assertion failed")
    }

    private func write(_ bytes: ArraySlice<UInt8>, to target: Int32) {
        _ = bytes.withUnsafeBytes { try? FileDescriptor(rawValue: target).writeAll($0) }
    }

    /// Reads what is left (the child has ended: nothing more comes but from its own children),
    /// and passes on the unfinished line.
    package func finish() {
        readAvailable()
        if !partial.isEmpty { finishLines(flushingPartial: true) }
    }
}
