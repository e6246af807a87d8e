import Testing
@testable import MulticoreThreading

@Suite struct ThreadLocalTests {
    @Test(arguments: [1, 2, 4, 8, 16])
    func eachThreadSeesItsOwnValue(threads: Int) throws {
        let local = ThreadLocal<Int> { -1 }
        local.value = 1000
        let seen = Recorder<Int>()
        try race(threads) { index in
            seen.append(local.value) // a fresh thread starts from the default
            local.value = index
            for _ in 0..<100 { #expect(local.value == index) }
        }
        #expect(seen.items == Array(repeating: -1, count: threads))
        #expect(local.value == 1000)
    }

    @Test func separateLocalsAreIndependent() {
        let a = ThreadLocal<String> { "a" }
        let b = ThreadLocal<String> { "b" }
        a.value = "changed"
        #expect(b.value == "b")
        #expect(a.value == "changed")
    }

    @Test func valuesAreReleasedWhenTheThreadEnds() throws {
        final class Tracked: Sendable {
            let released: Event
            init(_ released: Event) { self.released = released }
            deinit { released.set() }
        }
        let released = Event()
        let local = ThreadLocal<Tracked?> { nil }
        let thread = try spawn { local.value = Tracked(released) }
        #expect(try thread.join(timeout: testDeadline))
        #expect(try released.wait(timeout: testDeadline))
    }
}
