// Cache eviction for cold-cache benchmarks: streams a buffer larger than the last-level cache
// through every CPU, so that data touched before a timed run has to come from main memory.
#pragma once

#include <cstddef>
#include <string>

namespace qmm {

/** The outcome of one eviction. On failure `error` is set and the other fields are 0. */
struct EvictionResult {
  std::string error;
  size_t bytes = 0;    // bytes read, over all threads
  int threads = 0;     // threads that streamed, one per CPU the caller may run on
  double seconds = 0;  // wall time, with the writing and page faults of a new buffer
};

/**
 * Evicts the CPU caches: one thread per CPU in the calling thread's affinity mask reads its share
 * of a buffer of at least `bytes` bytes, which is written once when it is allocated. The mask is the process's unless the
 * caller pinned itself, so a caller pinned to one CPU gets one thread. The buffer is kept for the
 * next call and reallocated when `bytes` changes. Blocks the calling thread; calls from
 * different threads are serialized.
 */
EvictionResult evict_caches(size_t bytes);

/** Frees the eviction buffer; the next evict_caches allocates it again. */
void release_eviction_buffer();

}  // namespace qmm
