#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a ``UserfaultfdMonitor`` call was refused. Unless a case says
/// otherwise, nothing changed when one is thrown.
public enum MemoryMonitorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `userfaultfd()` failed: `EPERM` when the kernel refuses unprivileged
    /// userfaultfd (sysctl `vm.unprivileged_userfaultfd = 0` and no
    /// `UFFD_USER_MODE_ONLY` support, or a seccomp filter), `ENOSYS` when the
    /// kernel has no userfaultfd; `errno` says which.
    case userfaultfdUnavailable(errno: Int32)
    /// The kernel lacks a userfaultfd feature the monitor needs (`missing`
    /// holds the `UFFD_FEATURE_*` bits).
    case missingFeatures(missing: UInt64)
    /// The range is not a multiple of the page size, starts off a page
    /// boundary, is empty, or overflows.
    case misalignedRange(start: UInt64, length: UInt64)
    /// `UFFDIO_REGISTER` refused the mapping: `EINVAL` when nothing in the
    /// range is mapped, or a mapping is of a kind userfaultfd cannot watch
    /// (file-backed on kernels without `UFFD_FEATURE_WP_ASYNC` or with
    /// ``UserfaultfdMonitor/Options/fileMappings`` off, hugetlbfs, device
    /// memory); `EPERM` for a shared mapping that can never be written (a file
    /// opened read-only).
    case unsupportedMapping(start: UInt64, length: UInt64, errno: Int32)
    /// `UFFDIO_REGISTER` said `EBUSY`: another userfaultfd (another library,
    /// or another monitor) holds part of the range.
    case heldByAnotherUserfaultfd(start: UInt64, length: UInt64)
    /// `UFFDIO_REGISTER` said `ENOMEM`: registering would split a mapping and
    /// the process is at `vm.max_map_count` (sysctl) mappings.
    case mapCountExhausted(start: UInt64, length: UInt64)
    /// The monitor's table of registered ranges is full (its `capacity`).
    case registrationLimitReached(capacity: Int)
    /// ``UserfaultfdMonitor/unregister(start:length:)`` of a range not
    /// entirely registered with this monitor.
    case notRegistered(start: UInt64, length: UInt64)
    /// The monitor was shut down.
    case shutDown
    /// The call runs in a child process after `fork()`: the monitor and its
    /// thread belong to the parent (process `owner`); the child's memory is
    /// not monitored. Create a new monitor in the child if it needs one.
    case forkedChild(owner: Int32)
    /// ``UserfaultfdMonitor/shutdown()`` or ``UserfaultfdMonitor/flush()`` was
    /// called on the monitor's own thread (from an invalidate callback): it
    /// would wait for itself.
    case calledOnMonitorThread
    /// Another system call failed (`call` names it).
    case systemCall(call: String, errno: Int32)

    /// A one-line explanation for logs and error messages.
    public var description: String {
        switch self {
        case .userfaultfdUnavailable(let code) where code == EPERM:
            return "userfaultfd is not permitted (EPERM): allow it with `sysctl vm.unprivileged_userfaultfd=1`, run with CAP_SYS_PTRACE, or use a kernel with UFFD_USER_MODE_ONLY (5.11+); a seccomp filter (containers) can also refuse it"
        case .userfaultfdUnavailable(let code) where code == ENOSYS:
            return "userfaultfd is not available (ENOSYS): the kernel was built without CONFIG_USERFAULTFD"
        case .userfaultfdUnavailable(let code):
            return "userfaultfd failed: \(Self.errnoName(code))"
        case .missingFeatures(let missing):
            return "the kernel's userfaultfd lacks features the monitor needs (UFFD_FEATURE bits 0x\(String(missing, radix: 16)): EVENT_UNMAP, EVENT_REMOVE, EVENT_REMAP)"
        case .misalignedRange(let start, let length):
            return "range at 0x\(String(start, radix: 16)) of \(length) bytes: start and length must be non-zero multiples of the page size (\(MonitorSystemCalls.pageSize)) and must not overflow"
        case .unsupportedMapping(let start, let length, let code) where code == EPERM:
            return "cannot register 0x\(String(start, radix: 16)) (+\(length)) with userfaultfd (EPERM): a shared mapping that cannot be written (file opened read-only) cannot be monitored"
        case .unsupportedMapping(let start, let length, let code):
            return "cannot register 0x\(String(start, radix: 16)) (+\(length)) with userfaultfd (\(Self.errnoName(code))): nothing is mapped there, or the mapping is of a kind userfaultfd cannot watch (file-backed without UFFD_FEATURE_WP_ASYNC, hugetlbfs, device memory)"
        case .heldByAnotherUserfaultfd(let start, let length):
            return "0x\(String(start, radix: 16)) (+\(length)) is registered with another userfaultfd (EBUSY): only one can watch a mapping"
        case .mapCountExhausted(let start, let length):
            return "registering 0x\(String(start, radix: 16)) (+\(length)) would split a mapping beyond vm.max_map_count (ENOMEM): register fewer, larger ranges, or raise the sysctl"
        case .registrationLimitReached(let capacity):
            return "the monitor's table of registered ranges is full (\(capacity) disjoint ranges): unregister ranges or create the monitor with a larger capacity"
        case .notRegistered(let start, let length):
            return "0x\(String(start, radix: 16)) (+\(length)) is not entirely registered with this monitor"
        case .shutDown:
            return "the monitor was shut down"
        case .forkedChild(let owner):
            return "this process is a child after fork(): the monitor belongs to process \(owner) and does not watch this process's memory; create a new monitor here"
        case .calledOnMonitorThread:
            return "called on the monitor's own thread (from an invalidate callback): it would wait for itself"
        case .systemCall(let call, let code):
            return "\(call) failed: \(Self.errnoName(code))"
        }
    }

    /// `strerror` with the number (`"Operation not permitted (errno 1)"`).
    static func errnoName(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
