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

/// The checksum of bytes wherever they lie (not copied into an aligned array first).
private func mc_crc32c_of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    WireFrame.checksum(bytes, continuing: 0)
}
