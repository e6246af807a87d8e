#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A subcommand's `--name value` options, read once: each command says which names it takes and
/// reads them by name. Misuse (an unknown option, a missing or malformed value) exits with 2 and
/// the command's usage, as `multicore-cluster status` always did.
struct CommandOptions {
    let command: String
    let usage: String
    private var values: [String: String] = [:]

    /// Reads `arguments` (after the subcommand's name); `names` are the options it takes, each
    /// with a value.
    init(_ arguments: [String], command: String, usage: String, names: Set<String>) {
        self.command = command
        self.usage = usage
        var rest = arguments[...]
        while let option = rest.popFirst() {
            if ["-h", "--help"].contains(option) {
                print(usage, terminator: "")
                exit(0)
            }
            guard names.contains(option) else { fail("unknown option '\(option)' for \(command)") }
            guard let value = rest.popFirst() else { fail("\(option) takes a value") }
            values[option] = value
        }
    }

    func string(_ name: String) -> String? { values[name] }

    func required(_ name: String) -> String {
        guard let value = values[name] else { fail("\(name) is needed") }
        return value
    }

    /// An integer option, at least `minimum`.
    func int(_ name: String, default fallback: Int? = nil, minimum: Int = 1) -> Int? {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), value >= minimum else { fail("\(name) takes a whole number of at least \(minimum), not '\(text)'") }
        return value
    }

    /// A number of seconds (decimals allowed), above zero unless `allowZero`.
    func seconds(_ name: String, default fallback: Double? = nil, allowZero: Bool = false) -> Double? {
        guard let text = values[name] else { return fallback }
        guard let value = Double(text), value.isFinite, allowZero ? value >= 0 : value > 0 else {
            fail("\(name) takes a number of seconds\(allowZero ? "" : " above 0"), not '\(text)'")
        }
        return value
    }

    func fail(_ message: String) -> Never { failUsage(message, usage) }
}

func printError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

/// Misuse: the message and the usage on standard error, status 2.
func failUsage(_ message: String, _ usage: String) -> Never {
    printError("multicore-cluster: \(message)\n\n\(usage)")
    exit(2)
}

extension Duration {
    /// `seconds` (decimals allowed) as a Duration, to the millisecond.
    static func seconds(decimal seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
