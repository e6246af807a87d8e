import MulticoreTestSupport
import MulticoreThreading
import Testing
@testable import MulticoreProcessing

/// A level of nesting: `Level<Level<Int>>` and so on, distinct types made at run time.
private struct Level<Inner> {}

/// `count` distinct types: Int, Level<Int>, Level<Level<Int>>, ...
private func distinctTypes(_ count: Int) -> [Any.Type] {
    var types: [Any.Type] = []
    func add<T>(_: T.Type, _ left: Int) {
        types.append(T.self)
        if left > 1 { add(Level<T>.self, left - 1) }
    }
    add(Int.self, count)
    return types
}

/// What is learned about a type is answered for it, and only for it: the first types without a
/// lock, those past `capacity` from under one (they were asked again at every call once the
/// table was full, as the wire coders' kinds were before).
@Suite struct TypeFactsTests {
    @Test func everyTypeKeepsItsAnswerPastTheCapacity() {
        let types = distinctTypes(TypeFacts<Int>.capacity + 72)
        #expect(Set(types.map(ObjectIdentifier.init)).count == types.count)
        let facts = TypeFacts<Int>()
        for type in types { #expect(facts.answer(for: type) == nil) }
        for (index, type) in types.enumerated() { facts.remember(index, for: type) }
        for (index, type) in types.enumerated() {
            #expect(facts.answer(for: type) == index)
            #expect(facts.answer(for: type) { Issue.record("asked again for type \(index)"); return -1 } == index)
        }
        // Remembered once: a second answer for a known type is not taken.
        facts.remember(-5, for: types[3])
        facts.remember(-5, for: types[types.count - 1])
        #expect(facts.answer(for: types[3]) == 3 && facts.answer(for: types[types.count - 1]) == types.count - 1)
    }

    /// Two threads, lined up at a gate, learn and read the same types at once: each reads
    /// the answer for its type, never another's, and nothing is lost.
    @Test func threadsLearnAndReadTogether() throws {
        let types = distinctTypes(TypeFacts<Int>.capacity + 40)
        let facts = TypeFacts<Int>()
        let gate = try Barrier(parties: 2)
        let wrong = Locked(0)
        let threads = (0..<2).map { part in
            JoinableThread(name: "facts-\(part)") {
                _ = try? gate.wait(timeout: testDeadline)
                for (index, type) in types.enumerated() {
                    let answer = facts.answer(for: type) { index }
                    if answer != index { wrong.withLock { $0 += 1 } }
                }
            }
        }
        for thread in threads { try thread.start() }
        for thread in threads { #expect(try thread.join(timeout: testDeadline)) }
        #expect(wrong.withLock { $0 } == 0)
        for (index, type) in types.enumerated() { #expect(facts.answer(for: type) == index) }
    }
}
