// The registration-cache benchmark's C peers (benchmark side only, never linked
// by the library):
// - UCX's ucs_rcache, loaded with dlopen at run time, so that building and
//   linking never need UCX: without <ucs/memory/rcache.h> at build time this
//   compiles to stubs, and without libucs.so.0 at run time ccp_ucx_open says why.
// - the userfaultfd floor: a minimal monitor thread that only reads and discards
//   messages, and munmap of a registered 4 KiB page timed against it.
#ifndef CCACHE_PEERS_H
#define CCACHE_PEERS_H

#include <stddef.h>
#include <stdint.h>

/// Loads libucs (and through it libucm) once; returns 1 when usable, else 0
/// with the reason in `why` (NUL-terminated, truncated to `capacity`).
int ccp_ucx_open(char *why, size_t capacity);

/// An rcache with UCM's munmap events, unlimited regions and size, and a
/// register callback that only counts. NULL on failure.
void *ccp_ucx_rcache_create(void);
void ccp_ucx_rcache_destroy(void *rcache);
/// ucs_rcache_get with PROT_READ|PROT_WRITE; the region in *region. 0 on success.
int ccp_ucx_get(void *rcache, uint64_t address, uint64_t length, void **region);
void ccp_ucx_put(void *rcache, void *region);
/// `count` hits (get + put) on uniformly random pages of `pages` (n entries),
/// xorshift state in *seed; returns the number of failed gets.
uint64_t ccp_ucx_hits(void *rcache, const uint64_t *pages, size_t n, uint64_t count, uint64_t *seed);
/// Registrations the register callback has made, in all rcaches.
uint64_t ccp_ucx_registrations(void);

/// The userfaultfd floor's monitor: opens a userfaultfd (UFFD_USER_MODE_ONLY,
/// UNMAP events) and starts a thread that reads and discards. NULL with the
/// reason in `why` when userfaultfd is unavailable.
void *ccp_uffd_floor_start(char *why, size_t capacity);
/// Maps a populated 4 KiB page and registers it (MISSING mode: populated, so no
/// fault ever reaches the monitor); returns its address or 0.
uint64_t ccp_uffd_floor_map(void *floor);
/// Stops the thread and closes the userfaultfd.
void ccp_uffd_floor_stop(void *floor);
/// Messages the monitor read.
uint64_t ccp_uffd_floor_messages(void *floor);

/// munmap of `address` (4 KiB), timed: nanoseconds from the call to its return.
uint64_t ccp_timed_munmap(uint64_t address, uint64_t length);
/// mmap of `length` bytes at `address` (MAP_FIXED if nonzero), populated; 0 on failure.
uint64_t ccp_map(uint64_t address, uint64_t length);
/// munmap, untimed; 0 on success.
int ccp_unmap(uint64_t address, uint64_t length);

#endif
