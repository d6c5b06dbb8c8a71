// See cnotifier_core.h.
#include "cnotifier_core.h"

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread void *cnp_callback_marker CNP_TLS_MODEL;
__thread void *cnp_lookup_marker CNP_TLS_MODEL;
__thread unsigned long cnp_qsbr_section_depth CNP_TLS_MODEL;

void *cnp_set_callback_context(void *context) {
    void *previous = cnp_callback_marker;
    cnp_callback_marker = context;
    return previous;
}

int cnp_thread_id(void) { return (int)syscall(SYS_gettid); }

int cnp_userfaultfd_open(int flags) { return (int)syscall(SYS_userfaultfd, flags); }

int cnp_ioctl(int fd, unsigned long request, void *argument) { return ioctl(fd, request, argument); }

int cnp_eventfd_open(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
