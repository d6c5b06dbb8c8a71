import Synchronization
import Testing
@testable import IntervalNotifier

/// Memory that writers change at every update lies on cache lines of its own,
/// away from what lookups read (see `CacheLineAllocation`).
@Suite("Cache-line allocation")
struct CacheLineAllocationTests {
    private func isLineAligned(_ pointer: UnsafeRawPointer) -> Bool {
        Int(bitPattern: pointer) % CacheLineAllocation.lineBytes == 0
    }

    @Test("allocations start on a line, for small and large types")
    func aligned() {
        struct Large { var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) }
        for _ in 0..<64 {
            let small = CacheLineAllocation.allocate(UInt32.self)
            let large = CacheLineAllocation.allocate(Large.self)
            let atomic = CacheLineAllocation.allocate(Atomic<Int>.self)
            #expect(isLineAligned(small) && isLineAligned(large) && isLineAligned(atomic))
            small.deallocate()
            large.deallocate()
            atomic.deallocate()
        }
    }

    @Test("a tree's entry count, writer state and reclaim queue each start on a line of their own")
    func treeWriterMemory() {
        // Sixteen trees: a plain allocation is 16-byte aligned, so one of them
        // could start on a line by chance, but not all sixteen.
        let trees = (0..<16).map { _ in RCUIntervalTree() }
        for tree in trees {
            tree.insert(IntervalTreeEntry(start: 1, last: 2, value: 3))
            #expect(tree.count == 1)
            let storage = tree.storage
            #expect(isLineAligned(storage.entryCount))
            #expect(isLineAligned(storage.writer))
            #expect(isLineAligned(storage.reclaimQueue))
        }
    }

    @Test("every registry lock's memory starts on a line of its own", arguments: RegistryStrategy.allCases)
    func lockMemory(strategy: RegistryStrategy) {
        // Sixteen locks, for the reason given above.
        let locks = (0..<16).map { _ in AnyRegistryLock(strategy.plan.lock) }
        defer { for lock in locks { lock.destroy() } }
        for lock in locks {
            let address: UnsafeRawPointer = switch lock {
            case .spin(let l): UnsafeRawPointer(l.word)
            case .rwlock(let l): UnsafeRawPointer(l.rwlock)
            case .mutex(let l): UnsafeRawPointer(l.mutex)
            }
            #expect(isLineAligned(address))
        }
    }
}
