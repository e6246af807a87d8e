import MulticoreProcessing
import MulticoreSystem
import SystemPackage

/// The pipes a new worker's output goes through. Made before it starts: the write ends travel
/// to it in its task (`PoolWorker`), which makes them its standard output and error; the read
/// ends become the manager's `OutputTap`s once it has started. Read ends never tapped (the
/// worker could not start) are closed with this.
final class WorkerStreams {
    /// Standard output's pipe, when it is captured (not inherited).
    let output: (read: Int32, write: Connection)?
    let error: (read: Int32, write: Connection)
    private var tapped = false

    /// - Throws: `ProcessError.spawnFailed` when no pipe can be had (too few descriptors).
    init(capturingOutput: Bool) throws(ProcessError) {
        error = try Self.pipe()
        do throws(ProcessError) {
            output = capturingOutput ? try Self.pipe() : nil
        } catch let failure {
            closeDescriptor(error.read)
            throw failure
        }
    }

    deinit {
        guard !tapped else { return }
        closeDescriptor(error.read)
        if let output { closeDescriptor(output.read) }
    }

    private static func pipe() throws(ProcessError) -> (read: Int32, write: Connection) {
        do throws(Errno) {
            let ends = try DescriptorPair.pipe()
            return (ends.read.rawValue, Connection(descriptor: ends.write.rawValue, readable: false, writable: true, isSocket: false))
        } catch {
            throw .spawnFailed(errno: error)
        }
    }

    /// This process's copies of the write ends, closed once the worker has its own (or could
    /// not start): only then does a tap see end of file when the worker ends.
    func closeWriteEnds() {
        output?.write.close()
        error.write.close()
    }

    /// The taps on the read ends (standard output first, if captured), which own them from now.
    func taps(_ destinations: (output: OutputTap.Destination?, error: OutputTap.Destination)) -> [OutputTap] {
        tapped = true
        var taps: [OutputTap] = []
        if let output { taps.append(OutputTap(descriptor: output.read, destination: destinations.output ?? .discard)) }
        taps.append(OutputTap(descriptor: error.read, destination: destinations.error))
        return taps
    }
}
