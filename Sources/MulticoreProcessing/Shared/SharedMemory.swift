import CMulticore
import MulticoreSystem
import MulticoreThreading
import SystemPackage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A named block of memory that every process can map: create it in one process, attach to it
/// by name in others. Corresponds to Python's `multiprocessing.shared_memory.SharedMemory`.
///
/// Its memory is reserved when it is created: when /dev/shm is full, creating it throws
/// `SharedMemoryError.noSpace` (Python's block crashes its process with SIGBUS later, at the
/// first write to a page that cannot be had).
///
/// `close()` unmaps the block in this process; `unlink()` removes its name, and the memory goes
/// away once every process has closed it. A block is never left behind in /dev/shm: a block not
/// unlinked by the process that created it is unlinked when that process ends, even by SIGKILL
/// (a small tracker process, started with the first block, does it; when none can be started,
/// creating a block throws `SharedMemoryError.trackerUnavailable`). Python's tracker is shared
/// by a process and its children and cleans up when the main process ends; here each creating
/// process has its own (a forked child too), so a block a child created lives until that child
/// ends.
public final class SharedMemory: @unchecked Sendable { // the mapping is guarded by `lock`; its contents are the user's
    /// The block's name, without the leading "/". Python: `SharedMemory.name`.
    public let name: String
    /// The size of the block in bytes (of the mapping: attaching maps the whole block).
    /// Python: `SharedMemory.size`.
    public let size: Int
    private let lock = Lock()
    private var base: UnsafeMutableRawPointer?
    private var linked: Bool
    private let created: Bool

    /// Creates a new block of `size` bytes, filled with zeros. Corresponds to Python's
    /// `SharedMemory(name=None, create=True, size=size)`.
    /// - Parameter name: nil picks a fresh unique name.
    /// - Throws: `SharedMemoryError.exists`, `.invalidSize`, `.invalidName`, `.noSpace`,
    ///   `.trackerUnavailable` (no tracker could be started to unlink it after a crash), `.system`.
    public convenience init(create size: Int, name: String? = nil) throws(SharedMemoryError) {
        try self.init(create: size, name: name, allocate: true)
    }

    /// Creates a block; with `allocate`, its memory is reserved at once, so that a full
    /// /dev/shm fails here with `.noSpace` (Python's block would raise SIGBUS at the first write
    /// to a page that cannot be had). A queue's ring reserves its pages as it goes instead.
    convenience init(create size: Int, name: String? = nil, allocate: Bool) throws(SharedMemoryError) {
        guard size > 0 else { throw .invalidSize(size) }
        try self.init(name: name ?? SharedMemory.freshName(), create: true, size: size, allocate: allocate)
    }

    /// Attaches to the existing block `name`. Corresponds to Python's `SharedMemory(name)`.
    /// - Throws: `SharedMemoryError.notFound`, `.invalidName`, `.system`.
    public convenience init(attach name: String) throws(SharedMemoryError) {
        try self.init(name: name, create: false, size: 0, allocate: false)
    }

    private init(name: String, create: Bool, size: Int, allocate: Bool) throws(SharedMemoryError) {
        guard !name.isEmpty, name.utf8.count <= 250, !name.contains("/") else { throw .invalidName(name) }
        let fd: Int32, actual: Int
        do throws(Errno) {
            (fd, actual) = try SharedMemoryObject.open("/" + name, create: create, size: size, allocate: allocate)
        } catch {
            switch error {
            case .fileExists: throw .exists(name: name)
            case .noSpace, .noMemory, .fileTooLarge: throw .noSpace(size: size)
            case .noSuchFileOrDirectory: throw .notFound(name: name)
            case .invalidArgument, .fileNameTooLong: throw .invalidName(name)
            default: throw .system(operation: create ? "shm_open(create)" : "shm_open", errno: error)
            }
        }
        defer { closeDescriptor(fd) }
        if create {
            do throws(SharedMemoryError) {
                try ResourceTracker.register(name)
            } catch {
                try? SharedMemoryObject.unlink("/" + name)
                throw error
            }
        }
        guard actual > 0 else {
            if create { try? SharedMemoryObject.unlink("/" + name); ResourceTracker.unregister(name) }
            throw .incompatible(name: name, reason: "it is empty")
        }
        let address: UnsafeMutableRawPointer
        do throws(Errno) { address = try SharedMemoryObject.map(fd, size: actual) } catch {
            if create { try? SharedMemoryObject.unlink("/" + name); ResourceTracker.unregister(name) }
            throw .system(operation: "mmap", errno: error)
        }
        self.name = name
        self.size = actual
        self.base = address
        self.linked = create
        self.created = create
    }

    deinit {
        if let base { SharedMemoryObject.unmap(base, size: size) }
    }

    /// The block's bytes, valid until `close()`. Python: `SharedMemory.buf`.
    /// - Throws: `SharedMemoryError.closed`.
    public func buffer() throws(SharedMemoryError) -> UnsafeMutableRawBufferPointer {
        guard let base = lock.withLock({ self.base }) else { throw .closed }
        return UnsafeMutableRawBufferPointer(start: base, count: size)
    }

    /// The start of the mapping, for the shared objects built on a block.
    var address: UnsafeMutableRawPointer? { lock.withLock { base } }

    /// Unmaps the block in this process; the name and the other processes' mappings stay.
    /// Calling it again does nothing. Python: `SharedMemory.close()`.
    public func close() {
        lock.withLock {
            if let base { SharedMemoryObject.unmap(base, size: size) }
            base = nil
        }
    }

    /// Removes the block's name: no process can attach any more, and the memory is freed once
    /// every process has closed it. Python: `SharedMemory.unlink()`.
    /// - Throws: `SharedMemoryError.notFound` when the name is gone already.
    public func unlink() throws(SharedMemoryError) {
        let result = Result { () throws(Errno) in try SharedMemoryObject.unlink("/" + name) }
        if created { ResourceTracker.unregister(name) }
        lock.withLock { linked = false }
        switch result {
        case .success: return
        case .failure(.noSuchFileOrDirectory): throw .notFound(name: name)
        case .failure(let error): throw .system(operation: "shm_unlink", errno: error)
        }
    }

    /// Unlinks the block if this handle created it and has not unlinked it: what the shared
    /// objects built on blocks do when the creating process lets them go.
    func unlinkIfCreated() {
        guard created, lock.withLock({ linked }) else { return }
        try? unlink()
    }

    private static let counter = Atomic<Int>(0)

    /// "mc_<pid>_<n>_<random>": unique across processes and runs.
    static func freshName() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "mc_\(getpid())_\(n)_\(String(UInt32.random(in: 0 ... .max), radix: 36))"
    }
}

/// A block travels to a child inside a task as its name; the child attaches to it (maps the
/// same memory) when the task is decoded. The creating process must keep its handle (and not
/// unlink the block) while children may still attach. Python passes a `SharedMemory` to a
/// child the same way, by name.
extension SharedMemory: Codable {
    public convenience init(from decoder: any Decoder) throws {
        try self.init(attach: String(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws { try name.encode(to: encoder) }
}
