import IntervalNotifier
import CIntervalNotifierAPI

// Subscriptions in the C API (interval_notifier.h): insert, remove, put, update,
// free, and what a handle carries (context, range).

/// `umn_interval_notifier_insert`: subscribes `[start, start + length - 1]`.
@c(umn_interval_notifier_insert)
public func umnIntervalNotifierInsert(
    _ mm: OpaquePointer?, _ start: UInt64, _ length: UInt64, _ invalidate: umn_invalidate_fn?,
    _ context: UnsafeMutableRawPointer?, _ sub: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let mm, let invalidate, let sub else { return CError.invalidArgument }
    let callback = CCallback(function: invalidate, context: context)
    return AddressSpace.withHandle(mm) { space in
        errnoResult { () throws(NotifierError) in
            let subscription = try space.insert(start: start, length: length, foreignContext: context) { subscription, range, sequence in
                var cRange = range.cRange
                return callback.function(subscription.unretainedHandle, &cRange, sequence, callback.context)
            }
            sub.pointee = subscription.retainedHandle
        }
    }
}

/// Calls `body` with the subscription behind `sub` and the address space it
/// belongs to; -EINVAL for NULL, -ESRCH once the space is gone.
private func withRegisteredSpace(_ sub: OpaquePointer?, _ body: (AddressSpace, IntervalSubscription) throws(NotifierError) -> Void) -> Int32 {
    guard let sub else { return CError.invalidArgument }
    return IntervalSubscription.withHandle(sub) { subscription in
        guard let space = subscription.addressSpace else { return NotifierError.addressSpaceReleased.negativeErrno }
        return errnoResult { () throws(NotifierError) in try body(space, subscription) }
    }
}

/// `umn_interval_notifier_remove`: unregisters and waits for running callbacks.
@c(umn_interval_notifier_remove)
public func umnIntervalNotifierRemove(_ sub: OpaquePointer?) -> Int32 {
    withRegisteredSpace(sub) { space, subscription throws(NotifierError) in try space.remove(subscription) }
}

/// `umn_interval_notifier_put`: unregisters without waiting; `release` runs later.
@c(umn_interval_notifier_put)
public func umnIntervalNotifierPut(_ sub: OpaquePointer?, _ release: umn_release_fn?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let release else { return CError.invalidArgument }
    let callback = CCallback(function: release, context: context)
    return withRegisteredSpace(sub) { space, subscription throws(NotifierError) in
        try space.put(subscription) { subscription in
            callback.function(subscription.unretainedHandle, callback.context)
        }
    }
}

/// `umn_interval_notifier_update`: moves the subscription to `[start, start + length - 1]`.
@c(umn_interval_notifier_update)
public func umnIntervalNotifierUpdate(_ sub: OpaquePointer?, _ start: UInt64, _ length: UInt64) -> Int32 {
    withRegisteredSpace(sub) { space, subscription throws(NotifierError) in try space.update(subscription, start: start, length: length) }
}

/// `umn_interval_notifier_free`: drops the handle of an unregistered subscription.
@c(umn_interval_notifier_free)
public func umnIntervalNotifierFree(_ sub: OpaquePointer?) -> Int32 {
    guard let sub else { return CError.invalidArgument }
    let registered = IntervalSubscription.withHandle(sub) { $0.isRegistered }
    guard !registered else { return CError.stillRegistered }
    Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(sub)).release()
    return 0
}

/// `umn_interval_notifier_context`: the context given at insert.
@c(umn_interval_notifier_context)
public func umnIntervalNotifierContext(_ sub: OpaquePointer?) -> UnsafeMutableRawPointer? {
    guard let sub else { return nil }
    return IntervalSubscription.withHandle(sub) { UnsafeMutableRawPointer(bitPattern: $0.context) }
}

/// `umn_interval_notifier_range`: the range as of one instant.
@c(umn_interval_notifier_range)
public func umnIntervalNotifierRange(_ sub: OpaquePointer?, _ start: UnsafeMutablePointer<UInt64>?, _ last: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let sub, let start, let last else { return CError.invalidArgument }
    let bounds = IntervalSubscription.withHandle(sub) { $0.bounds }
    start.pointee = bounds.lowerBound
    last.pointee = bounds.upperBound
    return 0
}
