import SystemPackage
/// Why a shared memory block or a shared object could not be created, attached or used.
/// Corresponds to the `FileExistsError`, `FileNotFoundError` and `ValueError` that Python's
/// `multiprocessing.shared_memory.SharedMemory` raises.
public enum SharedMemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A block with this name exists already. Python: `FileExistsError`.
    case exists(name: String)
    /// No block has this name (never created, or unlinked). Python: `FileNotFoundError`.
    case notFound(name: String)
    /// A name that is empty, too long or contains "/".
    case invalidName(String)
    /// A size of zero or less for a new block.
    /// Python: `ValueError("'size' must be a positive number different from zero")`.
    case invalidSize(Int)
    /// The block exists but does not hold what was expected (another kind of shared object,
    /// another element type, or a block too small).
    case incompatible(name: String, reason: String)
    /// /dev/shm has no room for the block (or the queue's ring, as it grows).
    case noSpace(size: Int)
    /// The handle was closed.
    case closed
    /// No shared memory tracker could be started for this process (no descriptor or process
    /// left): a block created without one would be left in /dev/shm if this process were
    /// killed, so none is created. Python's `resource_tracker` raises when it cannot start too.
    case trackerUnavailable(reason: String)
    /// The system refused (an errno from shm_open, ftruncate or mmap; ENOSPC when /dev/shm is full).
    case system(operation: String, errno: Errno)

    /// The message, in Python's words where Python has one.
    public var description: String {
        switch self {
        case .exists(let name): "a shared memory block named '\(name)' exists already"
        case .notFound(let name): "no shared memory block named '\(name)'"
        case .invalidName(let name): "invalid shared memory name '\(name)' (1 to 250 bytes, no '/')"
        case .invalidSize(let size): "'size' must be a positive number different from zero (got \(size))"
        case .incompatible(let name, let reason): "shared memory block '\(name)' cannot be used here: \(reason)"
        case .noSpace(let size): "no space left in /dev/shm for \(size) bytes of shared memory"
        case .closed: "the shared memory block is closed"
        case .trackerUnavailable(let reason):
            "the shared memory tracker could not be started (\(reason)), and a block without it would outlive a killed process"
        case .system(let operation, let errno): "\(operation) failed: \(errno) (errno \(errno.rawValue))"
        }
    }
}
