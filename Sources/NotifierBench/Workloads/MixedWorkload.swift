#if canImport(Glibc)
import Glibc
#endif
import IntervalNotifier
import Synchronization
import NotifierHarness

/// `mixed`: the Citrus / RLU benchmark shape on the registry. Keys 0 ..< 200 000,
/// key k standing for the subscription `[k * 4096, k * 4096 + 4095]`; 100 000
/// random keys present at the start. Each thread draws random keys: with
/// probability 1 - u a lookup (`withSubscription(containing:)` inside the
/// key's page), otherwise, half each, insert-if-absent or remove-if-present.
/// Inserts and removes are balanced, so about half the keys stay present.
///
/// The benchmark's own bookkeeping is one atomic word per key: 0 absent, 1
/// locked, otherwise the subscription's address. An update locks its key's
/// word with a compare-exchange (so that a remove finds the subscription its
/// insert made), does the registry call and stores the new word. Threads are
/// qsbr readers (online, a quiescent state after every operation) that go
/// offline for the length of each update.
///
/// Measurements: parameters `updates=U%`, metric `ops/s` (all threads together),
/// extra `normalized-scalability` = L_N / (N × L_1), computed after the sweep
/// of the strategy and parameters (1 at one thread; relative to the smallest
/// thread count when 1 is not in the sweep).
public enum MixedWorkload {
    /// The workload's name in measurements.
    public static let name = BenchWorkload.mixed
    /// Key space of the suite (half of the keys present at the start).
    public static let defaultKeys = 200_000
    /// Operations between two checks of the stop flag.
    static let batch = 32
    /// Update percentages of the suite.
    public static let defaultUpdatePercentages = [0, 2, 10, 20, 50]
    static let lockedWord: UInt = 1

    /// Points and time of ``run(_:updatePercentages:keys:progress:)``.
    public static func plan(_ sweep: BenchSweep, updatePercentages: [Int] = defaultUpdatePercentages,
                            keys: Int = defaultKeys) -> BenchPlan {
        .points(sweep.strategies.count * updatePercentages.count * sweep.threads.count, duration: sweep.duration,
                setupSeconds: Double(sweep.strategies.count * keys / 2) * BenchPlan.secondsPerSubscription)
    }

    /// Runs each strategy, each update percentage, each thread count, over
    /// `keys` keys (half present at the start; the suite uses 200 000).
    public static func run(_ sweep: BenchSweep, updatePercentages: [Int] = defaultUpdatePercentages,
                           keys: Int = defaultKeys, progress: BenchProgress? = nil) -> [BenchMeasurement] {
        precondition(keys >= 2)
        var measurements: [BenchMeasurement] = []
        for strategy in sweep.strategies {
            let table = KeyTable(space: AddressSpace(strategy: strategy), keys: keys)
            defer { table.removeAll() }
            for updates in updatePercentages {
                let parameters = BenchParameters(updatesPercent: updates)
                var row: [BenchMeasurement] = []
                for threads in sweep.threads {
                    progress?.begin(workload: name, parameters: parameters, strategy: strategy.name, threads: threads)
                    let result = BenchRunner.run(placement: sweep.placement, duration: sweep.duration, workers: threads) { worker in
                        mixedLoop(table, updates: updates, strategy: strategy, worker: worker)
                    }
                    let m = BenchMeasurement(workload: name, parameters: parameters, strategy: .registry(strategy), threads: threads,
                                             metric: .opsPerSecond, value: result.aggregateRate,
                                             oversubscribed: result.oversubscribed)
                    progress?.end(m)
                    row.append(m)
                }
                // L_N / (N × L_1), per-thread rate relative to the smallest thread count.
                if let base = row.min(by: { $0.threads < $1.threads }), base.value > 0 {
                    let perThread = base.value / Double(base.threads)
                    for i in row.indices {
                        row[i].extra[.normalizedScalability] = row[i].value / (Double(row[i].threads) * perThread)
                    }
                }
                measurements += row
            }
        }
        return measurements
    }

    /// One atomic word per key (see ``MixedWorkload``).
    final class KeyTable: @unchecked Sendable {
        let space: AddressSpace
        let words: UnsafeMutablePointer<Atomic<UInt>>
        let keys: Int

        init(space: AddressSpace, keys: Int) {
            self.space = space
            self.keys = keys
            words = .allocate(capacity: keys)
            for k in 0..<keys { (words + k).initialize(to: Atomic<UInt>(0)) }
            // keys / 2 distinct random keys (a partial Fisher-Yates shuffle).
            var order = Array(0..<keys)
            var rng = Xorshift64(seed: 0x31C3_D000)
            for i in 0..<keys / 2 {
                order.swapAt(i, i + benchRandom(&rng, below: keys - i))
                let k = order[i]
                // Relaxed: set-up, before the threads start (the start barrier orders it).
                words[k].store(Self.word(try! space.insert(start: address(k), length: 4096, invalidate: benchNoOpInvalidate)),
                               ordering: .relaxed)
            }
        }

        deinit {
            words.deinitialize(count: keys)
            words.deallocate()
        }

        static func word(_ subscription: IntervalSubscription) -> UInt {
            UInt(bitPattern: Unmanaged.passUnretained(subscription).toOpaque())
        }

        static func subscription(_ word: UInt) -> IntervalSubscription {
            Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(bitPattern: word)!).takeUnretainedValue()
        }

        /// Locks key `k`'s word; returns its previous value.
        @inline(__always)
        func lock(_ k: Int) -> UInt {
            // Relaxed: a first look only; the compare-exchange below acquires.
            var current = words[k].load(ordering: .relaxed)
            while true {
                if current == lockedWord {
                    sched_yield()
                    // Relaxed: as above.
                    current = words[k].load(ordering: .relaxed)
                    continue
                }
                // Acquiring: the previous holder's writes (its insert or remove) are seen.
                let (exchanged, original) = words[k].compareExchange(expected: current, desired: lockedWord, ordering: .acquiring)
                if exchanged { return current }
                current = original
            }
        }

        /// Unlocks key `k`'s word, storing `word`.
        @inline(__always)
        func unlock(_ k: Int, _ word: UInt) {
            // Releasing: publishes this holder's insert or remove to the next holder.
            words[k].store(word, ordering: .releasing)
        }

        /// Removes every subscription still present.
        func removeAll() {
            for k in 0..<keys {
                // Relaxed (both): after the threads were joined.
                let word = words[k].load(ordering: .relaxed)
                if word > lockedWord {
                    try? space.remove(Self.subscription(word))
                    words[k].store(0, ordering: .relaxed)
                }
            }
            RCU.barrier()
        }
    }

    @inline(__always)
    static func address(_ key: Int) -> UInt64 { UInt64(key) << 12 }

    @inline(never)
    static func mixedLoop(_ table: KeyTable, updates: Int, strategy: RegistryStrategy, worker: BenchWorker) -> BenchThreadOutput {
        var rng = Xorshift64(seed: BenchSeed.thread(worker.index, 0x313C))
        let space = table.space
        let keys = table.keys
        // Out of 2^32: below `threshold` an update.
        let threshold = UInt64(updates) * (1 << 32) / 100
        strategy.readerThreadOnline()
        worker.waitForStart()
        var operations: UInt64 = 0
        var found: UInt64 = 0
        while worker.isRunning {
            for _ in 0..<batch {
                let r = rng.next()
                let k = benchRandom(&rng, below: keys)
                if r & 0xFFFF_FFFF >= threshold {
                    found &+= space.withSubscription(containing: address(k) | 0x800) { $0 == nil ? 0 : 1 }
                } else {
                    // An update: offline (qsbr) while it may wait, for the key's
                    // word or for the registry, so no grace period waits for us.
                    strategy.readerThreadOffline()
                    let word = table.lock(k)
                    if r >> 63 == 0 {
                        // Insert if absent.
                        if word == 0 {
                            let subscription = try! space.insert(start: address(k), length: 4096, invalidate: benchNoOpInvalidate)
                            table.unlock(k, KeyTable.word(subscription))
                        } else {
                            table.unlock(k, word)
                        }
                    } else {
                        // Remove if present.
                        if word != 0 { try! space.remove(KeyTable.subscription(word)) }
                        table.unlock(k, 0)
                    }
                    strategy.readerThreadOnline()
                }
                operations &+= 1
                strategy.readerQuiescentState()
            }
        }
        strategy.readerThreadOffline()
        benchBlackHole(found)
        return BenchThreadOutput(operations: operations, counters: [found])
    }
}
