import MulticoreProcessing
#if canImport(Glibc)
import Glibc
#endif

/// What a host's process runs: it becomes host `number` of `ProcessActorSystem.shared` and
/// serves the program, reading `incoming` and writing `outgoing`, until the program says
/// `shutdown` or goes away (the end of `incoming`), then exits. Like a pool's worker it ignores SIGINT (the program decides) and dies
/// with the program (the kernel's parent-death signal, as every worker does).
struct ActorHostTask: InterruptIgnoringTask {
    var incoming: Connection
    var outgoing: Connection
    var number: UInt32
    /// How long the host's loop polls for the next message before it sleeps (`SpinWait`).
    var spinNanoseconds: Int64

    func run() -> NoOutput {
        // The calls run on this thread, between reads (no thread hop); without a wake pipe,
        // on the cooperative pool.
        let loop = try? LinkLoop(reading: incoming, spin: .nanoseconds(spinNanoseconds))
        let link = ProcessActorSystem.shared.becomeHost(number, incoming: incoming, outgoing: outgoing, executor: loop)
        if let loop {
            loop.run { link.receiveOne() == .more }
        } else {
            link.receive()
        }
        link.fail(ActorHostError.hostShutDown(name: currentProcessName(), pid: getpid()))
        return NoOutput()
    }
}
