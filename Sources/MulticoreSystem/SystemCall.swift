import CMulticore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A kind of wrapped system call: what the fault injector tells apart (one counter each).
///
/// The one EINTR policy of Multicore, for every call wrapped here: a call interrupted by a signal
/// handler is made again, at once, and a call with a timeout is made again with what is left of
/// it. No caller outside this module sees EINTR. The exception is a wait that returns to let its
/// caller look at a condition again (a futex wait): EINTR is then a spurious wake-up, returned.
///
/// The C shims (CMulticore) follow one convention: a negative errno on failure, a value >= 0 on
/// success; here failures become `Errno`.
package enum SystemCall: Int32, CaseIterable, Sendable {
    case read, write, send, receive, poll, sendDescriptors, receiveDescriptors, wait, accept, connect,
         spawn, descriptorPair, sharedMemory, sleep, files

    /// Runs `body` (a value >= 0, or -errno) under the EINTR policy, the fault injector first.
    /// - Parameter nonBlocking: the call is made not to block, so EAGAIN is one of its answers
    ///   (the injector only fakes EAGAIN for such calls).
    /// - Throws: the call's errno, never EINTR.
    @inline(__always)
    package func perform(nonBlocking: Bool = false, _ body: () -> Int) throws(Errno) -> Int {
        try transfer(0, nonBlocking: nonBlocking) { _ in body() }
    }

    /// Like `perform`, for a call that moves up to `count` bytes: `body` gets the count to ask for
    /// (fewer when the injector shortens this one) and returns how many moved, or -errno.
    @inline(__always)
    package func transfer(_ count: Int, nonBlocking: Bool, _ body: (Int) -> Int) throws(Errno) -> Int {
        while true {
            var asked = count
            if mc_fault_armed() != 0, let fault = FaultInjection.draw(self) {
                switch fault {
                case .interrupted: continue // as if the call had returned EINTR: made again
                case .wouldBlock: if nonBlocking { throw .resourceTemporarilyUnavailable }
                case .short: asked = min(count, max(1, count / 2))
                }
            }
            let result = body(asked)
            if result >= 0 { return result }
            if result == -Int(EINTR) { continue }
            throw Errno(rawValue: Int32(truncatingIfNeeded: -result))
        }
    }
}

/// A libc call's result in the shims' convention: -1 and `errno` become -errno.
@inline(__always)
package func negatedErrno(_ result: some BinaryInteger) -> Int {
    result < 0 ? -Int(errno) : Int(result)
}
