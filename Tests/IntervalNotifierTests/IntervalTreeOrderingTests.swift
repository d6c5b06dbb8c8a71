import CNotifierCore
@testable import IntervalNotifier
import NotifierHarness
import Synchronization
import Testing

/// The order of in-place max-last changes around a publication: raised before
/// an insert is published, lowered only after a remove is. Checked at the
/// publication point itself on the writer's thread (deterministic), and by
/// readers on other threads that stab announced entries while the writer waits
/// at that point, with a writer that splits and merges nodes all the time.
@Suite("RCUIntervalTree publication order")
struct IntervalTreeOrderingTests {
    /// The entry whose publication the hook is watching.
    final class Watched: @unchecked Sendable {
        var entry: IntervalTreeEntry?
        var inserting = false
    }

    /// An entry announced to the readers: present in the tree while `sequence` is odd.
    final class Announcement: Sendable {
        let start = Atomic<UInt64>(0)
        let last = Atomic<UInt64>(0)
        let value = Atomic<UInt>(0)
        let sequence = Atomic<UInt64>(0)
        let checks = Atomic<Int>(0)
    }

    static let longValueBase: UInt = 5_000_000

    /// Whether a stab at `entry.last` (where only an up-to-date max-last lets a
    /// walk reach it) finds `entry`.
    static func stabFinds(_ tree: RCUIntervalTree, start: UInt64, last: UInt64, value: UInt) -> Bool {
        var found = false
        _ = RCU.read {
            tree.snapshot().forEachContaining(last) { hit in
                if hit.start == start && hit.last == last && hit.value == value { found = true; return false }
                return true
            }
        }
        return found
    }

    @Test("max-lasts rise before an insert is published and fall only after a remove is, under splits and merges",
          arguments: IntervalTreeScanPolicy.bothScans)
    func maxLastOrderAroundPublication(scan: IntervalTreeScanPolicy) throws {
        let tree = RCUIntervalTree(reclaimBatchSize: 8, poisonReclaimedNodes: true, scanPolicy: scan)
        var rng = Xorshift64(seed: 0x0DE7_0001)
        let failures = FailureLog()
        let announcement = Announcement()
        let watched = Watched()
        let stop = SharedFlag()
        var hookChecks = 0

        // Short background entries below 2^20: the long ones (which end past
        // 2^21) raise every max-last on their path when they come and lower it
        // when they go.
        var short: [IntervalTreeEntry] = []
        for index in 0..<400 {
            let start = rng.below(1 << 20)
            let entry = IntervalTreeEntry(start: start, last: start + rng.below(64), value: UInt(index))
            tree.insert(entry)
            short.append(entry)
        }
        tree.storage.setPublicationHookForTesting { phase in
            guard let entry = watched.entry else { return }
            let present = watched.inserting ? phase == .afterPublication : phase == .beforePublication
            guard present else { return }
            hookChecks += 1
            if !Self.stabFinds(tree, start: entry.start, last: entry.last, value: entry.value) {
                failures.record("\(watched.inserting ? "inserted" : "removed") \(entry) is in the tree but a stab at its last address misses it (\(phase))")
            }
            // Let the readers look while the writer stands at this point.
            announcement.start.store(entry.start, ordering: .relaxed)
            announcement.last.store(entry.last, ordering: .relaxed)
            announcement.value.store(entry.value, ordering: .relaxed)
            let checksBefore = announcement.checks.load(ordering: .relaxed)
            // Releasing: the readers' acquiring load of the odd value sees the entry's words.
            announcement.sequence.add(1, ordering: .releasing)
            var spins = 0
            while announcement.checks.load(ordering: .relaxed) == checksBefore && spins < 5_000 {
                cnp_cpu_relax()
                spins += 1
            }
            // Releasing: orders the announcement's end after the readers' checks it waited for.
            announcement.sequence.add(1, ordering: .releasing)
        }
        defer { tree.storage.setPublicationHookForTesting(nil) }

        let readers = (0..<2).map { index in
            JoinableThread(name: "stabber-\(index)") {
                while !stop.isSet {
                    // Acquiring: pairs with the releasing increment that opened the announcement.
                    let before = announcement.sequence.load(ordering: .acquiring)
                    guard before & 1 == 1 else { cnp_cpu_relax(); continue }
                    let start = announcement.start.load(ordering: .relaxed)
                    let last = announcement.last.load(ordering: .relaxed)
                    let value = announcement.value.load(ordering: .relaxed)
                    let found = Self.stabFinds(tree, start: start, last: last, value: value)
                    // Acquiring: if unchanged, the entry was in the tree during the whole stab.
                    let after = announcement.sequence.load(ordering: .acquiring)
                    if after == before {
                        if !found { failures.record("reader: [\(start), \(last)]#\(value) missed while in the tree") }
                        announcement.checks.add(1, ordering: .relaxed)
                    }
                }
            }
        }

        var long: [IntervalTreeEntry] = []
        var nextValue = Self.longValueBase
        for step in 0..<4000 {
            // Short churn in waves of 600 steps: the tree grows by hundreds of
            // entries and shrinks back, splitting and merging nodes at two levels.
            watched.entry = nil
            for _ in 0..<2 {
                if (step / 300) % 2 == 0 {
                    let start = rng.below(1 << 20)
                    let entry = IntervalTreeEntry(start: start, last: start + rng.below(64), value: UInt(step))
                    tree.insert(entry)
                    short.append(entry)
                } else if short.count > 50 {
                    let entry = short.remove(at: Int(rng.below(UInt64(short.count))))
                    if !tree.remove(entry) { failures.record("remove(\(entry)) of a present short entry returned false") }
                }
            }
            // One long entry in or out, watched.
            if long.count < 3 || (long.count < 12 && rng.chance(50)) {
                let start = rng.below(1 << 20)
                let entry = IntervalTreeEntry(start: start, last: (1 << 21) + rng.below(1 << 20), value: nextValue)
                nextValue += 1
                watched.entry = entry
                watched.inserting = true
                tree.insert(entry)
                long.append(entry)
            } else {
                let entry = long.remove(at: Int(rng.below(UInt64(long.count))))
                watched.entry = entry
                watched.inserting = false
                if !tree.remove(entry) { failures.record("remove(\(entry)) of a present long entry returned false") }
            }
            if failures.count > 0 { break }
        }
        watched.entry = nil
        stop.set()
        for reader in readers { #expect(reader.join(), "a reader did not finish") }
        #expect(failures.count == 0, "\(failures.count) failures: \(failures.firstMessages)")
        #expect(hookChecks >= 4000, "the hook checked only \(hookChecks) publications")
        #expect(announcement.checks.load(ordering: .relaxed) > 100, "readers checked only \(announcement.checks.load(ordering: .relaxed)) announcements")
        try tree.validate()
    }
}
