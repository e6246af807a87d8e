#if canImport(Glibc)
import Glibc
#endif

/// Arrays, written by the format itself: of fixed-width numbers (`WireTrivial`) as a UInt64
/// count and their memory, in one copy; of anything else as `encode(to:)` would write them
/// through an unkeyed container (a UInt32 count, then the elements, an element without bytes of
/// its own followed by a zero byte), but with the element type's kind looked up once per array,
/// no container, and (when encoding) one `Encoder` existential for all the elements.
extension Array: WireSpecialEncodable where Element: Encodable {
    func wireEncode(into encoder: _WireEncoder) throws {
        if encoder.writer.referencesLargeBlocks, Element.self is any WireTrivial.Type,
           count * MemoryLayout<Element>.stride >= WireWriter.referenceThreshold {
            // Written as a copy would be (a count, then the elements' bytes), but from where the
            // elements lie, when the frame goes out: this array, kept by the reference, stays as it is.
            encoder.writer.write(UInt64(count))
            let elements = self
            encoder.writer.reference(WireReference(offset: encoder.writer.count, count: count * MemoryLayout<Element>.stride) { body in
                try elements.withUnsafeBytes(body)
            })
            return
        }
        try withUnsafeBufferPointer { try Self.wireEncode($0, into: encoder) }
    }

    /// Writes `elements` as an array of them is written (a slice's, without copying it).
    static func wireEncode(_ elements: UnsafeBufferPointer<Element>, into encoder: _WireEncoder) throws {
        let count = elements.count
        if Element.self is any WireTrivial.Type {
            // Little-endian machines only (x86_64, arm64): the bytes are the wire format as they are.
            encoder.writer.write(UInt64(count))
            encoder.writer.write(raw: UnsafeRawBufferPointer(elements))
            return
        }
        guard count <= Int(UInt32.max) else { throw WireError.unsupported("a list of \(count) elements (at most \(UInt32.max))") }
        encoder.writer.write(UInt32(count))
        // Through a pointer: this code is not specialized for `Element`, and an iterator would
        // copy and destroy each element through calls.
        guard count > 0, let base = elements.baseAddress else { return }
        switch encoder.kind(of: Element.self) {
        case .coded:
            if let plan = WirePlan.plan(for: Element.self, sample: base.pointee) {
                let raw = UnsafeRawPointer(base)
                for index in 0..<count { plan.encode(raw + index * plan.stride, into: encoder) }
                return
            }
            let existential: any Encoder = encoder
            for index in 0..<count {
                let start = encoder.writer.count
                try (base + index).pointee.encode(to: existential)
                if encoder.writer.count == start { encoder.writer.write(WireUnkeyedEncodingContainer.emptyElement) }
                // Room for the rest at once, by the first element's size: not a dozen copies
                // of a growing buffer (each page of which is faulted in anew).
                if index == 0 {
                    let (guess, overflow) = (encoder.writer.count - start).multipliedReportingOverflow(by: count - 1)
                    encoder.writer.reserve(overflow ? Self.reserveLimit : Swift.min(Self.reserveLimit, guess))
                }
            }
        case .special(let special):
            for index in 0..<count {
                let start = encoder.writer.count
                try encoder.encodeSpecial((base + index).pointee, as: special)
                if encoder.writer.count == start { encoder.writer.write(WireUnkeyedEncodingContainer.emptyElement) }
            }
        }
    }

    /// The most room reserved ahead for a list by its first element: a guess, not a promise.
    private static var reserveLimit: Int { 64 << 20 }
}

extension Array: WireSpecialDecodable where Element: Decodable {
    static func wireDecode(from decoder: _WireDecoder) throws -> [Element] {
        if Element.self is any WireTrivial.Type { return try decodeTrivial(from: decoder) }
        let start = decoder.reader.offset
        let count = Int(try decoder.reader.read(UInt32.self))
        // As `WireUnkeyedDecodingContainer` checks: every element takes at least a byte.
        guard count <= decoder.reader.remaining else {
            throw WireError.corrupt(offset: start, reason: "count \(count) exceeds the \(decoder.reader.remaining) byte(s) left")
        }
        let kind = decoder.kind(of: Element.self)
        // Room for them all at once, unless that would be far more memory than the input's bytes
        // (then they are appended: a hostile count fails at the end of the input, not in malloc).
        if case .coded = kind, count > 0, let planned = try decodePlanned(count, from: decoder) { return planned }
        // None for no elements: `unsafeUninitializedCapacity: 0` writes to the shared empty
        // array's storage (a race ThreadSanitizer reports).
        if count == 0 { return [] }
        guard count <= 8 * decoder.reader.remaining / Swift.max(1, MemoryLayout<Element>.stride) else {
            var elements: [Element] = []
            for _ in 0..<count { elements.append(try element(kind, from: decoder)) }
            return elements
        }
        return try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Elements initialized before a throw are destroyed with the buffer.
            guard let base = buffer.baseAddress else { return }
            if case .coded = kind { return try decoder.decodeCoded(Element.self, count: count, into: base, initialized: &initialized) }
            while initialized < count {
                (base + initialized).initialize(to: try element(kind, from: decoder))
                initialized += 1
            }
        }
    }

    /// `count` elements through the `WirePlan` of their `PlainData` type, or nil (nothing read)
    /// when it has none. A plan is made from a value: the first element is decoded through
    /// `init(from:)` the first time.
    private static func decodePlanned(_ count: Int, from decoder: _WireDecoder) throws -> [Element]? {
        guard Element.self is any PlainData.Type, count <= 8 * decoder.reader.remaining / Swift.max(1, MemoryLayout<Element>.stride) else {
            return nil
        }
        let first: Element?
        let plan: WirePlan
        if let known = WirePlan.known(for: Element.self) {
            guard let known else { return nil }
            (first, plan) = (nil, known)
        } else {
            let sample = try element(.coded, from: decoder)
            guard let made = WirePlan.plan(for: Element.self, sample: sample) else {
                return try [sample] + (1..<count).map { _ in try element(.coded, from: decoder) }
            }
            (first, plan) = (sample, made)
        }
        return try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            if let first {
                base.initialize(to: first)
                initialized = 1
            }
            let raw = UnsafeMutableRawPointer(base)
            // Zeroed, so that padding is not whatever the allocator left (the elements are
            // plain data: stores of their fields' bytes are all they need).
            _ = memset(raw + initialized * plan.stride, 0, (count - initialized) * plan.stride)
            while initialized < count {
                try plan.decode(from: &decoder.reader, into: raw + initialized * plan.stride)
                initialized += 1
            }
        }
    }

    /// The next element, and the byte after it if it had none of its own.
    @inline(__always)
    private static func element(_ kind: WireKind<any WireSpecialDecodable.Type>, from decoder: _WireDecoder) throws -> Element {
        let start = decoder.reader.offset
        let element = switch kind {
        case .coded: try decoder.decodeCoded(Element.self)
        case .special(let special): try decoder.decodeSpecial(special, as: Element.self)
        }
        if decoder.reader.offset == start { try decoder.readEmptyElement() }
        return element
    }

    /// Numbers (`Element` is `WireTrivial`: every bit pattern is a value), in one copy: a UInt64
    /// count, then their bytes, read straight into the array (an `as!` from an array of the
    /// number type would check each element: 30 ms for 8 MB).
    private static func decodeTrivial(from decoder: _WireDecoder) throws -> [Element] {
        let start = decoder.reader.offset
        let count = try decoder.reader.read(UInt64.self)
        let stride = MemoryLayout<Element>.stride
        guard count <= UInt64(decoder.reader.remaining / stride) else {
            throw WireError.corrupt(offset: start, reason: "array of \(count) elements exceeds the \(decoder.reader.remaining) byte(s) left")
        }
        if count == 0 { return [] } // see `wireDecode`
        return try [Element](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            try decoder.reader.read(raw: UnsafeMutableRawBufferPointer(buffer))
            initialized = Int(count)
        }
    }
}
