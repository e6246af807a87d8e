import MulticoreThreading
import Synchronization

/// Facts about types that every thread of the process shares (whether the wire format writes a
/// type itself, whether a type may travel as its memory), looked up by the type's identity
/// without a lock: a handful of comparisons, where asking the runtime again (a dynamic cast to
/// a protocol, a generic type's metadata) or taking a lock and hashing costs more than coding
/// a small value. Answers are facts about types, never objects: nothing is kept alive.
package final class TypeFacts<Answer>: @unchecked Sendable { // entries are immutable once published through `count` (release/acquire); writers are serialized by `writing`; `overflow` is `Locked`
    /// Types read without a lock; past that, the answers are kept under a lock (`overflow`),
    /// as they all were before: a program with more types than this pays a lock for the others.
    package static var capacity: Int { 128 }

    @usableFromInline let types = UnsafeMutablePointer<ObjectIdentifier>.allocate(capacity: capacity)
    @usableFromInline let answers = UnsafeMutablePointer<Answer>.allocate(capacity: capacity)
    @usableFromInline let count = Atomic<Int>(0)
    private let writing = Mutex<Void>(())
    /// The answers for the types past `capacity` (`Locked`, whose lock ThreadSanitizer sees).
    private let overflow = Locked<[ObjectIdentifier: Answer]>([:])

    package init() {}

    // Never freed: the tables are globals of the process.

    /// What was learned about `type`, if anything.
    @inlinable @inline(__always)
    package func answer(for type: Any.Type) -> Answer? {
        let id = ObjectIdentifier(type)
        let known = count.load(ordering: .acquiring)
        var index = 0
        while index < known {
            if types[index] == id { return answers[index] }
            index += 1
        }
        return known < Self.capacity ? nil : overflowAnswer(for: id)
    }

    @usableFromInline func overflowAnswer(for id: ObjectIdentifier) -> Answer? {
        overflow.withLock { $0[id] }
    }

    /// Remembers `answer` for `type`, unless it is known already.
    package func remember(_ answer: Answer, for type: Any.Type) {
        writing.withLock { _ in
            guard self.answer(for: type) == nil else { return }
            let index = count.load(ordering: .relaxed)
            guard index < Self.capacity else {
                overflow.withLock { $0[ObjectIdentifier(type)] = answer }
                return
            }
            (types + index).initialize(to: ObjectIdentifier(type))
            (answers + index).initialize(to: answer)
            count.store(index + 1, ordering: .releasing)
        }
    }

    /// The answer for `type`: remembered, or else what `find` says, remembered.
    @inlinable @inline(__always)
    package func answer(for type: Any.Type, else find: () throws -> Answer) rethrows -> Answer {
        if let known = answer(for: type) { return known }
        let found = try find()
        remember(found, for: type)
        return found
    }
}
