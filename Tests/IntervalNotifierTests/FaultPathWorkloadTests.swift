import IntervalNotifier
import NotifierBench
import NotifierStress
import Testing

/// The fault-path benchmark workload runs the stress harness and reports a rate.
@Suite("Fault-path workload", .serialized)
struct FaultPathWorkloadTests {
    @Test("a 0.3 s run reports a positive fault rate and no violation", arguments: MirrorProtocol.allCases)
    func positiveRate(_ mirrorProtocol: MirrorProtocol) {
        let parameters = FaultPathParameters(strategy: .default, mirrorProtocol: mirrorProtocol, threads: 2,
                                             invalidators: 1, subscriptions: 1000, duration: 0.3)
        let m = FaultPathWorkload.run(parameters)
        #expect(m.workload == .faultPathHarness)
        #expect(m.parameters == BenchParameters(invalidators: 1, size: 1000))
        #expect(m.strategy == .registry(.default) && m.mirrorProtocol == mirrorProtocol && m.threads == 2)
        #expect(m.metric == .opsPerSecond)
        #expect(m.value > 0)
        #expect(m.extra[.violations] == 0)
        #expect(m.extra[.retries] != nil)
    }

    @Test("the workload's stress configuration: no churn, no oracle, no latencies, a few pages per subscription")
    func configuration() {
        let parameters = FaultPathParameters(strategy: .kernel, mirrorProtocol: .hmm, threads: 3,
                                             invalidators: 4, subscriptions: 1_000_000, duration: 1, nodes: [0])
        let c = FaultPathWorkload.configuration(parameters)
        #expect(c.faulters == 3 && c.invalidators == 4 && c.churners == 0)
        #expect(c.subscriptions == 1_000_000 && c.pages == 4_000_000 && c.maxSubscriptionPages == 8)
        #expect(c.strategy == .kernel && c.mirrorProtocol == .hmm && c.nodes == [0])
        #expect(!c.recordLatencies && !c.oracleChecks && !c.progress)
    }
}
