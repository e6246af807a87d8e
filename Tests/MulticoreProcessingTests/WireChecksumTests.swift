import CMulticore
import Testing
@testable import MulticoreProcessing

/// The frame checksum, CRC-32C, taken with the CPU's instruction in three streams over large
/// inputs: the same value as the plain bitwise definition, for every length and alignment.
@Suite struct WireChecksumTests {
    /// CRC-32C bit by bit, straight from its definition (reflected polynomial 0x82F63B78).
    static func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    /// Lengths around the three-stream blocks (3 x 256 and 3 x 8192 bytes) and the 8-byte words.
    static let lengths = [0, 1, 7, 8, 9, 255, 767, 768, 769, 1000, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 13, 70_001]

    @Test func everyLengthAndAlignmentGivesTheDefinedChecksum() {
        var generator = SplitMix64(seed: 14)
        let bytes = (0..<(70_001 + 16)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var mismatches: [String] = []
        for offset in 0..<9 {
            for length in Self.lengths {
                let slice = bytes[offset ..< offset + length]
                let fast = WireFrame.checksum(Array(slice))
                let unaligned = slice.withUnsafeBytes { mc_crc32c_of($0) }
                let portable = slice.withUnsafeBytes { mc_crc32c_portable($0.baseAddress, $0.count, 0) }
                let expected = Self.reference(slice)
                if fast != expected || unaligned != expected || portable != expected {
                    mismatches.append("offset \(offset), length \(length)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func aChecksumTakenInPiecesIsTheChecksumOfTheWhole() {
        var generator = SplitMix64(seed: 15)
        let bytes = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let whole = WireFrame.checksum(bytes)
        var pieces: UInt32 = 0
        var start = 0
        for size in [3, 5000, 24_576, 17, 40_000] {
            pieces = bytes[start ..< start + size].withUnsafeBytes { WireFrame.checksum($0, continuing: pieces) }
            start += size
        }
        pieces = bytes[start...].withUnsafeBytes { WireFrame.checksum($0, continuing: pieces) }
        #expect(pieces == whole)
    }
}

/// Each path of the checksum forced (`mc_crc32c_on_path`: tables, three crc32 streams, folding
/// with carry-less multiplication; those this CPU has): the same values as the definition, and
/// as each other, whatever the length, alignment, chaining and size.
@Suite struct WireChecksumPathTests {
    static let paths = Array(Int32(MC_CRC32C_TABLE)...mc_crc32c_fastest_path())

    static func checksum(_ bytes: UnsafeRawBufferPointer, on path: Int32, continuing previous: UInt32 = 0) -> UInt32 {
        mc_crc32c_on_path(path, bytes.baseAddress, bytes.count, previous)
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    @Test func knownVectorsOnEveryPath() {
        // "123456789", and the iSCSI vectors of RFC 3720 (B.4).
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ((0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
            ([], 0),
        ]
        for path in Self.paths {
            for (bytes, expected) in vectors {
                #expect(bytes.withUnsafeBytes { Self.checksum($0, on: path) } == expected, "path \(path), \(bytes.count) bytes")
            }
        }
    }

    /// Every length from 0 to 1100 at every start offset from 0 to 15: the short tail loops, the
    /// alignment prologue, and folding's vector part from 208 bytes on with few steps.
    @Test func everyPathEveryLengthAndOffsetGivesTheDefinedChecksum() {
        let maximum = 1100
        let bytes = Self.randomBytes(maximum + 16, seed: 21)
        var mismatches: [String] = []
        bytes.withUnsafeBytes { all in
            for offset in 0..<16 {
                // The definition's checksum of every prefix from `offset`, in one pass.
                var expected: [UInt32] = [0]
                var crc: UInt32 = 0xFFFF_FFFF
                for byte in all[offset ..< offset + maximum] {
                    crc ^= UInt32(byte)
                    for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
                    expected.append(~crc)
                }
                for path in Self.paths {
                    for length in 0...maximum {
                        let piece = UnsafeRawBufferPointer(rebasing: all[offset ..< offset + length])
                        if Self.checksum(piece, on: path) != expected[length] {
                            mismatches.append("path \(path), offset \(offset), length \(length)")
                        }
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(20))")
    }

    /// A few megabytes at odd offsets, whole and in pieces chained through `previous` (pieces
    /// short and long, across the 4 KiB where the dispatched checksum turns to folding): every
    /// path, and the dispatched `mc_crc32c`, agree with the tables.
    @Test func everyPathAgreesOnLargeBuffersWholeAndInPieces() {
        let bytes = Self.randomBytes((3 << 20) + 4099, seed: 22)
        let pieces = [1, 207, 208, 209, 4095, 4096, 4097, 65_536, 100_003, 1 << 20, 7, 300_000]
        var mismatches: [String] = []
        bytes.withUnsafeBytes { all in
            for offset in [0, 1, 5, 8, 13] {
                let buffer = UnsafeRawBufferPointer(rebasing: all[offset...])
                let expected = Self.checksum(buffer, on: Int32(MC_CRC32C_TABLE))
                // nil: the dispatched `mc_crc32c`.
                for path in Self.paths.map(Optional.some) + [nil] {
                    let name = path.map { "path \($0)" } ?? "dispatched"
                    let take = { (piece: UnsafeRawBufferPointer, previous: UInt32) -> UInt32 in
                        path.map { Self.checksum(piece, on: $0, continuing: previous) } ?? mc_crc32c(piece.baseAddress, piece.count, previous)
                    }
                    if take(buffer, 0) != expected { mismatches.append("\(name), offset \(offset), whole") }
                    var chained: UInt32 = 0
                    var start = 0, index = 0
                    while start < buffer.count {
                        let end = Swift.min(buffer.count, start + pieces[index % pieces.count])
                        chained = take(UnsafeRawBufferPointer(rebasing: buffer[start..<end]), chained)
                        start = end
                        index += 1
                    }
                    if chained != expected { mismatches.append("\(name), offset \(offset), in pieces") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// Lengths around folding's block (200 bytes a step, 8 joining) and the dispatch threshold,
    /// continuing from a checksum that is not zero.
    @Test func everyPathAgreesAroundItsBlocksContinuingFromAChecksum() {
        let bytes = Self.randomBytes(20_000, seed: 23)
        var mismatches: [String] = []
        let lengths = Array(200...420) + Array(4080...4112) + [8191, 8192, 8193, 12_345, 19_990]
        bytes.withUnsafeBytes { all in
            for length in lengths {
                let piece = UnsafeRawBufferPointer(rebasing: all[3 ..< 3 + length])
                let expected = Self.checksum(piece, on: Int32(MC_CRC32C_TABLE), continuing: 0x1234_5678)
                for path in Self.paths where Self.checksum(piece, on: path, continuing: 0x1234_5678) != expected {
                    mismatches.append("path \(path), length \(length)")
                }
                if mc_crc32c(piece.baseAddress, piece.count, 0x1234_5678) != expected { mismatches.append("dispatched, length \(length)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(20))")
    }
}

/// The checksum of bytes wherever they lie (not copied into an aligned array first).
private func mc_crc32c_of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    WireFrame.checksum(bytes, continuing: 0)
}
