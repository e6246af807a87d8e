/// What a coder learned about a few types, looked up by the type's identity: a handful of
/// comparisons, where asking the runtime again (a dynamic cast to a protocol, a generic type's
/// metadata) costs more than coding a small value. A chunk of a million tasks asks the same
/// questions about the same two or three types a million times.
///
/// A coder lives for one message, and forgets when it ends (`forget`), so that answers holding
/// objects that refer back to it do not keep it alive.
struct WireTypeMemo<Answer> {
    private var types: [ObjectIdentifier] = []
    private var answers: [Answer] = []
    /// The entry replaced next once the memo is full (in turn: the types a message uses over
    /// and over stay, since they are asked about again right away).
    private var victim = 0

    /// How many types are remembered: more than a message's nesting usually holds.
    static var capacity: Int { 8 }

    /// What was remembered for `type`, if anything.
    @inline(__always)
    func answer(for type: Any.Type) -> Answer? {
        let id = ObjectIdentifier(type)
        var index = 0
        while index < types.count {
            if types[index] == id { return answers[index] }
            index += 1
        }
        return nil
    }

    /// What was remembered for `type`, or else what `find` says, remembered.
    @inline(__always)
    mutating func answer(for type: Any.Type, else find: () -> Answer) -> Answer {
        if let known = answer(for: type) { return known }
        let answer = find()
        remember(answer, for: type)
        return answer
    }

    /// Remembers `answer` for `type`, replacing an older entry once full.
    mutating func remember(_ answer: Answer, for type: Any.Type) {
        if types.count < Self.capacity {
            types.append(ObjectIdentifier(type))
            answers.append(answer)
        } else {
            types[victim] = ObjectIdentifier(type)
            answers[victim] = answer
            victim = (victim + 1) % Self.capacity
        }
    }

    /// Forgets everything.
    mutating func forget() {
        types.removeAll()
        answers.removeAll()
        victim = 0
    }
}

/// Whether a type is one the format writes itself (`WireSpecialEncodable` or
/// `WireSpecialDecodable`), and how: `Protocol` is that protocol's metatype.
enum WireKind<Protocol> {
    /// Through its own `encode(to:)` or `init(from:)`.
    case coded
    /// By the format, through the type's conformance.
    case special(Protocol)
}

/// A value that generic code hands out again and again, without naming its type each time.
/// Copying a value of a generic type declared in another module (a `KeyedEncodingContainer<Key>`
/// in a coder's `container(keyedBy:)`) looks its metadata up in the runtime's table on every
/// copy, which costs more than coding a small value; a closure made where the value's type is a
/// generic parameter keeps that metadata in its context instead.
final class WireReusable<Value> {
    /// A copy of the value.
    let copy: () -> Value

    init(_ value: Value) { copy = Self.returning(value) }

    private static func returning(_ value: Value) -> () -> Value { { value } }
}
