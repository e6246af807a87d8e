import MulticoreProcessing

/// The arguments and results that are a single number, flag or string, as their bare bytes:
/// the most common ones (`counter.add(5) -> Int`). Through the generic coder each would cost a
/// writer, an encoder and a `userInfo` dictionary of its own, on both sides of every call.
/// Both ends decide from the same static type, so a value always reads back as it was written.
enum ScalarValues {
    /// `value`'s bytes when its type is one of these, else nil (the generic coder takes it).
    static func bytes<T>(of value: T) -> [UInt8]? {
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(Int.self): fixed(value as! Int) // swiftlint:disable:this force_cast (T is Int)
        case ObjectIdentifier(Int64.self): fixed(value as! Int64) // swiftlint:disable:this force_cast
        case ObjectIdentifier(UInt64.self): fixed(value as! UInt64) // swiftlint:disable:this force_cast
        case ObjectIdentifier(Int32.self): fixed(value as! Int32) // swiftlint:disable:this force_cast
        case ObjectIdentifier(UInt32.self): fixed(value as! UInt32) // swiftlint:disable:this force_cast
        case ObjectIdentifier(UInt.self): fixed(value as! UInt) // swiftlint:disable:this force_cast
        case ObjectIdentifier(Double.self): fixed((value as! Double).bitPattern) // swiftlint:disable:this force_cast
        case ObjectIdentifier(Bool.self): [(value as! Bool) ? 1 : 0] // swiftlint:disable:this force_cast
        case ObjectIdentifier(String.self): Array((value as! String).utf8) // swiftlint:disable:this force_cast
        default: nil
        }
    }

    /// The value of type `T` in `bytes` when `T` is one of these types, else nil.
    /// - Throws: `WireError` for bytes that cannot be a `T`.
    static func value<T>(_: T.Type, from bytes: [UInt8]) throws(WireError) -> T? {
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(Int.self): try fixed(Int.self, bytes) as? T
        case ObjectIdentifier(Int64.self): try fixed(Int64.self, bytes) as? T
        case ObjectIdentifier(UInt64.self): try fixed(UInt64.self, bytes) as? T
        case ObjectIdentifier(Int32.self): try fixed(Int32.self, bytes) as? T
        case ObjectIdentifier(UInt32.self): try fixed(UInt32.self, bytes) as? T
        case ObjectIdentifier(UInt.self): try fixed(UInt.self, bytes) as? T
        case ObjectIdentifier(Double.self): Double(bitPattern: try fixed(UInt64.self, bytes)) as? T
        case ObjectIdentifier(Bool.self): try flag(bytes) as? T
        case ObjectIdentifier(String.self): try text(bytes) as? T
        default: nil
        }
    }

    private static func fixed<N: FixedWidthInteger>(_ value: N) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private static func fixed<N: FixedWidthInteger>(_: N.Type, _ bytes: [UInt8]) throws(WireError) -> N {
        guard bytes.count == MemoryLayout<N>.size else { throw sizeError(bytes.count, MemoryLayout<N>.size) }
        return bytes.withUnsafeBytes { N(littleEndian: $0.loadUnaligned(as: N.self)) }
    }

    private static func flag(_ bytes: [UInt8]) throws(WireError) -> Bool {
        guard bytes.count == 1 else { throw sizeError(bytes.count, 1) }
        guard bytes[0] <= 1 else { throw .corrupt(offset: 0, reason: "a Bool of \(bytes[0])") }
        return bytes[0] == 1
    }

    private static func text(_ bytes: [UInt8]) throws(WireError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .corrupt(offset: 0, reason: "a String that is not UTF-8") }
        return text
    }

    private static func sizeError(_ count: Int, _ size: Int) -> WireError {
        count < size ? .truncated(offset: count, needed: size - count) : .trailingBytes(count - size)
    }
}
