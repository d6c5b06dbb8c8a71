import Foundation
import Synchronization
import Testing
@testable import IntervalNotifier
import NotifierHarness

/// The flavours with read-side sections that nest (memb, bp, mb): each space
/// and tree waits for the grace periods of its own flavour, so a reader inside
/// a section of that flavour holds back what it could still see. (qsbr, whose
/// "section" is the thread being online, has its own tests in `StrategyTests`.)
/// Serialized: a memb reader held open by one case would also hold back a
/// release wrongly queued on the memb queue by another, hiding that bug.
@Suite("RCU flavours with read-side sections", .serialized)
struct RCUFlavorTests {
    static let sectionFlavors: [RCUFlavor] = [.memb, .bp, .mb]

    @Test("a reader inside a section of the space's flavour holds back a put's release until it leaves",
          arguments: sectionFlavors)
    func readerHoldsBackRelease(flavor: RCUFlavor) throws {
        let space = AddressSpace(strategy: .rcu(flavor))
        let sub = try space.insert(start: 0, length: 4096) { s, _, q in s.setSequence(q); return true }
        let inside = DispatchSemaphore(value: 0)
        let leave = DispatchSemaphore(value: 0)
        // A thread that never registered with any flavour (bp and mb register
        // lazily; memb too, through the engine).
        let reader = JoinableThread(name: "\(flavor)-reader") {
            let wentOnline = flavor.enterReadSection()
            _ = space.withSubscription(containing: 10) { $0 != nil }
            inside.signal()
            _ = leave.wait(timeout: .now() + 30)
            flavor.exitReadSection(wentOnline)
        }
        #expect(inside.wait(timeout: .now() + 30) == .success)
        let released = SharedFlag()
        try space.put(sub) { _ in released.set() }
        sleep(milliseconds: 50)
        #expect(!released.isSet, "release ran while a \(flavor) reader was still inside its section")
        leave.signal()
        #expect(reader.join())
        #expect(eventually { released.isSet })
        try space.synchronize()
    }

    @Test("a tree of the flavour reclaims nodes only after readers leave their sections", arguments: sectionFlavors)
    func treeReclamationWaitsForReaders(flavor: RCUFlavor) throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true, reclamation: .rcu(flavor))
        var rng = Xorshift64(seed: 0xF1A7_0001)
        var live: [IntervalTreeEntry] = []
        IntervalTreeReclamationTests.churn(tree, live: &live, count: 500, rng: &rng)
        tree.waitForReclamation()
        let baseline = tree.memoryStatistics
        let inside = DispatchSemaphore(value: 0)
        let leave = DispatchSemaphore(value: 0)
        let reader = JoinableThread(name: "\(flavor)-tree-reader") {
            let wentOnline = flavor.enterReadSection()
            inside.signal()
            _ = leave.wait(timeout: .now() + 30)
            flavor.exitReadSection(wentOnline)
        }
        #expect(inside.wait(timeout: .now() + 30) == .success)
        IntervalTreeReclamationTests.churn(tree, live: &live, count: 2000, rng: &rng)
        tree.flushRetired()
        sleep(milliseconds: 50)
        let held = tree.memoryStatistics
        #expect(held.retiredNodes > baseline.retiredNodes)
        #expect(held.reclaimedNodes == baseline.reclaimedNodes, "nodes reclaimed while a \(flavor) reader was inside its section")
        leave.signal()
        #expect(reader.join())
        tree.waitForReclamation()
        let after = tree.memoryStatistics
        #expect(after.reclaimedNodes == after.retiredNodes)
        try tree.validate()
        #expect(tree.allEntries() == live.sorted(by: entryPrecedes))
    }

    @Test("read sections of every nesting flavour are seen as such, and only while open", arguments: sectionFlavors)
    func sectionIsObserved(flavor: RCUFlavor) {
        // Observed on a fresh thread (never registered), asserted here.
        let observed = TestMutex<[Bool]>([])
        let observer = JoinableThread(name: "\(flavor)-observer") {
            var seen = [RCU.isInAnyReadSection]
            let outer = flavor.enterReadSection()
            let inner = flavor.enterReadSection()
            seen.append(RCU.isInAnyReadSection)
            flavor.exitReadSection(inner)
            seen.append(RCU.isInAnyReadSection)
            flavor.exitReadSection(outer)
            seen.append(RCU.isInAnyReadSection)
            observed.withLock { $0 = seen }
        }
        #expect(observer.join())
        // Before, nested, outer still open, after.
        #expect(observed.withLock { $0 } == [false, true, true, false])
    }
}
