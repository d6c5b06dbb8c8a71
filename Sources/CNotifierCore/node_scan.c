// The interval tree's vector node scan (see cnotifier_core.h): which entries or
// children of a node overlap a query, as one bit each, computed with vector
// compares and no branch per word. Swift cannot compile one function for a
// wider target than the rest of the module, so the vector code is here, in
// functions with their own `target` attribute, chosen once at load time.
#include "cnotifier_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/// The instruction set the scan uses: set once before `main`, only read after.
static int cnp_node_scan_isa = CNP_NODE_SCAN_NONE;

/// One relaxed atomic load per `last` word, as the Swift scan does; what
/// ThreadSanitizer builds use (see CNP_NODE_SCAN_PORTABLE_ONLY), and the
/// reference the tests hold the vector code to.
static uint32_t overlap_mask_portable(const uint64_t *starts, const uint64_t *lasts, long count,
                                      uint64_t start, uint64_t last) {
    uint32_t mask = 0;
    for (long index = 0; index < count; index++) {
        uint32_t hit = (starts[index] <= last) & (cnp_load_relaxed_u64(lasts + index) >= start);
        mask |= hit << index;
    }
    return mask;
}

/// Bits 0 to `count - 1` (`count` at most 32): the words in use.
static inline uint32_t live_bits(long count) { return count >= 32 ? 0xFFFFFFFFu : (1u << count) - 1; }

#if defined(__x86_64__)

// Why plain vector loads of `lasts` are enough: a writer changes a published
// node's `last` words in place with single 8-byte atomic stores, and readers
// need each word's old or new value, never a mix (TreeDesign, "Ordering"). The
// words are 8-byte aligned, and x86-64 performs each aligned quadword of a
// vector load as one access (Intel SDM vol. 3, 9.1.1), so every lane holds
// either value: the vector load is sixteen relaxed loads at once. `starts` never
// change in a published node.

/// AVX-512: eight words a compare. Loads whole groups of eight (the arrays are
/// `fanout` words, a multiple of eight) and masks off words past `count` at the
/// end: masked loads would wait for `count`, a load from the node's first line,
/// before they could start.
__attribute__((target("avx512f")))
static inline uint32_t overlap_mask8_avx512(const uint64_t *starts, const uint64_t *lasts, __m512i queryStart,
                                            __m512i queryLast) {
    __mmask8 hit = _mm512_cmple_epu64_mask(_mm512_loadu_si512(starts), queryLast);
    return _mm512_mask_cmpge_epu64_mask(hit, _mm512_loadu_si512(lasts), queryStart);
}

__attribute__((target("avx512f")))
static uint32_t overlap_mask_avx512(const uint64_t *starts, const uint64_t *lasts, long fanout, long count,
                                    uint64_t start, uint64_t last) {
    const __m512i queryStart = _mm512_set1_epi64((long long)start);
    const __m512i queryLast = _mm512_set1_epi64((long long)last);
    uint32_t mask = overlap_mask8_avx512(starts, lasts, queryStart, queryLast);
    if (fanout >= 16) mask |= overlap_mask8_avx512(starts + 8, lasts + 8, queryStart, queryLast) << 8;
    if (fanout >= 32) {
        mask |= overlap_mask8_avx512(starts + 16, lasts + 16, queryStart, queryLast) << 16;
        mask |= overlap_mask8_avx512(starts + 24, lasts + 24, queryStart, queryLast) << 24;
    }
    return mask & live_bits(count);
}

/// AVX2: four words a compare. AVX2 compares 64-bit words as signed only, so
/// both sides are flipped at the sign bit first. Whole groups, as above.
__attribute__((target("avx2")))
static inline uint32_t overlap_mask4_avx2(const uint64_t *starts, const uint64_t *lasts, __m256i queryStart,
                                          __m256i queryLast, __m256i bias) {
    __m256i entryStart = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)starts), bias);
    __m256i entryLast = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)lasts), bias);
    // Misses the query: starts after its last, or ends before its start.
    __m256i miss = _mm256_or_si256(_mm256_cmpgt_epi64(entryStart, queryLast), _mm256_cmpgt_epi64(queryStart, entryLast));
    return (uint32_t)~_mm256_movemask_pd(_mm256_castsi256_pd(miss)) & 0xF;
}

__attribute__((target("avx2")))
static uint32_t overlap_mask_avx2(const uint64_t *starts, const uint64_t *lasts, long fanout, long count,
                                  uint64_t start, uint64_t last) {
    const __m256i bias = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    const __m256i queryStart = _mm256_xor_si256(_mm256_set1_epi64x((long long)start), bias);
    const __m256i queryLast = _mm256_xor_si256(_mm256_set1_epi64x((long long)last), bias);
    uint32_t mask = 0;
    for (long base = 0; base < fanout; base += 4)
        mask |= overlap_mask4_avx2(starts + base, lasts + base, queryStart, queryLast, bias) << base;
    return mask & live_bits(count);
}

/// Whether the OS saves the register state that `bits` of XCR0 name (the CPU
/// having an instruction set is not enough: the kernel must enable its state).
static int cnp_os_saves(unsigned bits) {
    unsigned eax, edx;
    __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (eax & bits) == bits;
}

/// Whether this CPU and OS run `isa`'s code (CNP_NODE_SCAN_AVX2 or _AVX512).
static int cnp_cpu_runs(int isa) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE) || !(ecx & bit_AVX)) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if (isa == CNP_NODE_SCAN_AVX512) return (ebx & bit_AVX512F) && cnp_os_saves(0xE6); // SSE, AVX, opmask, ZMM
    return (ebx & bit_AVX2) && cnp_os_saves(0x6);                                      // SSE, AVX
}
#endif

/// Whether this build on this CPU runs `isa`'s code.
static int cnp_runs(int isa) {
    if (isa == CNP_NODE_SCAN_PORTABLE) return 1;
#if defined(__x86_64__) && !CNP_NODE_SCAN_PORTABLE_ONLY
    if (isa == CNP_NODE_SCAN_AVX2 || isa == CNP_NODE_SCAN_AVX512) return cnp_cpu_runs(isa);
#endif
    return 0;
}

__attribute__((constructor)) static void cnp_node_scan_init(void) {
#if CNP_NODE_SCAN_PORTABLE_ONLY
    cnp_node_scan_isa = CNP_NODE_SCAN_PORTABLE;
#else
    // The portable code is slower than the Swift word-by-word scan: without a
    // vector unit there is no vector scan.
    if (cnp_runs(CNP_NODE_SCAN_AVX512)) cnp_node_scan_isa = CNP_NODE_SCAN_AVX512;
    else if (cnp_runs(CNP_NODE_SCAN_AVX2)) cnp_node_scan_isa = CNP_NODE_SCAN_AVX2;
#endif
}

int cnp_node_scan_isa_in_use(void) { return cnp_node_scan_isa; }

int cnp_node_scan_runs(int isa) { return cnp_runs(isa); }

uint32_t cnp_node_overlap_mask_using(int isa, const uint64_t *starts, const uint64_t *lasts, long fanout, long count,
                                     uint64_t start, uint64_t last) {
    switch (isa) {
#if defined(__x86_64__)
    case CNP_NODE_SCAN_AVX512: return overlap_mask_avx512(starts, lasts, fanout, count, start, last);
    case CNP_NODE_SCAN_AVX2: return overlap_mask_avx2(starts, lasts, fanout, count, start, last);
#endif
    default: return overlap_mask_portable(starts, lasts, count, start, last);
    }
}

uint32_t cnp_node_overlap_mask(const uint64_t *starts, const uint64_t *lasts, long fanout, long count,
                               uint64_t start, uint64_t last) {
    return cnp_node_overlap_mask_using(cnp_node_scan_isa, starts, lasts, fanout, count, start, last);
}

/// The first line of sysfs file `/sys/devices/system/cpu/cpu0/cache/index<index>/<name>`,
/// or "" if there is none.
static void cnp_read_cache_attribute(int index, const char *name, char *line, int capacity) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, name);
    line[0] = 0;
    FILE *file = fopen(path, "r");
    if (!file) return;
    if (!fgets(line, capacity, file)) line[0] = 0;
    fclose(file);
}

long cnp_cache_bytes(int level) {
    // sysfs, not sysconf(_SC_LEVEL2_CACHE_SIZE) and its kind: glibc derives those
    // from CPUID, which on this project's AMD EPYC guests reports an L3 ten
    // times the 32 MiB that one core's L3 holds.
    for (int index = 0; index < 16; index++) {
        char line[32];
        cnp_read_cache_attribute(index, "level", line, sizeof line);
        if (!line[0]) break;
        if (atoi(line) != level) continue;
        cnp_read_cache_attribute(index, "type", line, sizeof line);
        if (strncmp(line, "Instruction", 11) == 0) continue;
        cnp_read_cache_attribute(index, "size", line, sizeof line);
        char *unit = line;
        long size = strtol(line, &unit, 10);
        if (*unit == 'K') size <<= 10;
        else if (*unit == 'M') size <<= 20;
        return size > 0 ? size : 0;
    }
    return 0;
}

