import CMulticore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// POSIX shared memory objects and their mappings.
package enum SharedMemoryObject {
    /// Opens the object `name` ("/..."), creating it (exclusively when `exclusive`) with `size`
    /// bytes when `create`, its memory reserved at once when `allocate`: its descriptor
    /// (close-on-exec) and its size.
    package static func open(_ name: String, create: Bool, exclusive: Bool = true, size: Int,
                             allocate: Bool) throws(Errno) -> (descriptor: Int32, size: Int) {
        var actual = 0
        let fd = try SystemCall.sharedMemory.perform {
            Int(mc_shm_open(name, create ? 1 : 0, exclusive ? 1 : 0, size, allocate ? 1 : 0, &actual))
        }
        return (Int32(fd), actual)
    }

    /// shm_unlink(name).
    package static func unlink(_ name: String) throws(Errno) {
        _ = try SystemCall.sharedMemory.perform { Int(mc_shm_unlink(name)) }
    }

    /// Maps `size` bytes of `fd`, shared, read and write.
    package static func map(_ fd: Int32, size: Int) throws(Errno) -> UnsafeMutableRawPointer {
        var address: UnsafeMutableRawPointer?
        _ = try SystemCall.sharedMemory.perform { Int(mc_map_shared(fd, size, &address)) }
        return address!
    }

    /// Unmaps what `map` mapped.
    package static func unmap(_ address: UnsafeMutableRawPointer, size: Int) {
        _ = munmap(address, size)
    }

    /// Makes the pages of `length` bytes from `address` exist (MADV_POPULATE_WRITE).
    /// - Throws: ENOMEM or EFAULT where a write would have raised SIGBUS.
    package static func populate(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno) {
        _ = try SystemCall.sharedMemory.perform { Int(mc_populate_shared(address, length)) }
    }

    /// Gives back the whole pages inside `length` bytes from `address` (MADV_REMOVE).
    package static func discard(_ address: UnsafeMutableRawPointer, length: Int) throws(Errno) {
        _ = try SystemCall.sharedMemory.perform { Int(mc_discard_shared(address, length)) }
    }
}
