// See cnotifier_harness.h. Compiled with _GNU_SOURCE (Package.swift).
#include "cnotifier_harness.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

int cnp_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        if (capacity > 0) cpus[0] = 0;
        return 1;
    }
    int total = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        if (total < capacity) cpus[total] = cpu;
        total++;
    }
    return total;
}

int cnp_pin_current_thread_to_cpu(int cpu) {
    return cnp_pin_current_thread_to_cpus(&cpu, 1);
}

int cnp_pin_current_thread_to_cpus(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int cnp_numa_available(void) { return numa_available() >= 0; }

int cnp_numa_max_node(void) { return cnp_numa_available() ? numa_max_node() : 0; }

int cnp_numa_node_of_cpu(int cpu) {
    if (!cnp_numa_available()) return 0;
    int node = numa_node_of_cpu(cpu);
    return node < 0 ? 0 : node;
}

static void *cnp_plain_alloc(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *cnp_numa_alloc_onnode(size_t size, int node) {
    if (node < 0 || !cnp_numa_available()) return cnp_plain_alloc(size);
    return numa_alloc_onnode(size, node);
}

void *cnp_numa_alloc_interleaved(size_t size) {
    if (!cnp_numa_available()) return cnp_plain_alloc(size);
    return numa_alloc_interleaved(size);
}

void cnp_numa_free(void *memory, size_t size) {
    if (memory == NULL) return;
    // numa_alloc_* are mmap-based; numa_free is munmap. Use munmap for both paths.
    munmap(memory, size);
}

int cnp_numa_node_of_address(void *address) {
    int node = -1;
    if (get_mempolicy(&node, NULL, 0, address, MPOL_F_NODE | MPOL_F_ADDR) != 0) return -1;
    return node;
}

int cnp_rwlock_init_reader_preferring(pthread_rwlock_t *lock) {
    pthread_rwlockattr_t attributes;
    int rc = pthread_rwlockattr_init(&attributes);
    if (rc != 0) return rc;
    rc = pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_READER_NP);
    if (rc == 0) rc = pthread_rwlock_init(lock, &attributes);
    pthread_rwlockattr_destroy(&attributes);
    return rc;
}

void *cnp_mremap(void *old, size_t old_size, size_t new_size, int flags, void *new_address) {
    int native = ((flags & CNP_MREMAP_MAYMOVE) ? MREMAP_MAYMOVE : 0) | ((flags & CNP_MREMAP_FIXED) ? MREMAP_FIXED : 0);
    return mremap(old, old_size, new_size, native, new_address);
}

long cnp_read_own_memory(const void *address, void *out, size_t length) {
    struct iovec local = { .iov_base = out, .iov_len = length };
    struct iovec remote = { .iov_base = (void *)address, .iov_len = length };
    return (long)process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}
