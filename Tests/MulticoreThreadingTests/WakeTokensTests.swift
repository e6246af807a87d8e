import Testing
@testable import MulticoreThreading

@Suite(.timeLimit(.minutes(5))) struct WakeTokensTests {
    /// Two threads hand out tokens one at a time while two take them: a wake-up lost between a
    /// taker's last look and its sleep would leave a taker asleep past the deadline.
    @Test func everyTokenHandedOutWakesATaker() throws {
        let tokens = WakeTokens()
        let rounds = 50_000
        let taken = Counter()
        try race(4) { index in
            for _ in 0..<rounds {
                if index < 2 { tokens.post() } else { tokens.wait(); taken.add() }
            }
        }
        #expect(taken.value == 2 * rounds)
    }

    /// Several tokens at once wake as many sleepers; a token handed out before anyone waits is
    /// kept for the next taker.
    @Test func tokensWakeAsManySleepersAndAreKept() throws {
        let tokens = WakeTokens()
        let woken = Counter()
        let sleepers = try (0..<3).map { _ in try spawn { tokens.wait(); woken.add() } }
        tokens.post(3)
        for sleeper in sleepers { #expect(try sleeper.join(timeout: testDeadline)) }
        #expect(woken.value == 3)
        tokens.post()
        let late = try spawn { tokens.wait() }
        #expect(try late.join(timeout: testDeadline), "a token handed out earlier is kept")
    }
}
