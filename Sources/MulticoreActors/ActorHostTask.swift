import MulticoreProcessing
#if canImport(Glibc)
import Glibc
#endif

/// What a host's process runs: it becomes host `number` of `ProcessActorSystem.shared` and
/// serves the program over `channel` until the program says `shutdown` or goes away (its end
/// of file), then exits. Like a pool's worker it ignores SIGINT (the program decides) and dies
/// with the program (the kernel's parent-death signal, as every worker does).
struct ActorHostTask: InterruptIgnoringTask {
    var channel: Connection
    var number: UInt32

    func run() -> NoOutput {
        // The calls run on this thread, between reads (no thread hop); without a wake pipe,
        // on the cooperative pool.
        let loop = try? LinkLoop()
        let link = ProcessActorSystem.shared.becomeHost(number, channel: channel, executor: loop)
        if let loop {
            loop.run(reading: channel) { link.receiveOne() == .more }
        } else {
            link.receive()
        }
        link.fail(ActorHostError.hostShutDown(name: currentProcessName(), pid: getpid()))
        return NoOutput()
    }
}
