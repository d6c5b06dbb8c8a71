import NotifierStress

/// The identity of one measured figure: everything but its value.
struct MeasurementKey: Hashable {
    var workload: BenchWorkload
    var parameters: BenchParameters
    var mirrorProtocol: MirrorProtocol?
    var strategy: BenchSide
    var threads: Int
    var metric: BenchMetric

    init(_ measurement: BenchMeasurement) {
        self.init(workload: measurement.workload, parameters: measurement.parameters,
                  mirrorProtocol: measurement.mirrorProtocol, strategy: measurement.strategy,
                  threads: measurement.threads, metric: measurement.metric)
    }

    init(workload: BenchWorkload, parameters: BenchParameters, mirrorProtocol: MirrorProtocol?, strategy: BenchSide,
         threads: Int, metric: BenchMetric) {
        self.workload = workload
        self.parameters = parameters
        self.mirrorProtocol = mirrorProtocol
        self.strategy = strategy
        self.threads = threads
        self.metric = metric
    }
}

/// The measurements of a run by key. When a key was measured more than once,
/// the last measurement wins (a rerun replaces an earlier figure).
struct MeasurementIndex {
    /// Values by key.
    private(set) var values: [MeasurementKey: Double] = [:]
    /// Keys whose (last) measurement is ``BenchMeasurement/oversubscribed``.
    private(set) var oversubscribed: Set<MeasurementKey> = []

    /// Indexes `measurements`.
    init(_ measurements: [BenchMeasurement]) {
        for measurement in measurements {
            let key = MeasurementKey(measurement)
            values[key] = measurement.value
            if measurement.oversubscribed { oversubscribed.insert(key) } else { oversubscribed.remove(key) }
        }
    }

    /// Whether the figure of `key` was measured with more threads than CPUs.
    func isOversubscribed(_ key: MeasurementKey) -> Bool { oversubscribed.contains(key) }

    /// The value of `key`, if measured.
    subscript(key: MeasurementKey) -> Double? { values[key] }

    /// Keys of `workload` and `metric` (unordered).
    func keys(workload: BenchWorkload, metric: BenchMetric) -> [MeasurementKey] {
        values.keys.filter { $0.workload == workload && $0.metric == metric }
    }
}
