import IntervalNotifier

/// One side of a paired repetition, ready to run: `measure` runs one
/// repetition (through ``BenchRunner``) and returns its figure; `tearDown`
/// frees what the side built (its registry).
struct PairedFixture {
    /// Runs one repetition of this side and returns the figure of the request's metric.
    var measure: () -> Double
    /// Frees the side's registry once every repetition has run.
    var tearDown: () -> Void = {}
}

/// Runs the ratio targets' paired, interleaved repetitions: the two sides of a
/// target at its point alternately, A B A B …, in this process, so that both
/// sides of each pair see the same machine.
public enum PairedRunner {
    /// Which repetition a side's closure runs: the warm-up pair, whose figures
    /// are dropped, or recorded pair `index` (0-based).
    public enum Repetition: Equatable, Sendable {
        /// The first pair, not recorded.
        case warmUp
        /// Recorded pair `index`.
        case recorded(Int)
    }

    /// Runs `numerator` and `denominator` alternately (A B A B …): one warm-up
    /// pair, then `count` pairs that it records.
    ///
    /// The warm-up pair is dropped because a side's first repetition ran
    /// colder than its later ones: right after the fixtures were built (the
    /// denominator's last, so its data was in the caches and the numerator's
    /// was not), with the callback thread still reclaiming what the build
    /// retired. In the full run of 2026-12-02 05:23 UTC the first pair of
    /// `fault-path-vs-rwlock` gave 1.38 against 1.88-2.04 for the other four,
    /// of `lookup-overhead size=1000` 1.28 against 0.87-1.20; in `--quick`
    /// lookup runs the engine's first repetition at 100 000 entries took 131 ns
    /// against 107 and 109 for its others, at 1 000 000 435 against 394 and
    /// 401. With three pairs, one cold pair moved the median by several percent.
    public static func run(_ request: PairRequest, count: Int, numerator: (Repetition) -> Double,
                           denominator: (Repetition) -> Double) -> PairedRatio {
        _ = numerator(.warmUp)
        _ = denominator(.warmUp)
        var tops: [Double] = []
        var bottoms: [Double] = []
        for index in 0..<count {
            tops.append(numerator(.recorded(index)))
            bottoms.append(denominator(.recorded(index)))
        }
        return PairedRatio(request: request, numeratorValues: tops, denominatorValues: bottoms)
    }

    /// Runs the repetitions of every request whose workload can run a side
    /// (`read-primitive`, `lookup` with writer=no, `fault-path` with `seq`, `cache` hits);
    /// other requests are skipped (their targets stay not measured).
    /// `report` gets one line per finished request.
    public static func run(_ requests: [PairRequest], repetitions: PairedRepetitions, placement: BenchPlacement,
                           report: ((String) -> Void)? = nil) -> [PairedRatio] {
        requests.compactMap { request in
            guard let top = fixture(request, side: request.numerator, repetitions: repetitions, placement: placement)
            else { return nil }
            guard let bottom = fixture(request, side: request.denominator, repetitions: repetitions,
                                       placement: placement) else {
                top.tearDown()
                return nil
            }
            let pair = run(request, count: repetitions.count, numerator: { _ in top.measure() },
                           denominator: { _ in bottom.measure() })
            top.tearDown()
            bottom.tearDown()
            if let stats = pair.statistics {
                report?("paired \(request.target): " + stats.summary(point: request.pointDescription))
            }
            return pair
        }
    }

    /// The fixture of one side of `request`, or nil when its workload has none.
    static func fixture(_ request: PairRequest, side: PairedSide, repetitions: PairedRepetitions,
                        placement: BenchPlacement) -> PairedFixture? {
        let seconds = repetitions.seconds
        let parameters = request.parameters
        let strategy = side.strategy.strategy
        switch request.workload {
        case ReadPrimitiveWorkload.name:
            if side.strategy == .loadLoop {
                return PairedFixture(measure: {
                    ReadPrimitiveWorkload.loadLoopPoint(threads: side.threads, placement: placement,
                                                        duration: seconds).aggregateRate
                })
            }
            guard let strategy else { return nil }
            let population = ReadPrimitiveWorkload.population(strategy: strategy, threads: side.threads)
            return PairedFixture(measure: {
                ReadPrimitiveWorkload.point(population, strategy: strategy, threads: side.threads,
                                            placement: placement, duration: seconds).aggregateRate
            }, tearDown: { population.removeAll() })
        case LookupWorkload.name:
            guard parameters.writer == false, let size = parameters.size else { return nil }
            if side.strategy == .unsynchronized || side.strategy == .readSectionOnly {
                let tree = LookupWorkload.baselineTree(size: size)
                return PairedFixture(measure: {
                    LookupWorkload.baselinePoint(tree, side: side.strategy, threads: side.threads, placement: placement,
                                                 duration: seconds).meanNanosecondsPerOperation
                })
            }
            guard let strategy else { return nil }
            let population = BenchPopulation.workloadL(strategy: strategy, count: size)
            return PairedFixture(measure: {
                LookupWorkload.point(population, strategy: strategy, writer: false, threads: side.threads,
                                     placement: placement, duration: seconds).meanNanosecondsPerOperation
            }, tearDown: { population.removeAll() })
        case FaultLoopWorkload.name:
            guard let strategy, request.mirrorProtocol == .seq, let size = parameters.size,
                  let invalidators = parameters.invalidators else { return nil }
            let fixture = FaultLoopWorkload.Fixture(strategy: strategy, size: size)
            return PairedFixture(measure: {
                FaultLoopWorkload.point(fixture, strategy: strategy, invalidators: invalidators, threads: side.threads,
                                        placement: placement, duration: seconds).aggregateRate
            }, tearDown: { fixture.tearDown() })
        case CacheWorkload.name:
            guard let measure = CacheWorkload.pairedMeasure(side: side.strategy, parameters: parameters, metric: request.metric,
                                                            threads: side.threads, placement: placement, seconds: seconds)
            else { return nil }
            return PairedFixture(measure: measure)
        default:
            return nil
        }
    }
}
