import CMulticore
import MulticoreThreading
import Synchronization

/// The shared memory block behind one shared object (a lock, a queue, a value...): a 64-byte
/// header, then the object's fields at fixed offsets.
///
/// The header names the kind of object and its layout, so that attaching a name to the wrong
/// kind of object fails with `SharedMemoryError.incompatible` instead of misreading memory.
/// The handle that created the block unlinks its name when it is released; the tracker does
/// it if the process dies first.
final class SharedRegion: Sendable {
    enum Kind: UInt32 {
        case lock = 1, rlock, semaphore, condition, event, barrier, value, array, queue, list
    }

    static let headerSize = 64
    private static let magic: UInt32 = 0x4D43_5348 // "MCSH"

    let memory: SharedMemory
    /// The start of the object's fields (after the header). Valid as long as this region lives.
    nonisolated(unsafe) let fields: UnsafeMutableRawPointer

    /// Creates a block for an object of `kind` with `size` bytes of fields (zeroed), and a
    /// `layout` word (an element size, a capacity...) that attachers must match.
    init(create kind: Kind, size: Int, layout: UInt64 = 0, allocate: Bool = true) throws(SharedMemoryError) {
        memory = try SharedMemory(create: Self.headerSize + size, allocate: allocate)
        guard let base = memory.address else { throw .closed }
        fields = base + Self.headerSize
        base.storeBytes(of: kind.rawValue, toByteOffset: 4, as: UInt32.self)
        base.storeBytes(of: layout, toByteOffset: 8, as: UInt64.self)
        // The magic word last: a block is usable once it carries it.
        base.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(Self.magic, ordering: .releasing)
    }

    /// Attaches to the block `name`, which must hold an object of `kind` with this `layout`.
    init(attach name: String, kind: Kind, size: Int, layout: UInt64 = 0) throws(SharedMemoryError) {
        memory = try SharedMemory(attach: name)
        guard let base = memory.address else { throw .closed }
        guard memory.size >= Self.headerSize + size,
              base.assumingMemoryBound(to: Atomic<UInt32>.self).pointee.load(ordering: .acquiring) == Self.magic else {
            throw .incompatible(name: name, reason: "it is not a Multicore shared object")
        }
        let found = base.load(fromByteOffset: 4, as: UInt32.self)
        guard found == kind.rawValue else {
            let foundName = Kind(rawValue: found).map { "\($0)" } ?? "unknown (\(found))"
            throw .incompatible(name: name, reason: "it holds a \(foundName), not a \(kind)")
        }
        guard base.load(fromByteOffset: 8, as: UInt64.self) == layout else {
            throw .incompatible(name: name, reason: "its layout differs (another element type or size)")
        }
        fields = base + Self.headerSize
    }

    deinit { memory.unlinkIfCreated() }

    var name: String { memory.name }

    /// The 32-bit atomic at `offset` in the fields (4-byte aligned).
    func word(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (fields + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The 64-bit atomic at `offset` in the fields (8-byte aligned).
    func word64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (fields + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }
}
