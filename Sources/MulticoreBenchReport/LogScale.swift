#if canImport(Glibc)
import Glibc
#endif

/// A base-10 logarithmic axis from one power of ten to another, laid over a span of pixels.
package struct LogScale: Sendable, Equatable {
    /// The exponents of the first and the last power of ten on the axis.
    package let lowerExponent: Int
    package let upperExponent: Int
    /// Where the first and the last power of ten are drawn.
    package let start: Double
    package let end: Double

    package init(lowerExponent: Int, upperExponent: Int, start: Double, end: Double) {
        precondition(upperExponent > lowerExponent, "a log scale spans at least one decade")
        self.lowerExponent = lowerExponent
        self.upperExponent = upperExponent
        self.start = start
        self.end = end
    }

    /// The smallest whole-decade axis holding every positive finite value (and 1, when asked),
    /// kept within `limits` (values outside it are drawn at its ends).
    package init(covering values: [Double], includingOne: Bool = false, limits: ClosedRange<Int> = -12...12,
                start: Double, end: Double) {
        var usable = values.filter { $0.isFinite && $0 > 0 }
        if includingOne { usable.append(1) }
        var lower = usable.map { Int(floor(log10($0))) }.min() ?? 0
        var upper = usable.map { Int(ceil(log10($0))) }.max() ?? 1
        lower = min(max(lower, limits.lowerBound), limits.upperBound - 1)
        upper = max(min(upper, limits.upperBound), lower + 1)
        self.init(lowerExponent: lower, upperExponent: upper, start: start, end: end)
    }

    /// Where `value` is drawn; values beyond the axis (and zero or below) at its nearer end.
    package func position(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return value == .infinity ? end : start }
        let fraction = (log10(value) - Double(lowerExponent)) / Double(upperExponent - lowerExponent)
        return start + (end - start) * min(max(fraction, 0), 1)
    }

    /// Whether `value` lies on the axis rather than beyond an end.
    package func contains(_ value: Double) -> Bool {
        guard value > 0, value.isFinite else { return false }
        let exponent = log10(value)
        return exponent >= Double(lowerExponent) - 1e-9 && exponent <= Double(upperExponent) + 1e-9
    }

    /// Every power of ten on the axis, with where it is drawn.
    package var ticks: [(exponent: Int, position: Double)] {
        (lowerExponent...upperExponent).map { ($0, position(pow(10, Double($0)))) }
    }
}

/// A figure in the unit a reader expects: seconds as s, ms, us or ns, kilobytes as kB or MB,
/// three significant digits; other units as they are.
package func humanFigure(_ value: Double, unit: String) -> String {
    guard value.isFinite else { return "-" }
    func digits(_ number: Double) -> String {
        let magnitude = abs(number)
        return cFormat(magnitude >= 100 ? "%.0f" : magnitude >= 10 ? "%.1f" : "%.2f", number)
    }
    if unit == "s" || unit.hasPrefix("s/") {
        let scaled: [(Double, String)] = [(1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")]
        for (factor, name) in scaled where abs(value) >= factor * 0.9995 || factor == 1e-9 {
            return digits(value / factor) + " " + name
        }
    }
    if unit == "kB" {
        return abs(value) >= 1_000 ? digits(value / 1_024) + " MB" : digits(value) + " kB"
    }
    return digits(value) + " " + unit
}

/// How many times something is: "12.3x", "0.61x", "1549x".
package func timesText(_ ratio: Double) -> String {
    guard ratio.isFinite else { return "-" }
    return cFormat(ratio >= 100 ? "%.0fx" : ratio >= 10 ? "%.1fx" : "%.2fx", ratio)
}
