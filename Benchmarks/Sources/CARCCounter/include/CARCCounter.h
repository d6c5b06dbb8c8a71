#ifndef CARC_COUNTER_H
#define CARC_COUNTER_H

#include <stdint.h>

/// Retain calls (swift_retain, swift_retain_n, swift_bridgeObjectRetain[_n], with
/// _n counted as n) made so far by code linked into this executable on the calling
/// thread. Only counts on Linux (see carc_counter.c); 0 elsewhere.
uint64_t carc_counter_retains(void);

/// Release calls, counted like carc_counter_retains().
uint64_t carc_counter_releases(void);

/// 1 if the counters are live on this platform, 0 if they always read 0.
int carc_counter_available(void);

#endif
