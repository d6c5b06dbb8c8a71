import IntervalNotifier

// The collision-retry protocol in the C API (interval_notifier.h): read_begin,
// read_retry, check_retry, set_seq. The Swift calls are @inlinable, so each of
// these is the Swift fast path plus one call and the handle conversion (no
// reference counting).

/// `umn_interval_read_begin`.
@c(umn_interval_read_begin)
public func umnIntervalReadBegin(_ sub: OpaquePointer?, _ seq: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let sub, let seq else { return CError.invalidArgument }
    return IntervalSubscription.withHandle(sub) { subscription in
        do throws(NotifierError) {
            seq.pointee = try subscription.readBegin()
            return 0
        } catch {
            return error.negativeErrno
        }
    }
}

/// `umn_interval_read_retry`: call under the user lock. A NULL handle says retry.
@c(umn_interval_read_retry)
public func umnIntervalReadRetry(_ sub: OpaquePointer?, _ seq: UInt64) -> Bool {
    guard let sub else { return true }
    return IntervalSubscription.withHandle(sub) { $0.readRetry(seq) }
}

/// `umn_interval_check_retry`: the hint without the user lock. A NULL handle says retry.
@c(umn_interval_check_retry)
public func umnIntervalCheckRetry(_ sub: OpaquePointer?, _ seq: UInt64) -> Bool {
    guard let sub else { return true }
    return IntervalSubscription.withHandle(sub) { $0.checkRetry(seq) }
}

/// `umn_interval_set_seq`: from the invalidate callback, under the user lock.
@c(umn_interval_set_seq)
public func umnIntervalSetSeq(_ sub: OpaquePointer?, _ seq: UInt64) {
    guard let sub else { return }
    IntervalSubscription.withHandle(sub) { $0.setSequence(seq) }
}
