/// What a coder learned about a few types, looked up by the type's identity: a handful of
/// comparisons, where asking the runtime again (a dynamic cast to a protocol, a generic type's
/// metadata) costs more than coding a small value. A chunk of a million tasks asks the same
/// questions about the same two or three types a million times.
///
/// A coder lives for one message, and forgets when it ends (`forget`), so that answers holding
/// objects that refer back to it do not keep it alive.
struct WireTypeMemo<Answer> {
    /// The first type asked about, kept inline: a message of one small value (a queue's `Int`)
    /// then allocates nothing here.
    private var firstType: ObjectIdentifier?
    private var firstAnswer: Answer?
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
        if firstType == id { return firstAnswer }
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

    /// Remembers `answer` for `type`, replacing an older entry once full; returns the answer
    /// forgotten to make room, if any.
    @discardableResult
    mutating func remember(_ answer: Answer, for type: Any.Type) -> Answer? {
        if firstType == nil {
            firstType = ObjectIdentifier(type)
            firstAnswer = answer
            return nil
        }
        if types.count < Self.capacity - 1 {
            types.append(ObjectIdentifier(type))
            answers.append(answer)
            return nil
        }
        let replaced = answers[victim]
        types[victim] = ObjectIdentifier(type)
        answers[victim] = answer
        victim = (victim + 1) % (Self.capacity - 1)
        return replaced
    }

    /// Forgets everything.
    mutating func forget() {
        firstType = nil
        firstAnswer = nil
        if !types.isEmpty {
            types.removeAll()
            answers.removeAll()
        }
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
/// copy, which costs more than coding a small value; a method of this class finds the metadata
/// in the class of the object it is called on instead.
final class WireReusable<Value> {
    private let value: Value

    init(_ value: Value) { self.value = value }

    /// A copy of the value. Not inlined: inlined into code generic over the value's type's
    /// parameters, the copy would look the metadata up again.
    @inline(never)
    func copy() -> Value { value }
}

/// The objects a coder hands out again (`WireReusable`s), by type, without retaining one to
/// look at it: a retain and a release cost as much as the rest of a container's making.
struct WireReusables {
    private var memo = WireTypeMemo<Unmanaged<AnyObject>>()
    /// What keeps the objects in `memo` alive.
    private var owned: [AnyObject] = []

    /// The object kept for `type`, unretained (this keeps it), if there is one.
    @inline(__always)
    func object(for type: Any.Type) -> Unmanaged<AnyObject>? {
        memo.answer(for: type)
    }

    /// How many objects are kept (at most `WireTypeMemo.capacity`).
    var count: Int { owned.count }

    /// Keeps `object` for `type`, letting go of the one it replaces (a message that cycles
    /// through more key types than are remembered makes a container per value).
    mutating func keep(_ object: AnyObject, for type: Any.Type) {
        owned.append(object)
        if let replaced = memo.remember(Unmanaged.passUnretained(object), for: type) {
            let gone = replaced.toOpaque()
            owned.removeAll { Unmanaged.passUnretained($0).toOpaque() == gone }
        }
    }

    /// Lets go of every object kept.
    mutating func forget() {
        memo.forget()
        owned.removeAll()
    }
}

/// Which types every encoder of the process found the format writes itself.
let wireEncodableKinds = TypeFacts<WireKind<any WireSpecialEncodable.Type>>()
/// Which types every decoder of the process found the format reads itself.
let wireDecodableKinds = TypeFacts<WireKind<any WireSpecialDecodable.Type>>()
