import Testing
@testable import MulticoreThreading

/// Outputs left in the bytes they came in: appended to an array straight from them when
/// aligned, through a copy when not, the same values either way; a size that does not match
/// is refused.
@Suite struct PackedOutputsTests {
    private func bytes(of values: [Int], at offset: Int) -> [UInt8] {
        [UInt8](repeating: 0xEE, count: offset) + values.withUnsafeBytes { [UInt8]($0) }
    }

    @Test func valuesAreAppendedAlignedOrNot() throws {
        let values = (0..<5_000).map { $0 &* 7 - 1_000 }
        for offset in [16, 8, 3, 1] { // aligned for Int, then not
            let data = bytes(of: values, at: offset)
            #expect(PackedOutputs<Int>.fits(data, offset: offset, count: values.count))
            let packed = PackedOutputs<Int>(data, offset: offset, count: values.count)
            var array = [-1, -2]
            packed.append(to: &array)
            #expect(array == [-1, -2] + values, "offset \(offset)")
            var seen: [UInt8] = []
            packed.withUnsafeBytes { seen = [UInt8]($0) }
            #expect(seen == [UInt8](data[offset...]), "offset \(offset)")
            #expect(packed.unpacked() == values, "offset \(offset)")
            #expect(ChunkOutcomes<Int>.packed(packed).count == values.count)
            #expect(try ChunkOutcomes<Int>.packed(packed).allValues() == values)
        }
    }

    @Test func aSizeThatIsNotCountValuesIsRefused() {
        let data = bytes(of: [1, 2, 3], at: 16)
        #expect(PackedOutputs<Int>.fits(data, offset: 16, count: 3))
        #expect(!PackedOutputs<Int>.fits(data, offset: 16, count: 2))
        #expect(!PackedOutputs<Int>.fits(data, offset: 15, count: 3))
        #expect(!PackedOutputs<Int>.fits(data, offset: 40, count: 0))
        #expect(!PackedOutputs<Int>.fits(data, offset: -1, count: 3))
    }
}
