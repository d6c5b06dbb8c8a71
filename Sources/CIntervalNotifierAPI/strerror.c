// umn_strerror: the one C-side piece of the C API (the rest is Swift, exported
// with @c from the IntervalNotifierC target).
#include "interval_notifier.h"
#include <errno.h>

const char *umn_strerror(int err) {
    switch (err) {
    case 0: return "success";
    case -EINVAL: return "invalid argument (NULL handle or pointer, empty range, unknown strategy or event)";
    case -EOVERFLOW: return "range overflows: start + length - 1 exceeds UINT64_MAX";
    case -ENOENT: return "the subscription is not registered (removed, put, or its removal under way)";
    case -ESRCH: return "the address space was released or destroyed";
    case -EXDEV: return "the subscription belongs to another address space";
    case -EAGAIN: return "a callback would block during a non-blockable invalidation (the range was ended)";
    case -EDEADLK: return "the call would wait for the calling thread itself";
    case -EPROTO: return "invalidate_range_end without a matching invalidate_range_start";
    case -EBUSY: return "the subscription is still registered";
    case -EOPNOTSUPP: return "strategy not available in this build";
    case -EFAULT: return "the register callback refused the memory (registration cache)";
    default: return "unknown interval-notifier error";
    }
}
