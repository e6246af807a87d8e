import CMulticore
import SystemPackage

extension FileDescriptor {
    /// The most descriptors one message carries (what the shim's control buffer holds).
    package static let maxPassedDescriptors = 253

    /// Sends one byte on this Unix socket, carrying `descriptors` (SCM_RIGHTS; none when empty).
    /// - Throws: EINVAL for more than `maxPassedDescriptors`; EPIPE, ECONNRESET for a peer gone.
    package func sendDescriptors(_ descriptors: [Int32]) throws(Errno) {
        _ = try SystemCall.sendDescriptors.perform {
            Int(descriptors.withUnsafeBufferPointer { mc_send_descriptors(rawValue, $0.baseAddress, Int32($0.count)) })
        }
    }

    /// Receives the byte `sendDescriptors` sent and the descriptors it carried (close-on-exec);
    /// nil at end-of-file.
    /// - Throws: EMSGSIZE when more came than fit (those received are closed), and recvmsg's errors.
    package func receiveDescriptors() throws(Errno) -> [Int32]? {
        var received = [Int32](repeating: -1, count: Self.maxPassedDescriptors)
        var count: Int32 = 0
        let result: Int
        do {
            result = try SystemCall.receiveDescriptors.perform {
                Int(mc_receive_descriptors(rawValue, &received, Int32(received.count), &count))
            }
        } catch {
            for fd in received.prefix(Int(count)) { closeDescriptor(fd) }
            throw error
        }
        return result == 0 ? nil : Array(received.prefix(Int(count)))
    }
}
