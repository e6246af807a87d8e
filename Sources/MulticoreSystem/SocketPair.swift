import CMulticore
import SystemPackage

/// Two connected descriptors, both close-on-exec.
package enum DescriptorPair {
    /// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two ends that both read and write.
    package static func socketPair() throws(Errno) -> (FileDescriptor, FileDescriptor) {
        try make { mc_socketpair_cloexec($0) }
    }

    /// pipe2(O_CLOEXEC): the read end, then the write end.
    package static func pipe() throws(Errno) -> (read: FileDescriptor, write: FileDescriptor) {
        try make { mc_pipe_cloexec($0) }
    }

    private static func make(_ shim: (UnsafeMutablePointer<Int32>) -> Int32) throws(Errno) -> (FileDescriptor, FileDescriptor) {
        var fds: (Int32, Int32) = (-1, -1)
        _ = try SystemCall.descriptorPair.perform {
            withUnsafeMutablePointer(to: &fds) { pair in
                pair.withMemoryRebound(to: Int32.self, capacity: 2) { Int(shim($0)) }
            }
        }
        return (FileDescriptor(rawValue: fds.0), FileDescriptor(rawValue: fds.1))
    }
}
