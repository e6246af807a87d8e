import Testing
@testable import MulticoreThreading

@Suite struct EventTests {
    @Test func setClearAndWait() throws {
        let event = Event()
        #expect(!event.isSet)
        #expect(try !event.wait(timeout: .milliseconds(5)))
        event.set()
        #expect(event.isSet)
        #expect(try event.wait(timeout: .zero))
        #expect(try event.wait())
        event.clear()
        #expect(!event.isSet)
        #expect(throws: ThreadingError.negativeTimeout) { try event.wait(timeout: .seconds(-1)) }
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func setWakesEveryWaiter(threads: Int) throws {
        let event = Event()
        let started = Counter()
        let waiters = try (0..<threads).map { _ in
            try spawn { () throws in
                started.add()
                #expect(try event.wait(timeout: testDeadline))
            }
        }
        #expect(eventually { started.value == threads })
        event.set()
        for waiter in waiters { #expect(try waiter.join(timeout: testDeadline)) }
    }
}
