import IntervalNotifier
import CIntervalNotifierAPI

// Lookups and the qsbr reader calls in the C API (interval_notifier.h).

/// `umn_interval_notifier_find`: visits the lowest subscription containing `address`.
@c(umn_interval_notifier_find)
public func umnIntervalNotifierFind(_ mm: OpaquePointer?, _ address: UInt64, _ visit: umn_visit_fn?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let mm, let visit else { return CError.invalidArgument }
    return AddressSpace.withHandle(mm) { space in
        space.withSubscription(containing: address) { subscription in
            guard let subscription else { return 0 }
            _ = visit(subscription.unretainedHandle, context)
            return 1
        }
    }
}

/// `umn_interval_notifier_for_each`: visits the subscriptions overlapping `[start, last]`.
@c(umn_interval_notifier_for_each)
public func umnIntervalNotifierForEach(
    _ mm: OpaquePointer?, _ start: UInt64, _ last: UInt64, _ visit: umn_visit_fn?, _ context: UnsafeMutableRawPointer?
) -> Int32 {
    guard let mm, let visit, start <= last else { return CError.invalidArgument }
    return AddressSpace.withHandle(mm) { space in
        space.forEachSubscription(overlapping: start, last: last) { visit($0.unretainedHandle, context) } ? 0 : 1
    }
}

/// `umn_reader_thread_online` (qsbr; a no-op otherwise).
@c(umn_reader_thread_online)
public func umnReaderThreadOnline(_ mm: OpaquePointer?) {
    guard let mm else { return }
    AddressSpace.withHandle(mm) { $0.strategy.readerThreadOnline() }
}

/// `umn_reader_quiescent_state` (qsbr; a no-op otherwise).
@c(umn_reader_quiescent_state)
public func umnReaderQuiescentState(_ mm: OpaquePointer?) {
    guard let mm else { return }
    AddressSpace.withHandle(mm) { $0.strategy.readerQuiescentState() }
}

/// `umn_reader_thread_offline` (qsbr; a no-op otherwise).
@c(umn_reader_thread_offline)
public func umnReaderThreadOffline(_ mm: OpaquePointer?) {
    guard let mm else { return }
    AddressSpace.withHandle(mm) { $0.strategy.readerThreadOffline() }
}
