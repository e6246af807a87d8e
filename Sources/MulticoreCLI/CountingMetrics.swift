import CoreMetrics
import Synchronization

/// The smallest real metrics backend: every counter, recorder and timer keeps its sum and its
/// count in atomics, as an aggregating backend (Prometheus' client) does on the hot path. What
/// `executor.processes.submit.metrics` bootstraps, to measure what a pool's metrics cost.
final class CountingMetrics: MetricsFactory {
    final class Handler: CounterHandler, RecorderHandler, TimerHandler {
        let sum = Atomic<Int64>(0)
        let count = Atomic<Int64>(0)

        private func add(_ value: Int64) {
            sum.wrappingAdd(value, ordering: .relaxed)
            count.wrappingAdd(1, ordering: .relaxed)
        }

        func increment(by amount: Int64) { add(amount) }
        func reset() { sum.store(0, ordering: .relaxed) }
        func record(_ value: Int64) { add(value) }
        func record(_ value: Double) { add(Int64(value)) }
        func recordNanoseconds(_ duration: Int64) { add(duration) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { Handler() }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { Handler() }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Handler() }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
