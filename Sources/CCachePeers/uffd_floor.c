// The userfaultfd floor: the least a userfaultfd monitor can make a munmap of
// a registered page cost (a thread that reads each message and discards it).

#include "ccache_peers.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

struct ccp_floor {
    int fd;
    int stop;
    uint64_t messages;
    pthread_t thread;
};

static void *floor_monitor(void *argument) {
    struct ccp_floor *floor = argument;
    struct uffd_msg messages[16];
    while (!__atomic_load_n(&floor->stop, __ATOMIC_RELAXED)) {
        struct pollfd poller = { .fd = floor->fd, .events = POLLIN };
        if (poll(&poller, 1, 20) <= 0) continue;
        ssize_t got = read(floor->fd, messages, sizeof messages);
        if (got > 0) __atomic_add_fetch(&floor->messages, (uint64_t)got / sizeof messages[0], __ATOMIC_RELAXED);
    }
    return NULL;
}

void *ccp_uffd_floor_start(char *why, size_t capacity) {
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0) { snprintf(why, capacity, "userfaultfd: %s (vm.unprivileged_userfaultfd?)", strerror(errno)); return NULL; }
    struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_UNMAP };
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        snprintf(why, capacity, "UFFDIO_API: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    struct ccp_floor *floor = calloc(1, sizeof *floor);
    floor->fd = fd;
    if (pthread_create(&floor->thread, NULL, floor_monitor, floor) != 0) {
        snprintf(why, capacity, "pthread_create failed");
        close(fd);
        free(floor);
        return NULL;
    }
    return floor;
}

uint64_t ccp_uffd_floor_map(void *opaque) {
    struct ccp_floor *floor = opaque;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (page == MAP_FAILED) return 0;
    struct uffdio_register reg = { .range = { .start = (uintptr_t)page, .len = 4096 }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(floor->fd, UFFDIO_REGISTER, &reg) != 0) { munmap(page, 4096); return 0; }
    return (uintptr_t)page;
}

void ccp_uffd_floor_stop(void *opaque) {
    struct ccp_floor *floor = opaque;
    __atomic_store_n(&floor->stop, 1, __ATOMIC_RELAXED);
    pthread_join(floor->thread, NULL);
    close(floor->fd);
    free(floor);
}

uint64_t ccp_uffd_floor_messages(void *opaque) {
    return __atomic_load_n(&((struct ccp_floor *)opaque)->messages, __ATOMIC_RELAXED);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t ccp_timed_munmap(uint64_t address, uint64_t length) {
    uint64_t begin = now_ns();
    munmap((void *)(uintptr_t)address, length);
    return now_ns() - begin;
}

uint64_t ccp_map(uint64_t address, uint64_t length) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | (address ? MAP_FIXED : 0);
    void *mapped = mmap((void *)(uintptr_t)address, length, PROT_READ | PROT_WRITE, flags, -1, 0);
    return mapped == MAP_FAILED ? 0 : (uintptr_t)mapped;
}

int ccp_unmap(uint64_t address, uint64_t length) { return munmap((void *)(uintptr_t)address, length); }
