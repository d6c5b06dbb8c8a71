import IntervalNotifier
import CIntervalNotifierAPI

// The opaque handles: `struct umn_mm *` is an `AddressSpace` and
// `struct umn_interval_notifier *` an `IntervalSubscription`, each the object's
// address, retained once for the handle (`Unmanaged`). Callbacks and lookups pass
// the same address unretained, so C sees one pointer per subscription.

extension AddressSpace {
    /// A new handle that owns one reference (released by `umn_mm_destroy`).
    var retainedHandle: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    /// Calls `body` with the space behind `handle` without touching its reference count.
    @inline(__always)
    static func withHandle<R>(_ handle: OpaquePointer, _ body: (AddressSpace) -> R) -> R {
        Unmanaged<AddressSpace>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef(body)
    }
}

extension IntervalSubscription {
    /// A new handle that owns one reference (released by `umn_interval_notifier_free`).
    var retainedHandle: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    /// The handle value of this subscription, not retained (for callbacks and lookups).
    @inline(__always)
    var unretainedHandle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// Calls `body` with the subscription behind `handle` without touching its reference count.
    @inline(__always)
    static func withHandle<R>(_ handle: OpaquePointer, _ body: (IntervalSubscription) -> R) -> R {
        Unmanaged<IntervalSubscription>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef(body)
    }
}

/// A C function pointer and its `void *` context, carried into Swift callbacks
/// (which are `@Sendable`): C promises the context may be used from any thread.
struct CCallback<Function>: @unchecked Sendable {
    /// The C function.
    let function: Function
    /// Its context argument.
    let context: UnsafeMutableRawPointer?
}

extension InvalidationRange {
    /// The Swift range for a C `struct umn_notifier_range`.
    static func fromC(_ range: umn_notifier_range, forceNonBlockable: Bool = false) -> Result<InvalidationRange, CRangeError> {
        guard let raw = UInt8(exactly: range.event), let event = InvalidationEvent(rawValue: raw) else {
            return .failure(CRangeError(errno: CError.invalidArgument))
        }
        guard range.flags & ~UMN_NOTIFIER_RANGE_BLOCKABLE == 0 else { return .failure(CRangeError(errno: CError.invalidArgument)) }
        let blockable = !forceNonBlockable && range.flags & UMN_NOTIFIER_RANGE_BLOCKABLE != 0
        let owner = range.owner.map { UInt(bitPattern: $0) }
        do throws(NotifierError) {
            return .success(try InvalidationRange(start: range.start, last: range.last, event: event, owner: owner, blockable: blockable))
        } catch {
            return .failure(CRangeError(errno: error.negativeErrno))
        }
    }

    /// The C `struct umn_notifier_range` for this range.
    var cRange: umn_notifier_range {
        umn_notifier_range(
            start: start, last: last, owner: owner.flatMap { UnsafeRawPointer(bitPattern: $0) },
            event: UInt32(event.rawValue), flags: isBlockable ? UMN_NOTIFIER_RANGE_BLOCKABLE : 0)
    }
}

/// Why a C range cannot be used (its negative errno).
struct CRangeError: Error {
    /// -EINVAL.
    let errno: Int32
}
