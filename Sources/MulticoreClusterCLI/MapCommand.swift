import MulticoreCluster

/// `multicore-cluster map --database URL --count N`: maps the doubler over 0..<N on the
/// cluster's nodes and prints a checksum (the sum of the outputs, which must be N·(N-1)).
enum MapCommand {
    static let usage = """
        USAGE: multicore-cluster map --database URL --count N [--schema NAME] [--draws D]

        Maps the notebook's doubler over the numbers 0..<N on the cluster's nodes (start some with
        `multicore-cluster node`) and prints the checksum of the outputs, their sum, which must be
        N·(N-1), and the rate. Exits with 1 when a task failed or the checksum is wrong.
          --database URL   postgres://user[:password]@host[:port]/database
          --count N        how many numbers
          --schema NAME    the cluster's schema (default multicore)
          --draws D        the mock CPU work per task, random additions (default 0; the notebook's
                           cell makes 100000000, a tenth of a second or two)

        """

    static func run(_ arguments: [String]) async -> Int32 {
        let options = CommandOptions(arguments, command: "map", usage: usage, names: ["--database", "--count", "--schema", "--draws"])
        let url = options.required("--database")
        guard let count = options.int("--count") else { options.fail("--count N is needed") }
        let draws = options.int("--draws", default: 0, minimum: 0)!
        do {
            let cluster = try await Cluster(url: url, schema: options.string("--schema") ?? "multicore")
            let start = ContinuousClock.now
            let outputs: [Int]
            do {
                outputs = try await cluster.map((0..<count).lazy.map { Doubler(number: $0, draws: draws) })
            } catch {
                await cluster.shutdown()
                throw error
            }
            let seconds = (ContinuousClock.now - start).inSeconds
            await cluster.shutdown()
            let checksum = outputs.reduce(0, &+)
            let expected = count * (count - 1)
            print("mapped the doubler over \(count) numbers in \(rounded(seconds)) s (\(Int(Double(count) / seconds)) tasks/s)")
            print("checksum \(checksum) (expected \(expected)): \(checksum == expected ? "ok" : "WRONG")")
            return checksum == expected ? 0 : 1
        } catch {
            printError("multicore-cluster map: \(error)\n")
            return 1
        }
    }
}

/// `value` to two decimals.
func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
