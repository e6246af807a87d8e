import CMulticore
import MulticoreThreading
import Synchronization

/// One item of a `ShareableList`: the types Python's `ShareableList` holds.
public enum ShareableItem: Codable, Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    case bytes([UInt8])
    /// Python's `None`.
    case none

    /// The bytes it takes in the list, as Python counts them: 8 for a number, a Bool or none;
    /// a string's UTF-8 bytes or the bytes, rounded up to a multiple of 8.
    var storage: Int {
        switch self {
        case .int, .double, .bool, .none: 8
        case .string(let text): (text.utf8.count + 7) / 8 * 8
        case .bytes(let bytes): (bytes.count + 7) / 8 * 8
        }
    }

    fileprivate var tag: UInt32 {
        switch self {
        case .int: 1
        case .double: 2
        case .bool: 3
        case .string: 4
        case .bytes: 5
        case .none: 6
        }
    }

    public var description: String {
        switch self {
        case .int(let value): "\(value)"
        case .double(let value): "\(value)"
        case .bool(let value): value ? "true" : "false"
        case .string(let text): "\"\(text)\""
        case .bytes(let bytes): "bytes(\(bytes.count))"
        case .none: "none"
        }
    }
}

/// Why a `ShareableList` refused an index or an item. Python raises `IndexError` and `ValueError`.
public enum ShareableListError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Python: `IndexError("index out of range")`.
    case indexOutOfRange(Int, count: Int)
    /// The item needs more bytes than its slot got when the list was created.
    /// Python: `ValueError("bytes/str item exceeds available storage")`.
    case itemTooLarge(index: Int, size: Int, available: Int)

    public var description: String {
        switch self {
        case .indexOutOfRange(let index, let count): "index \(index) out of range for a list of \(count)"
        case .itemTooLarge(let index, let size, let available):
            "bytes/str item exceeds available storage: item \(index) needs \(size) bytes, its slot has \(available)"
        }
    }
}

/// A list of fixed length in shared memory whose items are numbers, Bools, strings, bytes or
/// none, readable and writable from every process that has it. Corresponds to Python's
/// `multiprocessing.shared_memory.ShareableList`, with its size rules: each item keeps the
/// room it had at creation (8 bytes for a number, a Bool or none; a string's or bytes' length
/// rounded up to 8), and an item may be replaced by any item that fits (`set` throws
/// `ShareableListError.itemTooLarge` otherwise). Each read and write takes the list's own
/// process-shared lock, so a reader never sees half an item.
///
/// Sending it in a task encodes its name; the process that created it must keep it while others
/// attach, and its block is unlinked when that process releases it (or ends).
public final class ShareableList: Codable, Sendable, RandomAccessCollection {
    let region: SharedRegion
    /// The number of items. Python: `len(list)`.
    public let count: Int

    // Fields: the item count (8 bytes), the lock word (4, then 4 spare), then a slot per item
    // (tag, length, room, offset of its bytes: 4 bytes each), then the items' bytes.
    private static let slotsOffset = 16
    private static let slotSize = 16
    private var lockWord: SharedLockWord { SharedLockWord(word: region.word(8)) }

    /// A list of `items` in a new block. Python: `ShareableList(sequence)`.
    /// - Throws: `SharedMemoryError` when the system refuses the memory.
    public init(_ items: [ShareableItem]) throws(SharedMemoryError) {
        let dataOffset = Self.slotsOffset + items.count * Self.slotSize
        let total = dataOffset + items.reduce(0) { $0 + $1.storage }
        region = try SharedRegion(create: .list, size: Swift.max(total, 1))
        count = items.count
        region.word64(0).pointee.store(UInt64(items.count), ordering: .relaxed)
        var offset = dataOffset
        for (index, item) in items.enumerated() {
            let slot = region.fields + Self.slotsOffset + index * Self.slotSize
            slot.storeBytes(of: UInt32(item.storage), toByteOffset: 8, as: UInt32.self)
            slot.storeBytes(of: UInt32(offset), toByteOffset: 12, as: UInt32.self)
            write(item, at: index)
            offset += item.storage
        }
    }

    /// Attaches to the list in the block `name`. Python: `ShareableList(name=name)`.
    /// - Throws: `SharedMemoryError.notFound`, `.incompatible` (not a list, or a block too small).
    public init(attach name: String) throws(SharedMemoryError) {
        region = try SharedRegion(attach: name, kind: .list, size: Self.slotsOffset)
        count = Int(region.word64(0).pointee.load(ordering: .relaxed))
        let slotsEnd = Self.slotsOffset + count * Self.slotSize
        guard count >= 0, region.memory.size >= SharedRegion.headerSize + slotsEnd else {
            throw .incompatible(name: name, reason: "the block is too small for \(count) items")
        }
        for index in 0..<count {
            let (room, offset) = slot(index)
            guard offset >= slotsEnd, region.memory.size >= SharedRegion.headerSize + offset + room else {
                throw .incompatible(name: name, reason: "item \(index) lies outside the block")
            }
        }
    }

    public convenience init(from decoder: any Decoder) throws {
        try self.init(attach: String(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws { try region.name.encode(to: encoder) }

    /// The name of the list's shared memory block. Python: `ShareableList.shm.name`.
    public var name: String { region.name }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    /// The item at `position` (which must be in `0..<count`, as for an Array; `item(at:)`
    /// throws instead). Python: `list[index]`.
    public subscript(position: Int) -> ShareableItem {
        precondition(indices.contains(position), "ShareableList index \(position) out of range for \(count) items")
        return locked { read(at: position) }
    }

    /// The item at `index`; negative indices count from the end, as in Python.
    /// - Throws: `ShareableListError.indexOutOfRange`.
    public func item(at index: Int) throws(ShareableListError) -> ShareableItem {
        let position = try resolve(index)
        return locked { read(at: position) }
    }

    /// Replaces the item at `index` (negative indices count from the end) by `item`, of any
    /// type, if it fits in the room the slot got at creation. Python: `list[index] = item`.
    /// - Throws: `ShareableListError.indexOutOfRange`, `.itemTooLarge`.
    public func set(_ index: Int, to item: ShareableItem) throws(ShareableListError) {
        let position = try resolve(index)
        let room = slot(position).room
        guard item.storage <= room else { throw .itemTooLarge(index: index, size: item.storage, available: room) }
        locked { write(item, at: position) }
    }

    /// Python: `ShareableList.index(value)`: the first position holding `item`, or nil.
    public func firstIndex(of item: ShareableItem) -> Int? { locked { (0..<count).first { read(at: $0) == item } } }

    /// Python: `ShareableList.count(value)`.
    public func occurrences(of item: ShareableItem) -> Int { locked { (0..<count).count { read(at: $0) == item } } }

    private func resolve(_ index: Int) throws(ShareableListError) -> Int {
        let position = index < 0 ? index + count : index
        guard position >= 0, position < count else { throw .indexOutOfRange(index, count: count) }
        return position
    }

    private func slot(_ index: Int) -> (room: Int, offset: Int) {
        let slot = region.fields + Self.slotsOffset + index * Self.slotSize
        return (Int(slot.load(fromByteOffset: 8, as: UInt32.self)), Int(slot.load(fromByteOffset: 12, as: UInt32.self)))
    }

    private func locked<R>(_ body: () -> R) -> R {
        let me = mc_gettid()
        // A holder that died cannot have left an item half written for long: take it over.
        _ = lockWord.acquire(as: me, deadline: .never)
        defer { _ = lockWord.release() }
        return body()
    }

    private func write(_ item: ShareableItem, at index: Int) {
        let slot = region.fields + Self.slotsOffset + index * Self.slotSize
        let data = region.fields + slot.load(fromByteOffset: 12, as: UInt32.self).asInt
        var length = 8
        switch item {
        case .int(let value): data.storeBytes(of: Int64(value), as: Int64.self)
        case .double(let value): data.storeBytes(of: value, as: Double.self)
        case .bool(let value): data.storeBytes(of: value ? 1 : 0, as: UInt64.self)
        case .none: data.storeBytes(of: 0, as: UInt64.self)
        case .string(let text):
            let utf8 = Array(text.utf8)
            utf8.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            length = utf8.count
        case .bytes(let bytes):
            bytes.withUnsafeBytes { if let base = $0.baseAddress { data.copyMemory(from: base, byteCount: $0.count) } }
            length = bytes.count
        }
        slot.storeBytes(of: item.tag, toByteOffset: 0, as: UInt32.self)
        slot.storeBytes(of: UInt32(length), toByteOffset: 4, as: UInt32.self)
    }

    private func read(at index: Int) -> ShareableItem {
        let slot = region.fields + Self.slotsOffset + index * Self.slotSize
        let tag = slot.load(fromByteOffset: 0, as: UInt32.self)
        let length = Int(Swift.min(slot.load(fromByteOffset: 4, as: UInt32.self), slot.load(fromByteOffset: 8, as: UInt32.self)))
        let data = region.fields + slot.load(fromByteOffset: 12, as: UInt32.self).asInt
        switch tag {
        case 1: return .int(Int(data.load(as: Int64.self)))
        case 2: return .double(data.load(as: Double.self))
        case 3: return .bool(data.load(as: UInt64.self) != 0)
        case 4: return .string(String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self))
        case 5: return .bytes(Array(UnsafeRawBufferPointer(start: data, count: length)))
        default: return .none
        }
    }
}

private extension UInt32 {
    var asInt: Int { Int(self) }
}
