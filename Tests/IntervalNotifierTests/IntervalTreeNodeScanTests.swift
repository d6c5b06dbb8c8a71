import CNotifierCore
import IntervalNotifier
import NotifierHarness
import Testing

extension IntervalTreeScanPolicy {
    /// Both node scans, for tests that run once with each.
    static let bothScans: [IntervalTreeScanPolicy] = [.scalar, .vector]
}

/// The vector node scan: its instruction sets against the portable code, and the
/// policy that decides when a tree's readers use it. (Every tree query runs with
/// both scans in the model, concurrency, ordering and removal-in-place tests.)
@Suite("Interval tree node scan")
struct IntervalTreeNodeScanTests {
    /// Values where an unsigned compare can go wrong: 0, 1, around 2^63 (a
    /// signed compare's sign flip), UInt64.max, and random ones.
    static func word(_ rng: inout Xorshift64) -> UInt64 {
        switch rng.below(8) {
        case 0: 0
        case 1: 1
        case 2: 1 << 63
        case 3: (1 << 63) - 1
        case 4: (1 << 63) + 1
        case 5: .max
        case 6: rng.below(64)
        default: rng.next()
        }
    }

    @Test("each instruction set's mask matches the one-word-at-a-time mask, at every fan-out and count")
    func instructionSetsAgree() {
        var rng = Xorshift64(seed: 0x5CA7_0001)
        let isas = [CNP_NODE_SCAN_AVX2, CNP_NODE_SCAN_AVX512].filter { cnp_node_scan_runs(Int32($0)) != 0 }
        let starts = UnsafeMutablePointer<UInt64>.allocate(capacity: 32)
        let lasts = UnsafeMutablePointer<UInt64>.allocate(capacity: 32)
        defer { starts.deallocate(); lasts.deallocate() }
        var checked = 0
        for _ in 0..<20_000 {
            let fanout = [8, 16, 32][Int(rng.below(3))]
            let count = Int(rng.below(UInt64(fanout) + 1))
            // Words past `count` hold anything: the mask must ignore them.
            for index in 0..<32 {
                starts[index] = Self.word(&rng)
                lasts[index] = Self.word(&rng)
            }
            let start = Self.word(&rng), last = Self.word(&rng)
            var expected: UInt32 = 0
            for index in 0..<count where starts[index] <= last && lasts[index] >= start {
                expected |= 1 << UInt32(index)
            }
            let portable = cnp_node_overlap_mask_using(Int32(CNP_NODE_SCAN_PORTABLE), starts, lasts, fanout, count, start, last)
            #expect(portable == expected, "portable, fan-out \(fanout), count \(count), query [\(start), \(last)]")
            for isa in isas {
                let mask = cnp_node_overlap_mask_using(Int32(isa), starts, lasts, fanout, count, start, last)
                guard mask == expected else {
                    Issue.record("instruction set \(isa), fan-out \(fanout), count \(count), query [\(start), \(last)]: \(String(mask, radix: 2)), expected \(String(expected, radix: 2))")
                    return
                }
                checked += 1
            }
        }
        // On x86-64 at least AVX2 ran (every x86-64 CPU this project runs on has
        // it), except in ThreadSanitizer builds, which use the portable code only.
        #if arch(x86_64)
        #expect(checked > 0 || IntervalTreeNodeScan.instructionSet == "portable")
        #endif
    }

    @Test("a tree scans with vectors up to its limit, then word by word until it is back to seven eighths of it")
    func policySwitchesWithHysteresis() throws {
        try #require(IntervalTreeNodeScan.isAvailable, "this CPU has no vector scan")
        let tree = RCUIntervalTree(scanPolicy: .vector(upTo: 100))
        #expect(tree.storage.scansWithVectors)
        var entries: [IntervalTreeEntry] = []
        for index in 0..<101 {
            let entry = IntervalTreeEntry(start: UInt64(index) * 10, last: UInt64(index) * 10 + 5, value: UInt(index))
            tree.insert(entry)
            entries.append(entry)
            #expect(tree.storage.scansWithVectors == (index < 100), "at \(index + 1) entries")
        }
        // Down to 89 entries: still word by word; at 88 (100 - 100 / 8): vectors again.
        while tree.count > 89 {
            #expect(tree.remove(entries.removeLast()))
            #expect(!tree.storage.scansWithVectors, "at \(tree.count) entries")
        }
        #expect(tree.remove(entries.removeLast()))
        #expect(tree.count == 88 && tree.storage.scansWithVectors)
        // Either way, the queries answer alike.
        #expect(tree.allEntries() == entries)
        #expect(tree.countContaining(25) == 1 && tree.firstOverlapping(start: 26, last: 29) == nil)
        tree.waitForReclamation()
    }

    @Test("word by word never scans with vectors; automatic scans with vectors up to the L2 cache's worth of entries")
    func fixedPolicies() {
        let scalar = RCUIntervalTree(scanPolicy: .scalar)
        scalar.insert(IntervalTreeEntry(start: 1, last: 2, value: 0))
        #expect(!scalar.storage.scansWithVectors)
        #expect(IntervalTreeScanPolicy.automatic.vectorEntryLimit == IntervalTreeNodeScan.defaultEntryLimit)
        let l2 = Int(cnp_cache_bytes(2))
        #expect(IntervalTreeNodeScan.defaultEntryLimit == (l2 > 0 ? l2 : 1 << 20) / IntervalTreeNodeScan.estimatedBytesPerEntry)
        #expect(RCUIntervalTree().storage.scansWithVectors == IntervalTreeNodeScan.isAvailable)
    }
}
