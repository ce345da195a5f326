#include "evict.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <unistd.h>
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace qmm {
namespace {

constexpr size_t kLineBytes = 64;

struct EvictionBuffer {
  uint64_t* data = nullptr;
  size_t bytes = 0;
  bool written = false;
};

std::mutex buffer_mutex;
EvictionBuffer buffer;
// Changes on every allocation, so the written values differ from the previous buffer's.
uint64_t generation = 0;
// The read passes' checksums end here, so the compiler cannot drop the reads.
volatile uint64_t checksum_sink = 0;

/**
 * Returns the CPUs in the calling thread's affinity mask (sched_getaffinity with pid 0 reads the
 * calling thread's), or on systems other than Linux -1 per hardware thread.
 */
std::vector<int> eviction_cpus() {
  std::vector<int> cpus;
#if defined(__linux__)
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) cpus.push_back(cpu);
    }
  }
#endif
  // NOTE: without an affinity mask the threads are not pinned, so the scheduler may run two of
  // them on one core and leave another core's private L1 and L2 caches untouched.
  if (cpus.empty()) cpus.assign(std::max(1u, std::thread::hardware_concurrency()), -1);
  return cpus;
}

void pin_current_thread(int cpu) {
#if defined(__linux__)
  if (cpu < 0) return;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  CPU_SET(cpu, &mask);
  pthread_setaffinity_np(pthread_self(), sizeof mask, &mask);
#else
  (void)cpu;
#endif
}

// Stores a value that depends on the index, so the compiler cannot turn the loop into a
// memset call: for large sizes, a C library's memset may use stores that bypass the caches.
void write_pass(uint64_t* data, size_t count, uint64_t seed) {
  for (size_t i = 0; i < count; ++i) data[i] = seed ^ i;
}

uint64_t read_pass(const uint64_t* data, size_t count) {
  uint64_t sum = 0;
  for (size_t i = 0; i < count; ++i) sum ^= data[i];
  return sum;
}

size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<size_t>(pages) * static_cast<size_t>(page_size);
}

/** Makes `buffer` hold `bytes` bytes; returns an error message or an empty string. */
std::string ensure_buffer(size_t bytes) {
  if (buffer.data != nullptr && buffer.bytes == bytes) return "";

  std::free(buffer.data);
  buffer = {};
  void* data = std::aligned_alloc(kLineBytes, bytes);
  if (data == nullptr) return "failed to allocate the eviction buffer of " + std::to_string(bytes) + " bytes";
  buffer.data = static_cast<uint64_t*>(data);
  buffer.bytes = bytes;
  return "";
}

}  // namespace

EvictionResult evict_caches(size_t requested_bytes) {
  std::lock_guard<std::mutex> lock(buffer_mutex);
  EvictionResult result;

  const size_t memory = physical_memory_bytes();
  if (requested_bytes == 0 || (memory > 0 && requested_bytes > memory / 2)) {
    result.error = "invalid eviction size " + std::to_string(requested_bytes) + " bytes: expected more than 0 and at most half of the " +
                   std::to_string(memory) + " bytes of physical memory";
    return result;
  }

  // Every thread streams a whole number of cache lines, and the shares together cover at least
  // the requested size.
  const std::vector<int> cpus = eviction_cpus();
  const size_t threads = cpus.size();
  const size_t share_bytes = (requested_bytes + threads * kLineBytes - 1) / (threads * kLineBytes) * kLineBytes;
  const std::string error = ensure_buffer(share_bytes * threads);
  if (!error.empty()) {
    result.error = error;
    return result;
  }

  // A new buffer is written once, so that its pages are backed by memory of their own: a read
  // of a page that was never written maps the kernel's shared zero page and evicts nothing.
  // Later evictions only read, because a write pass would leave modified lines in the cache,
  // and the timed run that follows would pay for writing them back.
  const size_t share = share_bytes / sizeof(uint64_t);
  const bool write = !buffer.written;
  const uint64_t seed = write ? ++generation : generation;
  std::vector<uint64_t> sums(threads, 0);
  const auto stream = [&](size_t t) {
    pin_current_thread(cpus[t]);
    uint64_t* part = buffer.data + t * share;
    if (write) write_pass(part, share, seed + t);
    sums[t] = read_pass(part, share);
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  workers.reserve(threads);
  try {
    for (size_t t = 0; t < threads; ++t) workers.emplace_back(stream, t);
  } catch (const std::system_error& error) {
    for (auto& worker : workers) worker.join();
    result.error = std::string("failed to start an eviction thread: ") + error.what();
    return result;
  }
  for (auto& worker : workers) worker.join();
  buffer.written = true;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  uint64_t checksum = 0;
  for (const uint64_t sum : sums) checksum ^= sum;
  checksum_sink = checksum;

  result.bytes = share_bytes * threads;
  result.threads = static_cast<int>(threads);
  result.seconds = seconds;
  return result;
}

void release_eviction_buffer() {
  std::lock_guard<std::mutex> lock(buffer_mutex);
  std::free(buffer.data);
  buffer = {};
}

}  // namespace qmm
