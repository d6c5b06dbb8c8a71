// See cnotifier_core.h.
#include "cnotifier_core.h"

#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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

void *cnp_map_huge_region(size_t bytes) {
    // Twice the size, then trimmed to a 2 MiB boundary at both ends: the kernel
    // backs a 2 MiB-aligned range with huge pages, not a misaligned one.
    const size_t huge = (size_t)2 << 20;
    size_t span = bytes + huge;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *aligned = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (aligned > raw) munmap(raw, (size_t)(aligned - raw));
    char *end = aligned + bytes, *spanEnd = raw + span;
    if (spanEnd > end) munmap(end, (size_t)(spanEnd - end));
#ifdef MADV_HUGEPAGE
    (void)madvise(aligned, bytes, MADV_HUGEPAGE); // A hint: without it, plain pages.
#endif
    return aligned;
}

int cnp_unmap_region(void *address, size_t bytes) { return munmap(address, bytes); }
