#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IntervalNotifier

// The C API's errors: negative errno values, as in the kernel. Every
// `NotifierError` case is mapped here and nowhere else; the errors the C layer
// adds itself (bad arguments, a handle still registered, a strategy not built
// in) are the constants below. `umn_strerror` (strerror.c) explains each value.

extension NotifierError {
    /// The negative errno the C API returns for this error.
    var negativeErrno: Int32 {
        switch self {
        case .emptyRange: -EINVAL
        case .rangeOverflow: -EOVERFLOW
        case .addressSpaceReleased: -ESRCH
        case .notRegistered: -ENOENT
        case .foreignSubscription: -EXDEV
        case .calledFromInvalidateCallback, .calledInsideOwnWindow, .calledFromReleaseCallback, .calledInsideLookup: -EDEADLK
        case .unbalancedInvalidateEnd: -EPROTO
        case .wouldBlock: -EAGAIN
        case .registrationFailed: -EFAULT   // the register callback refused the memory (as ib_umem_get on unmapped memory)
        }
    }
}

/// The errors of the C layer itself.
enum CError {
    /// A NULL handle or pointer, an unknown strategy, event or flag.
    static let invalidArgument: Int32 = -EINVAL
    /// `umn_interval_notifier_free` of a subscription still registered.
    static let stillRegistered: Int32 = -EBUSY
    /// A strategy this build of the library does not have.
    static let strategyUnavailable: Int32 = -EOPNOTSUPP
}

/// Runs `body` and returns 0, or the negative errno of the error it threw.
@inline(__always)
func errnoResult(_ body: () throws(NotifierError) -> Void) -> Int32 {
    do throws(NotifierError) {
        try body()
        return 0
    } catch {
        return error.negativeErrno
    }
}
