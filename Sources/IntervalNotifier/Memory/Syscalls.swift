#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNotifierCore

// Every C call of the memory monitor goes through this file (swift-system's
// `Internals/Syscalls.swift` is the model): userfaultfd, its ioctls, poll,
// read, the wake-up eventfd, close. Each wrapper returns its value or throws a
// ``SystemCallFailure`` carrying the call's name and errno; `EINTR` is retried
// here, once, for all of them. The monitor maps failures to
// ``MemoryMonitorError`` where it knows what they mean.

/// A failed system call: which one, and its `errno`.
struct SystemCallFailure: Error, Equatable {
    /// The call, as written in C (`"ioctl(UFFDIO_REGISTER)"`).
    var call: String
    /// The `errno` it set.
    var errno: Int32
}

/// Runs `body` until it does not fail with `EINTR`; returns its result, or
/// throws the failure with `call`'s name when it returns -1.
@inline(__always)
private func retryingOnInterrupt<Value: FixedWidthInteger>(_ call: @autoclosure () -> String, _ body: () -> Value) throws(SystemCallFailure) -> Value {
    while true {
        let value = body()
        if value != -1 { return value }
        let error = errno
        if error == EINTR { continue }
        throw SystemCallFailure(call: call(), errno: error)
    }
}

/// `close` under another name (the enum below has its own `close`).
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }

/// The calls the monitor makes, named after their C counterparts.
enum MonitorSystemCalls {
    /// `userfaultfd(flags)`.
    static func userfaultfd(flags: Int32) throws(SystemCallFailure) -> Int32 {
        try retryingOnInterrupt("userfaultfd") { cnp_userfaultfd_open(flags) }
    }

    /// `ioctl(fd, UFFDIO_API)`: negotiates `features`; returns what the kernel offers.
    static func uffdAPI(_ fd: Int32, features: UInt64) throws(SystemCallFailure) -> UInt64 {
        var api = uffdio_api(api: UInt64(UFFD_API), features: features, ioctls: 0)
        _ = try retryingOnInterrupt("ioctl(UFFDIO_API)") { cnp_ioctl(fd, cnp_uffdio_api(), &api) }
        return api.features
    }

    /// `ioctl(fd, UFFDIO_REGISTER)` of `[start, start + length)` in `mode`.
    static func uffdRegister(_ fd: Int32, start: UInt64, length: UInt64, mode: UInt64) throws(SystemCallFailure) {
        var register = uffdio_register(range: uffdio_range(start: start, len: length), mode: mode, ioctls: 0)
        _ = try retryingOnInterrupt("ioctl(UFFDIO_REGISTER)") { cnp_ioctl(fd, cnp_uffdio_register(), &register) }
    }

    /// `ioctl(fd, UFFDIO_UNREGISTER)` of `[start, start + length)`.
    static func uffdUnregister(_ fd: Int32, start: UInt64, length: UInt64) throws(SystemCallFailure) {
        var range = uffdio_range(start: start, len: length)
        _ = try retryingOnInterrupt("ioctl(UFFDIO_UNREGISTER)") { cnp_ioctl(fd, cnp_uffdio_unregister(), &range) }
    }

    /// `ioctl(fd, UFFDIO_ZEROPAGE)` of one page at `start`, waking the faulter.
    static func uffdZeroPage(_ fd: Int32, start: UInt64, length: UInt64) throws(SystemCallFailure) {
        var zero = uffdio_zeropage(range: uffdio_range(start: start, len: length), mode: 0, zeropage: 0)
        _ = try retryingOnInterrupt("ioctl(UFFDIO_ZEROPAGE)") { cnp_ioctl(fd, cnp_uffdio_zeropage(), &zero) }
    }

    /// `ioctl(fd, UFFDIO_WAKE)` of `[start, start + length)`.
    static func uffdWake(_ fd: Int32, start: UInt64, length: UInt64) throws(SystemCallFailure) {
        var range = uffdio_range(start: start, len: length)
        _ = try retryingOnInterrupt("ioctl(UFFDIO_WAKE)") { cnp_ioctl(fd, cnp_uffdio_wake(), &range) }
    }

    /// `read(fd, buffer, count)` on a non-blocking descriptor: the bytes read,
    /// or 0 when nothing is pending (`EAGAIN`).
    static func readNonBlocking(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(SystemCallFailure) -> Int {
        while true {
            let result = read(fd, buffer, count)
            if result >= 0 { return result }
            let error = errno
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK { return 0 }
            throw SystemCallFailure(call: "read", errno: error)
        }
    }

    /// `poll(fds, count, -1)`: waits until one descriptor is ready.
    static func pollForever(_ fds: UnsafeMutablePointer<pollfd>, count: Int) throws(SystemCallFailure) {
        _ = try retryingOnInterrupt("poll") { poll(fds, nfds_t(count), -1) }
    }

    /// `poll(fds, count, 0)`: how many descriptors are ready now (no wait).
    static func pollNow(_ fds: UnsafeMutablePointer<pollfd>, count: Int) throws(SystemCallFailure) -> Int32 {
        try retryingOnInterrupt("poll") { poll(fds, nfds_t(count), 0) }
    }

    /// `eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
    static func eventfd() throws(SystemCallFailure) -> Int32 {
        try retryingOnInterrupt("eventfd") { cnp_eventfd_open() }
    }

    /// Adds 1 to an eventfd's counter (wakes a poller).
    static func signalEventfd(_ fd: Int32) throws(SystemCallFailure) {
        var one: UInt64 = 1
        _ = try retryingOnInterrupt("write(eventfd)") { write(fd, &one, 8) }
    }

    /// Resets an eventfd's counter; returns it (0 when it was 0).
    static func drainEventfd(_ fd: Int32) throws(SystemCallFailure) -> UInt64 {
        var value: UInt64 = 0
        _ = try readNonBlocking(fd, into: &value, count: 8)
        return value
    }

    /// `close(fd)`. `EINTR` is not retried (the descriptor is gone on Linux).
    static func close(_ fd: Int32) {
        _ = systemClose(fd)
    }

    /// `getpid()`: the monitor's owner check after `fork()`.
    static func processID() -> Int32 { getpid() }

    /// The page size (`sysconf(_SC_PAGESIZE)`).
    static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
}
