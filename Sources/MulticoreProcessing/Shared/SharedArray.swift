import Synchronization

/// A fixed-size array of trivially copyable elements in shared memory, usable from every
/// process that receives it. Corresponds to Python's `multiprocessing.Array(typecode, size, lock=True)`.
///
/// With a lock (the default, a `SharedRLock`), each subscript access takes the lock, as Python's
/// synchronized wrapper does; `withLock` holds it around a whole block of work. Bulk work
/// without the lock goes through `withUnsafeMutableBufferPointer`.
/// Sending it encodes its name; the process that created it must keep it while others attach.
public final class SharedArray<Element: BitwiseCopyable>: Codable, Sendable {
    let region: SharedRegion
    /// The array's lock, if it was created with one. Python: `Array.get_lock()`.
    public let lock: SharedRLock?
    /// The number of elements. Python: `len(array)`.
    public let count: Int
    /// The elements of a small array start after the count, one cache line in.
    static var smallDataOffset: Int { 64 }
    /// Arrays of at least this many bytes start their elements on a page of their own: a large
    /// copy into memory that does not start on a page runs at half speed here (256 MB: 290 ms
    /// against 150 ms, glibc's memcpy at offset 128 of a shared page; README, Shared memory).
    static var pageAlignedBytes: Int { 1 << 20 }
    /// The elements of a large array start on the block's second page (the mapping starts on one).
    static var largeDataOffset: Int { 4096 - SharedRegion.headerSize }

    /// Where the elements of an array of `bytes` start in its block's fields.
    static func dataOffset(bytes: Int) -> Int { bytes >= pageAlignedBytes ? largeDataOffset : smallDataOffset }

    /// Where this array's elements start in its block's fields (a function of its count alone).
    var dataOffset: Int { Self.dataOffset(bytes: count * MemoryLayout<Element>.stride) }

    /// An array of `count` copies of `value`. Python: `multiprocessing.Array(typecode, count)`.
    /// - Throws: `SharedMemoryError.invalidSize` for a negative count; when the system refuses.
    public init(repeating value: Element, count: Int, lock: Bool = true) throws(SharedMemoryError) {
        guard count >= 0, count < Int.max / max(1, MemoryLayout<Element>.stride) - 128 else { throw .invalidSize(count) }
        let bytes = count * MemoryLayout<Element>.stride
        let dataOffset = Self.dataOffset(bytes: bytes)
        region = try SharedRegion(create: .array, size: dataOffset + max(1, bytes), layout: UInt64(MemoryLayout<Element>.stride))
        region.word64(0).pointee.store(UInt64(count), ordering: .releasing)
        self.count = count
        self.lock = lock ? try SharedRLock() : nil
        if !Self.isZero(value) {
            let elements = (region.fields + dataOffset).bindMemory(to: Element.self, capacity: count)
            elements.initialize(repeating: value, count: count)
        }
    }

    /// An array holding `elements`. Python: `multiprocessing.Array(typecode, sequence)`.
    public convenience init(_ elements: [Element], lock: Bool = true) throws(SharedMemoryError) {
        guard let first = elements.first else {
            try self.init(repeating: Self.zero, count: 0, lock: lock)
            return
        }
        try self.init(repeating: first, count: elements.count, lock: lock)
        withUnsafeMutableBufferPointer { buffer in _ = buffer.initialize(from: elements) }
    }

    private static var zero: Element {
        withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { buffer in
            UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
            return buffer[0]
        }
    }

    private static func isZero(_ value: Element) -> Bool {
        withUnsafeBytes(of: value) { $0.allSatisfy { $0 == 0 } }
    }

    private enum CodingKeys: String, CodingKey { case name, lock }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        region = try SharedRegion(attach: name, kind: .array, size: Self.smallDataOffset,
                                  layout: UInt64(MemoryLayout<Element>.stride))
        let stored = Int(region.word64(0).pointee.load(ordering: .acquiring))
        guard stored >= 0, stored < Int.max / max(1, MemoryLayout<Element>.stride) - 4096,
              region.memory.size >= SharedRegion.headerSize + Self.dataOffset(bytes: stored * MemoryLayout<Element>.stride)
                  + stored * MemoryLayout<Element>.stride else {
            throw SharedMemoryError.incompatible(name: name, reason: "the block is smaller than its elements")
        }
        count = stored
        lock = try container.decodeIfPresent(SharedRLock.self, forKey: .lock)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(region.name, forKey: .name)
        try container.encodeIfPresent(lock, forKey: .lock)
    }

    /// The name of the array's shared memory block.
    public var name: String { region.name }

    var elements: UnsafeMutablePointer<Element> {
        (region.fields + dataOffset).assumingMemoryBound(to: Element.self)
    }

    /// The element at `index`, read or written under the lock when there is one.
    /// Python: `array[i]`. Traps on an index out of range, like a Swift array.
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "SharedArray index out of range")
            guard let lock else { return elements[index] }
            return (try? lock.withLock { elements[index] }) ?? elements[index]
        }
        set {
            precondition(index >= 0 && index < count, "SharedArray index out of range")
            guard let lock else { elements[index] = newValue; return }
            if (try? lock.withLock({ elements[index] = newValue })) == nil { elements[index] = newValue }
        }
    }

    /// A copy of every element, taken under the lock when there is one. Python: `array[:]`.
    public var values: [Element] {
        let copy = { Array(UnsafeBufferPointer(start: self.elements, count: self.count)) }
        guard let lock else { return copy() }
        return (try? lock.withLock(copy)) ?? copy()
    }

    /// Runs `body` on the elements, without the lock. Other processes see the writes.
    public func withUnsafeMutableBufferPointer<R, E: Error>(_ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: elements, count: count))
    }

    /// Runs `body` on the elements with the lock held (without a lock, just runs it).
    /// - Throws: `OwnerDiedError` when the lock's holder died (`body` does not run); what `body` throws.
    @available(*, noasync, message: "blocks the thread")
    public func withLock<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws -> R) throws -> R {
        let buffer = UnsafeMutableBufferPointer(start: elements, count: count)
        guard let lock else { return try body(buffer) }
        return try lock.withLock { try body(buffer) }
    }
}
