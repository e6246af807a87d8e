import CMulticore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Closes `fd` (a negative one is ignored). Never retried: Linux frees the descriptor even when
/// close reports EINTR, and another thread may have been given the number since. Its errors
/// (EIO on some file systems) concern no caller here: every descriptor closed is a pipe, a
/// socket, a pidfd or a shared memory object.
package func closeDescriptor(_ fd: Int32) {
    guard fd >= 0 else { return }
    _ = Glibc.close(fd)
}

extension FileDescriptor {
    /// Reads up to `buffer.count` bytes: how many came, 0 at end-of-file.
    package func readSome(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try SystemCall.read.transfer(buffer.count, nonBlocking: false) { count in
            do {
                return try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), retryOnInterrupt: true)
            } catch {
                return -Int((error as? Errno ?? .ioError).rawValue)
            }
        }
    }

    /// Reads up to `buffer.count` bytes from a descriptor in non-blocking mode: EAGAIN is thrown
    /// when there are none now.
    package func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try SystemCall.read.transfer(buffer.count, nonBlocking: true) { count in
            negatedErrno(Glibc.read(rawValue, buffer.baseAddress, count))
        }
    }

    /// Writes up to `bytes.count` bytes: how many went (possibly fewer: write the rest after).
    /// - Parameter nonBlocking: the descriptor is in non-blocking mode (EAGAIN when full).
    package func writeSome(_ bytes: UnsafeRawBufferPointer, nonBlocking: Bool = false) throws(Errno) -> Int {
        try SystemCall.write.transfer(bytes.count, nonBlocking: nonBlocking) { count in
            do {
                return try write(UnsafeRawBufferPointer(rebasing: bytes[..<count]), retryOnInterrupt: true)
            } catch {
                return -Int((error as? Errno ?? .ioError).rawValue)
            }
        }
    }

    /// Writes all of `bytes`, however many writes it takes.
    package func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            offset += try writeSome(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    /// Writes `bytes` to a kernel control file (a cgroup's, /proc's, sysfs') in one write(2).
    /// Such a file takes each write as one command: a text split over two writes would be two
    /// commands (a pid "4242" sent as "42" and "42" moves two other processes), so this never
    /// splits it and the fault injector never shortens it (the kernel takes a control write whole
    /// or refuses it). EINTR makes the write again.
    /// - Throws: the kernel's refusal (ESRCH: no such process; EINVAL: not a value it accepts),
    ///   or EIO if the kernel took part of it.
    package func writeCommand(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        let written = try SystemCall.files.perform { negatedErrno(Glibc.write(rawValue, bytes.baseAddress, bytes.count)) }
        if written != bytes.count { throw .ioError }
    }

    /// Reads exactly `buffer.count` bytes; false at end-of-file before that.
    package func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let count = try readSome(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
            if count == 0 { return false }
            offset += count
        }
        return true
    }

    /// send(2) on a socket, never raising SIGPIPE (MSG_NOSIGNAL): how many bytes went.
    /// - Parameter nonBlocking: MSG_DONTWAIT (EAGAIN when the socket is full).
    package func sendSome(_ bytes: UnsafeRawBufferPointer, nonBlocking: Bool) throws(Errno) -> Int {
        let flags = Int32(MSG_NOSIGNAL) | (nonBlocking ? Int32(MSG_DONTWAIT) : 0)
        return try SystemCall.send.transfer(bytes.count, nonBlocking: nonBlocking) { count in
            negatedErrno(Glibc.send(rawValue, bytes.baseAddress, count, flags))
        }
    }

    /// recv(2) on a socket: how many bytes came, 0 at end-of-file.
    /// - Parameter nonBlocking: MSG_DONTWAIT (EAGAIN when none are there now).
    package func receiveSome(into buffer: UnsafeMutableRawBufferPointer, nonBlocking: Bool) throws(Errno) -> Int {
        let flags = nonBlocking ? Int32(MSG_DONTWAIT) : 0
        return try SystemCall.receive.transfer(buffer.count, nonBlocking: nonBlocking) { count in
            negatedErrno(Glibc.recv(rawValue, buffer.baseAddress, count, flags))
        }
    }

    /// A copy of this descriptor, close-on-exec (F_DUPFD_CLOEXEC).
    package func duplicateCloseOnExec() throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: Int32(try SystemCall.descriptorPair.perform { negatedErrno(fcntl(rawValue, F_DUPFD_CLOEXEC, 0)) }))
    }

    /// Makes `target` (a standard stream: 1, 2) a copy of this descriptor (dup2): what a worker
    /// does to send its output to its pool.
    package func redirect(onto target: Int32) throws(Errno) {
        _ = try SystemCall.descriptorPair.perform { negatedErrno(Glibc.dup2(rawValue, target)) }
    }

    /// Puts the descriptor in non-blocking mode (O_NONBLOCK).
    package func setNonBlocking() throws(Errno) {
        _ = try SystemCall.descriptorPair.perform {
            let flags = fcntl(rawValue, F_GETFL)
            return flags < 0 ? negatedErrno(flags) : negatedErrno(fcntl(rawValue, F_SETFL, flags | O_NONBLOCK))
        }
    }
}
