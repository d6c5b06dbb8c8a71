import IntervalNotifier
import CIntervalNotifierAPI

// Address spaces and the write side of the C API (interval_notifier.h): create,
// destroy, invalidate_range_start/end, release, synchronize.

/// `umn_mm_create`: a new address space with C strategy `strategy`.
@c(umn_mm_create)
public func umnMMCreate(_ strategy: Int32, _ mm: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let mm else { return CError.invalidArgument }
    switch CStrategy.strategy(for: strategy) {
    case .success(let strategy):
        mm.pointee = AddressSpace(strategy: strategy).retainedHandle
        return 0
    case .failure(let error):
        return error.errno
    }
}

/// `umn_mm_destroy`: drops the handle's reference, which tears the space down.
@c(umn_mm_destroy)
public func umnMMDestroy(_ mm: OpaquePointer?) {
    guard let mm else { return }
    Unmanaged<AddressSpace>.fromOpaque(UnsafeRawPointer(mm)).release()
}

/// `umn_mm_strategy`: the C value of the space's strategy.
@c(umn_mm_strategy)
public func umnMMStrategy(_ mm: OpaquePointer?) -> Int32 {
    guard let mm else { return CError.invalidArgument }
    return AddressSpace.withHandle(mm) { CStrategy.value(of: $0.strategy) }
}

/// `umn_notifier_invalidate_range_start` (blockable as `range.flags` says).
@c(umn_notifier_invalidate_range_start)
public func umnNotifierInvalidateRangeStart(_ mm: OpaquePointer?, _ range: UnsafePointer<umn_notifier_range>?) -> Int32 {
    invalidateRangeStart(mm, range, forceNonBlockable: false)
}

/// `umn_notifier_invalidate_range_start_nonblock`: never blockable.
@c(umn_notifier_invalidate_range_start_nonblock)
public func umnNotifierInvalidateRangeStartNonblock(_ mm: OpaquePointer?, _ range: UnsafePointer<umn_notifier_range>?) -> Int32 {
    invalidateRangeStart(mm, range, forceNonBlockable: true)
}

/// Both starts.
private func invalidateRangeStart(_ mm: OpaquePointer?, _ range: UnsafePointer<umn_notifier_range>?, forceNonBlockable: Bool) -> Int32 {
    guard let mm, let range else { return CError.invalidArgument }
    switch InvalidationRange.fromC(range.pointee, forceNonBlockable: forceNonBlockable) {
    case .success(let range):
        return AddressSpace.withHandle(mm) { space in errnoResult { () throws(NotifierError) in try space.invalidateRangeStart(range) } }
    case .failure(let error):
        return error.errno
    }
}

/// `umn_notifier_invalidate_range_end`. Ends match starts by range (start, last),
/// so a range started with the nonblock call may be ended with either flag.
@c(umn_notifier_invalidate_range_end)
public func umnNotifierInvalidateRangeEnd(_ mm: OpaquePointer?, _ range: UnsafePointer<umn_notifier_range>?) -> Int32 {
    guard let mm, let range else { return CError.invalidArgument }
    switch InvalidationRange.fromC(range.pointee) {
    case .success(let range):
        return AddressSpace.withHandle(mm) { space in errnoResult { () throws(NotifierError) in try space.invalidateRangeEnd(range) } }
    case .failure(let error):
        return error.errno
    }
}

/// `umn_notifier_release`: the kernel's `mn_itree_release`.
@c(umn_notifier_release)
public func umnNotifierRelease(_ mm: OpaquePointer?) -> Int32 {
    guard let mm else { return CError.invalidArgument }
    return AddressSpace.withHandle(mm) { space in errnoResult { () throws(NotifierError) in try space.release() } }
}

/// `umn_notifier_synchronize`: waits for pending release functions.
@c(umn_notifier_synchronize)
public func umnNotifierSynchronize(_ mm: OpaquePointer?) -> Int32 {
    guard let mm else { return CError.invalidArgument }
    return AddressSpace.withHandle(mm) { space in errnoResult { () throws(NotifierError) in try space.synchronize() } }
}
