import CMulticore
import SystemPackage

/// Two connected descriptors, both close-on-exec.
package enum DescriptorPair {
    /// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two ends that both read and write.
    package static func socketPair() throws(Errno) -> (FileDescriptor, FileDescriptor) {
        try make { mc_socketpair_cloexec($0) }
    }

    /// Asks for `bytes` of send buffer on socket `descriptor` (SO_SNDBUF, which the kernel caps
    /// at net.core.wmem_max): how much one end may write before the other reads.
    /// (Not a `SystemCall`: it does not block, so it is never interrupted.)
    package static func setSendBuffer(of descriptor: FileDescriptor, to bytes: Int32) throws(Errno) {
        let result = mc_socket_send_buffer(descriptor.rawValue, bytes)
        if result < 0 { throw Errno(rawValue: -result) }
    }

    /// Asks for `bytes` of capacity on pipe `descriptor` (F_SETPIPE_SZ; above
    /// /proc/sys/fs/pipe-max-size, 1 MiB by default, only with CAP_SYS_RESOURCE): how much its
    /// writer may write before its reader reads. (Not a `SystemCall`: it never blocks.)
    package static func setPipeCapacity(of descriptor: FileDescriptor, to bytes: Int32) throws(Errno) {
        let result = mc_pipe_capacity(descriptor.rawValue, bytes)
        if result < 0 { throw Errno(rawValue: -result) }
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
