/// A `Codable` type whose values may cross between processes as their memory, without calling
/// `encode(to:)` or `init(from:)`: what a pool does with a chunk of them, in one copy (about 20
/// times faster than coding each value).
///
/// Declare it only for a struct of fixed-width numbers (and `Bool`s, optionals of them, and other
/// `PlainData`) whose `Codable` conformance is the synthesized one. A type with its own
/// `encode(to:)` or `init(from:)` (one that validates, or throws for some values) must not
/// declare it: those would be skipped. The pool still checks, once per type, that the first
/// value's encoding is its memory (no padding, no references); a struct of numbers, `Bool`s and
/// optionals of them that is not (an optional leaves padding) is coded by a `WirePlan` instead
/// (each field from its place in memory, in `Codable`'s bytes, checked on the first value), and
/// any other type through `Codable`.
///
/// Without it, a pool codes every value through `Codable`, as `ChildProcess` does: Swift cannot
/// tell a synthesized conformance from a hand-written one at run time. The standard library's
/// fixed-width integers and floating-point numbers are always copied as memory.
public protocol PlainData: Codable {}

package enum WireMemory {
    /// Whether values of `T` may travel as their memory: the standard library's fixed-width
    /// numbers (every bit pattern is a value, and their coding is known), and `PlainData` types.
    package static func mayCopy<T>(_: T.Type) -> Bool {
        T.self is any WireTrivial.Type || T.self is any PlainData.Type
    }
}
