import CNotifierCore

/// The copy-on-write B+tree algorithms.
///
/// A remove under RCU whose leaf keeps its first entry and its fill marks the
/// entry removed in the published leaf (``markRemoved(_:at:depth:)``). Any
/// other update copies the leaf it changes into a fresh node (leaving out the
/// entries removed in place), then walks up the path: a parent whose words for
/// that child stay the same apart from the child's address and max-last is not
/// copied; the new child is published into it with one releasing store
/// (``publishInPlace(depth:child:childLast:)``). A parent whose child's smallest
/// start changes, or that gains or loses a child (split, merge, refill from a
/// sibling), is copied too, and so on up; a copied root is published by the
/// storage with one releasing store of the root pointer.
/// Inside a batch every path node is copied (nodes already private to the
/// batch are rewritten, not copied again) and only the root is published.
extension IntervalTreeWriter {
    // MARK: Order

    /// Total order of entries: by start, then last, then value. Equal entries
    /// (duplicates) are allowed; they sit next to each other in order.
    @inline(__always)
    static func compare(_ entry: IntervalTreeEntry, start: UInt64, last: UInt64, value: UInt64) -> Int {
        if entry.start != start { return entry.start < start ? -1 : 1 }
        if entry.last != last { return entry.last < last ? -1 : 1 }
        let entryValue = UInt64(entry.value)
        if entryValue != value { return entryValue < value ? -1 : 1 }
        return 0
    }

    /// The lowest entry below `node` (writer side).
    static func firstEntry(_ node: IntervalTreeNodePointer) -> (start: UInt64, last: UInt64, value: UInt64) {
        var node = node
        while !node.isLeaf { node = childProtected(node, 0) }
        return (node.starts[0], node.lasts[0], node.slots[0])
    }

    /// Child `index` of an inner node, read by the writer (it alone stores there).
    @inline(__always)
    static func childProtected(_ node: IntervalTreeNodePointer, _ index: Int) -> IntervalTreeNodePointer {
        IntervalTreeNodePointer(bitPattern: UInt(truncatingIfNeeded: node.slots[index]))!
    }

    /// The child of inner `node` whose subtree holds `entry`'s place: the last
    /// child whose lowest entry is at most `entry`, or the first child. An entry
    /// equal to `entry` is in that subtree if it is in the tree at all (a child
    /// after it starts above `entry`; one before it ends at or below its first
    /// entry, which equals `entry` if the equal entry is there).
    static func route(_ node: IntervalTreeNodePointer, _ entry: IntervalTreeEntry) -> Int {
        let count = node.count, starts = node.starts
        // The first child starting at or above `entry.start`.
        var index = firstStart(atLeast: entry.start, in: node)
        // Children starting at `entry.start` exactly: compare whole first entries.
        while index < count && starts[index] == entry.start {
            let first = firstEntry(childProtected(node, index))
            if compare(entry, start: first.start, last: first.last, value: first.value) < 0 { break }
            index += 1
        }
        return max(index - 1, 0)
    }

    /// Fills the path from the root down to the leaf where `entry` belongs;
    /// returns the leaf's depth. - Precondition: the tree is not empty.
    ///
    /// With `next`, it also walks the path of `next` beside its own and
    /// prefetches each of its nodes, for an update of `next` that follows. A
    /// descent is a chain of dependent misses, one per level; two descents one
    /// after the other wait for two chains. Walked level by level in one loop,
    /// the two chains are independent of each other and the core keeps both
    /// levels' misses in flight at once, so the second update's descent finds
    /// its nodes in cache. The update of `entry` may copy or retire nodes of
    /// `next`'s path before that descent: then it fetches their replacements
    /// as usual, and only this prefetch was wasted. The walk only reads nodes
    /// of the tree the writer publishes (it holds the writer side; nothing it
    /// reads is freed under it). Every leaf is at the same depth, so the two
    /// walks end together.
    ///
    /// The walk also records the child slot it routed `next` to at each level,
    /// and the descent of the next update reuses it wherever it reaches the
    /// same node, instead of routing again: an inner node's starts and count
    /// never change while it is in the tree, and no node the next descent can
    /// reach was freed and reused at that address in between (retired nodes
    /// come back only through a grace period, or, with `.immediate`
    /// reclamation, at the end of the update, and the next descent allocates
    /// nothing). Not inside a batch, which rewrites its private nodes in place.
    mutating func descend(to entry: IntervalTreeEntry, prefetchingPathOf next: IntervalTreeEntry? = nil) -> Int {
        var node = root!
        var shadow = node
        var depth = 0
        // The path the previous descent recorded for this very update.
        let routed = shadowGeneration == generation && !inBatch && shadowEntry == entry
        shadowGeneration = 0
        while !node.isLeaf {
            let slot = routed && shadowNodes[depth] == node ? shadowSlots[depth] : Self.route(node, entry)
            pathNodes[depth] = node
            pathSlots[depth] = slot
            node = Self.childProtected(node, slot)
            Self.prefetch(node)
            if let next {
                let shadowSlot = Self.route(shadow, next)
                shadowNodes[depth] = shadow
                shadowSlots[depth] = shadowSlot
                shadow = Self.childProtected(shadow, shadowSlot)
                Self.prefetch(shadow)
            }
            depth += 1
        }
        pathNodes[depth] = node
        if let next, !inBatch {
            shadowEntry = next
            // The next update's number: this one's, plus one at its end.
            shadowGeneration = generation &+ 1
        }
        return depth
    }

    /// Asks for every cache line of `node` at once: the route reads its starts
    /// (three lines), the update its max-lasts and slots or, in a leaf, every
    /// word; fetched one after another, each line was a miss of its own.
    @inline(__always)
    static func prefetch(_ node: IntervalTreeNodePointer) {
        let raw = UnsafeRawPointer(node)
        var offset = 0
        while offset < IntervalTreeLayout.nodeBytes {
            cnp_prefetch_for_read(raw + offset)
            offset += 64
        }
    }

    // MARK: Scratch

    @inline(__always)
    mutating func gather(start: UInt64, last: UInt64, slot: UInt64) {
        scratchStarts[scratchCount] = start
        scratchLasts[scratchCount] = last
        scratchSlots[scratchCount] = slot
        scratchCount += 1
    }

    /// Appends words `range` of `node`, leaving out a leaf's entries removed in
    /// place (so a node written from the scratch is compacted).
    mutating func gather(_ node: IntervalTreeNodePointer, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        if _slowPath(node.pointee.removedCount != 0) {
            for index in range where node.lasts[index] >= node.starts[index] {
                gather(start: node.starts[index], last: node.lasts[index], slot: node.slots[index])
            }
            return
        }
        (scratchStarts + scratchCount).update(from: node.starts + range.lowerBound, count: range.count)
        (scratchLasts + scratchCount).update(from: node.lasts + range.lowerBound, count: range.count)
        (scratchSlots + scratchCount).update(from: node.slots + range.lowerBound, count: range.count)
        scratchCount += range.count
    }

    /// Appends `child` as a child entry: its smallest start, its max-last, its address.
    mutating func gather(child: IntervalTreeNodePointer) {
        gather(start: child.starts[0], last: child.maximumLast(), slot: UInt64(UInt(bitPattern: child)))
    }

    /// Writes the gathered words into one fresh node at `level`, or into two
    /// (halves) if they do not fit; empties the scratch.
    mutating func emit(level: Int) -> (IntervalTreeNodePointer, IntervalTreeNodePointer?) {
        let total = scratchCount
        scratchCount = 0
        let fanout = IntervalTreeLayout.fanout
        if total <= fanout {
            return (fill(level: level, from: 0, count: total), nil)
        }
        let half = total / 2
        return (fill(level: level, from: 0, count: half), fill(level: level, from: half, count: total - half))
    }

    private mutating func fill(level: Int, from offset: Int, count: Int) -> IntervalTreeNodePointer {
        let node = allocateNode(level: level)
        node.starts.update(from: scratchStarts + offset, count: count)
        node.lasts.update(from: scratchLasts + offset, count: count)
        node.slots.update(from: scratchSlots + offset, count: count)
        node.pointee.count = Int32(count)
        return node
    }

    /// The index of the first start of `node` at or above `key` (its count if
    /// none): the starts are sorted (a leaf's entries removed in place keep
    /// theirs) and the unused ones hold the largest value (set when the node
    /// is allocated, `IntervalTreeWriter.allocateNode(level:)`), so this is the number of
    /// words below `key`, counted without a branch on the data. A scan loop's
    /// exit was mispredicted at almost every node.
    @inline(__always)
    static func firstStart(atLeast key: UInt64, in node: IntervalTreeNodePointer) -> Int {
        cnp_count_below(node.starts, IntervalTreeLayout.fanout, key)
    }

    // MARK: Updates

    /// Inserts `entry`; returns true if the root changed (the caller publishes it
    /// unless a batch is open).
    /// With `next`, the descent walks `next`'s path beside its own
    /// (see ``descend(to:prefetchingPathOf:)``), for the update that follows.
    mutating func insert(_ entry: IntervalTreeEntry, prefetchingPathOf next: IntervalTreeEntry? = nil) -> Bool {
        count += 1
        guard root != nil else {
            gather(start: entry.start, last: entry.last, slot: UInt64(entry.value))
            root = emit(level: 0).0
            return true
        }
        prefetchNextFreeNode()
        let depth = descend(to: entry, prefetchingPathOf: next)
        let leaf = pathNodes[depth]
        let entries = leaf.count
        // After every entry <= `entry`: duplicates keep their insertion order.
        // Entries starting below it are counted; only equal starts are compared.
        var position = Self.firstStart(atLeast: entry.start, in: leaf)
        while position < entries,
              Self.compare(entry, start: leaf.starts[position], last: leaf.lasts[position], value: leaf.slots[position]) >= 0 {
            position += 1
        }
        if updatesInPlace && entries < IntervalTreeLayout.fanout && position > 0 {
            insertInPlace(entry, into: leaf, at: position, depth: depth)
            return false
        }
        guard leaf.liveCount < IntervalTreeLayout.fanout else {
            // A split: the scratch gathers the words of both halves.
            gather(leaf, 0..<position)
            gather(start: entry.start, last: entry.last, slot: UInt64(entry.value))
            gather(leaf, position..<entries)
            retire(leaf)
            let (first, second) = emit(level: 0)
            return propagate(from: depth, first, second)
        }
        let copy = allocateNode(level: 0)
        let low = Self.copyEntries(from: leaf, 0..<position, to: copy, 0)
        let high = Self.copyEntries(from: leaf, position..<entries, to: copy, low.count &+ 1)
        copy.starts[low.count] = entry.start
        copy.lasts[low.count] = entry.last
        copy.slots[low.count] = UInt64(entry.value)
        copy.pointee.count = Int32(truncatingIfNeeded: low.count &+ 1 &+ high.count)
        retire(leaf)
        return propagate(from: depth, copy, nil, firstLast: max(low.last, entry.last, high.last))
    }

    /// Copies the entries of `range` of the leaf `source` to `destination` from
    /// `destinationIndex` on, leaving out those removed in place (see
    /// ``IntervalTreeNode/removedCount``); returns how many it copied and their
    /// largest `last`. A leaf with none removed takes the straight copy.
    @inline(__always)
    static func copyEntries(from source: IntervalTreeNodePointer, _ range: Range<Int>,
                            to destination: IntervalTreeNodePointer, _ destinationIndex: Int) -> (count: Int, last: UInt64) {
        if _fastPath(source.pointee.removedCount == 0) {
            return (range.count, copyWords(from: source, range.lowerBound, to: destination, destinationIndex, count: range.count))
        }
        return copyLiveWords(from: source, range, to: destination, destinationIndex)
    }

    /// ``copyEntries(from:_:to:_:)`` for a leaf with entries removed in place.
    ///
    /// Without a branch on the entries (whether an entry was removed is data
    /// the predictor cannot learn): every entry is written at the next free
    /// index, which advances only past a live one, so a removed entry's words
    /// are overwritten by the next live entry, or by whatever the caller
    /// writes next, or lie past the leaf's count (its start is then reset:
    /// the starts after the count must hold the largest value); a full node
    /// ends the loop, as only removed entries can be left then.
    static func copyLiveWords(from source: IntervalTreeNodePointer, _ range: Range<Int>,
                              to destination: IntervalTreeNodePointer, _ destinationIndex: Int) -> (count: Int, last: UInt64) {
        var index = destinationIndex, maximum: UInt64 = 0
        for sourceIndex in range {
            // A full node: only removed entries are left (the caller's count
            // fits), and there is no room for their words.
            if _slowPath(index == IntervalTreeLayout.fanout) { break }
            let start = source.starts[sourceIndex], last = source.lasts[sourceIndex]
            destination.starts[index] = start
            destination.lasts[index] = last
            destination.slots[index] = source.slots[sourceIndex]
            // A removed entry's last (0) is below every live one's.
            maximum = max(maximum, last)
            index &+= last >= start ? 1 : 0
        }
        if index < IntervalTreeLayout.fanout { destination.starts[index] = .max }
        return (index &- destinationIndex, maximum)
    }

    /// Copies words `sourceIndex ..< sourceIndex + count` of `source` (start,
    /// last and slot) to `destination` from `destinationIndex` on, and returns
    /// the largest `last` copied (0 if none): one loop, written out, because at
    /// most a node's worth moves and three `memmove` calls per range cost more
    /// than the copy (a tenth of an update in a profile). The maximum comes from
    /// the source: reading it back from the fresh node stalled on the stores.
    @inline(__always)
    static func copyWords(from source: IntervalTreeNodePointer, _ sourceIndex: Int,
                          to destination: IntervalTreeNodePointer, _ destinationIndex: Int, count: Int) -> UInt64 {
        let sourceStarts = source.starts + sourceIndex, sourceLasts = source.lasts + sourceIndex
        let sourceSlots = source.slots + sourceIndex
        let starts = destination.starts + destinationIndex, lasts = destination.lasts + destinationIndex
        let slots = destination.slots + destinationIndex
        var index = 0, maximum: UInt64 = 0
        while index < count {
            starts[index] = sourceStarts[index]
            let last = sourceLasts[index]
            lasts[index] = last
            maximum = max(maximum, last)
            slots[index] = sourceSlots[index]
            index &+= 1
        }
        return maximum
    }

    /// Removes one entry equal to `entry`; returns nil if there is none (nothing
    /// changed), else whether the root changed. With `next`, the descent walks
    /// `next`'s path beside its own (see ``descend(to:prefetchingPathOf:)``), for
    /// the update that follows.
    mutating func remove(_ entry: IntervalTreeEntry, prefetchingPathOf next: IntervalTreeEntry? = nil) -> Bool? {
        guard root != nil else { return nil }
        prefetchNextFreeNode()
        let depth = descend(to: entry, prefetchingPathOf: next)
        let leaf = pathNodes[depth]
        let entries = leaf.count
        // The entries starting below it are counted; then only equal starts are compared.
        var position = Self.firstStart(atLeast: entry.start, in: leaf)
        while position < entries && leaf.starts[position] == entry.start,
              Self.compare(entry, start: entry.start, last: leaf.lasts[position], value: leaf.slots[position]) != 0 {
            position += 1
        }
        guard position < entries && leaf.starts[position] == entry.start else { return nil }
        count -= 1
        if updatesInPlace && position > 0 && (entries > IntervalTreeLayout.minimumFill || depth == 0) {
            removeInPlace(from: leaf, at: position, depth: depth)
            return false
        }
        if marksRemovals && position > 0 && entry.start > 0
            && (leaf.liveCount > IntervalTreeLayout.minimumFill || depth == 0) {
            markRemoved(leaf, at: position, depth: depth)
            return false
        }
        // The copy is allocated before the leaf is retired: a leaf private to
        // the batch goes straight back to the free list.
        let copy = allocateNode(level: 0)
        let low = Self.copyEntries(from: leaf, 0..<position, to: copy, 0)
        let high = Self.copyEntries(from: leaf, (position &+ 1)..<entries, to: copy, low.count)
        copy.pointee.count = Int32(truncatingIfNeeded: low.count &+ high.count)
        retire(leaf)
        return propagate(from: depth, copy, nil, firstLast: max(low.last, high.last))
    }

    // MARK: Removed in place (RCU)

    /// Whether a remove may take its entry out of a published leaf in place
    /// instead of copying the leaf: under RCU reclamation, outside a batch (a
    /// batch publishes all its changes with one store; a removal in place is
    /// seen at once).
    var marksRemovals: Bool {
        if case .rcu = reclamation { return !inBatch }
        return false
    }

    /// Removes the entry at `position` of the published `leaf` in place: one
    /// atomic store sets its `last` to 0, below its start, so readers skip it
    /// from then on (see ``IntervalTreeNode/removedCount``); its start and
    /// value stay, so the leaf's key order, and a reader inside the leaf, are
    /// undisturbed. Then the path's max-lasts are lowered to what is left,
    /// after the removal, as for a copy. Requires `position > 0` (the first
    /// entry is the leaf's key), an entry that starts above 0, and a leaf that
    /// keeps at least the minimum fill of live entries or is the root. Nothing
    /// is allocated or retired; the leaf's next copy leaves the entry out.
    mutating func markRemoved(_ leaf: IntervalTreeNodePointer, at position: Int, depth: Int) {
        let removedLast = leaf.lasts[position]
        publicationHook?(.beforePublication)
        // Relaxed: see `IntervalTreeNodePointer.entryLast`.
        cnp_store_relaxed_u64(leaf.lasts + position, 0)
        publicationHook?(.afterPublication)
        // Through its own address, not `pointee`: a modification of `pointee`
        // is an access to the whole header, which readers read (`count`).
        (UnsafeMutableRawPointer(leaf) + IntervalTreeLayout.removedCountOffset)
            .assumingMemoryBound(to: Int.self).pointee &+= 1
        // Lower after the removal, from the leaf up: only where the removed
        // entry was the maximum; each new value is the exact maximum of the
        // tree after the removal.
        guard depth > 0, removedLast == pathNodes[depth &- 1].lasts[pathSlots[depth &- 1]] else { return }
        lowerMaxLasts(from: depth &- 1, to: leaf.maximumLast())
    }

    /// Lowers the max-last of the path's child at `level` to `value` where it
    /// is higher, and so on up to the root, each ancestor's to its node's new
    /// maximum: the exact maxima after a removal. Called after the removal is
    /// published (or, under `.immediate` reclamation, made), so a reader that
    /// reads a lowered value prunes only the removed entry; hence relaxed stores.
    mutating func lowerMaxLasts(from level: Int, to value: UInt64) {
        var level = level, value = value
        while level >= 0 {
            let node = pathNodes[level], slot = pathSlots[level]
            guard value < node.lasts[slot] else { break }
            cnp_store_relaxed_u64(node.lasts + slot, value)
            value = node.maximumLast()
            level &-= 1
        }
    }

    // MARK: In place (immediate reclamation)

    /// Whether updates may change published nodes in place: with `.immediate`
    /// reclamation every reader holds the lock that serialises the writers
    /// (the `kernel`, `rwlock` and `mutex` strategies), so no reader runs
    /// during an update and nothing needs copying, as in the kernel's own tree
    /// under its lock. Not inside a batch, whose nodes the batch copies.
    var updatesInPlace: Bool {
        if case .immediate = reclamation { return !inBatch }
        return false
    }

    /// Inserts `entry` at `position` of `leaf` (which has room; `position > 0`,
    /// so the leaf's smallest start and its parent's key stay), then raises
    /// the max-lasts of the path where `entry` is the new maximum.
    mutating func insertInPlace(_ entry: IntervalTreeEntry, into leaf: IntervalTreeNodePointer, at position: Int, depth: Int) {
        let entries = leaf.count
        var index = entries
        while index > position {
            leaf.starts[index] = leaf.starts[index &- 1]
            leaf.lasts[index] = leaf.lasts[index &- 1]
            leaf.slots[index] = leaf.slots[index &- 1]
            index &-= 1
        }
        leaf.starts[position] = entry.start
        leaf.lasts[position] = entry.last
        leaf.slots[position] = UInt64(entry.value)
        leaf.pointee.count = Int32(truncatingIfNeeded: entries &+ 1)
        var level = depth &- 1
        while level >= 0 {
            let node = pathNodes[level], slot = pathSlots[level]
            guard entry.last > node.lasts[slot] else { break }
            // Relaxed, like every max-last store (no reader runs now: the lock).
            cnp_store_relaxed_u64(node.lasts + slot, entry.last)
            level &-= 1
        }
    }

    /// Removes the entry at `position` of `leaf` (`position > 0`; the leaf
    /// stays at or above the minimum fill, or is the root), then lowers the
    /// max-lasts of the path to their exact new values.
    mutating func removeInPlace(from leaf: IntervalTreeNodePointer, at position: Int, depth: Int) {
        let entries = leaf.count &- 1
        var index = position
        while index < entries {
            leaf.starts[index] = leaf.starts[index &+ 1]
            leaf.lasts[index] = leaf.lasts[index &+ 1]
            leaf.slots[index] = leaf.slots[index &+ 1]
            index &+= 1
        }
        leaf.pointee.count = Int32(truncatingIfNeeded: entries)
        leaf.starts[entries] = .max
        lowerMaxLasts(from: depth &- 1, to: leaf.maximumLast())
    }

    /// Carries the replacement of the node at `depth` (one node, or two after a
    /// split) up the path; returns true if the root changed. `firstLast`, when
    /// the caller knows it, is `first`'s largest `last`.
    mutating func propagate(from depth: Int, _ first: IntervalTreeNodePointer, _ second: IntervalTreeNodePointer?,
                            firstLast: UInt64? = nil) -> Bool {
        var first = first, second = second, firstLast = firstLast
        var depth = depth - 1
        while depth >= 0 {
            let parent = pathNodes[depth]
            var low = pathSlots[depth], high = low
            if second == nil && first.count < IntervalTreeLayout.minimumFill && parent.count >= 2 {
                // Underflow: merge with a sibling, or share its entries evenly.
                let siblingSlot = low > 0 ? low - 1 : low + 1
                let sibling = Self.childProtected(parent, siblingSlot)
                let (left, right) = siblingSlot < low ? (sibling, first) : (first, sibling)
                gather(left, 0..<left.count)
                gather(right, 0..<right.count)
                let level = Int(first.pointee.level)
                retire(left)
                retire(right)
                (first, second) = emit(level: level)
                firstLast = nil
                low = min(low, siblingSlot)
                high = max(high, siblingSlot)
            }
            if second == nil && low == high && !inBatch && first.count > 0 && first.starts[0] == parent.starts[low] {
                publishInPlace(depth: depth, child: first, childLast: firstLast ?? first.maximumLast())
                return false
            }
            gather(parent, 0..<low)
            gather(child: first)
            if let second { gather(child: second) }
            gather(parent, (high + 1)..<parent.count)
            let level = Int(parent.pointee.level)
            retire(parent)
            (first, second) = emit(level: level)
            firstLast = nil
            depth -= 1
        }
        if let second {
            gather(child: first)
            gather(child: second)
            root = emit(level: Int(first.pointee.level) + 1).0
            return true
        }
        var newRoot: IntervalTreeNodePointer? = first
        // An inner root with one child gives way to it; an empty leaf root empties the tree.
        while let node = newRoot, !node.isLeaf, node.count == 1 {
            newRoot = Self.childProtected(node, 0)
            retire(node)
        }
        if let node = newRoot, node.count == 0 {
            retire(node)
            newRoot = nil
        }
        root = newRoot
        return true
    }

    /// Publishes `child` in place of child `pathSlots[depth]` of the published
    /// node `pathNodes[depth]`, whose smallest start it shares, and brings the
    /// max-lasts of that node and its ancestors to their new values: a raise
    /// before the releasing store that publishes `child` (so that no reader
    /// prunes an entry that is already in the tree), a lowering after it (so
    /// that none prunes an entry that is still in the tree). See TreeDesign.
    mutating func publishInPlace(depth: Int, child: IntervalTreeNodePointer, childLast newLast: UInt64) {
        // An insert raises: each ancestor's slot on the path becomes at least
        // `newLast`; the first that already is ends the raise (those above it
        // are at least as large).
        var level = depth
        while level >= 0 {
            let node = pathNodes[level], slot = pathSlots[level]
            guard newLast > node.lasts[slot] else { break }
            // Raise before publication. Relaxed: the releasing store below
            // orders it before the new child for every reader that sees that.
            cnp_store_relaxed_u64(node.lasts + slot, newLast)
            level -= 1
        }
        publicationHook?(.beforePublication)
        let parent = pathNodes[depth], slot = pathSlots[depth]
        // Releasing: the child's words (and the raises above) happen before a
        // reader's acquiring load of its address (`IntervalTreeNodePointer.child`).
        cnp_store_release_u64(parent.slots + slot, UInt64(UInt(bitPattern: child)))
        publicationHook?(.afterPublication)
        // Lower after publication (the releasing store above comes first in
        // program order), from the publishing node up: each new value is the
        // exact maximum of the tree after the update.
        lowerMaxLasts(from: depth, to: newLast)
    }
}
