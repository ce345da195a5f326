// A fixed pool of worker threads that runs a loop of independent tasks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qmm {

class ThreadPool {
 public:
  /** Starts `threads - 1` workers; the calling thread is the last one. */
  explicit ThreadPool(int threads);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /**
   * Runs task(i, thread) for every i in [0, count) and returns when all are done. `thread` is
   * in [0, size()) and no two tasks run on the same `thread` at once, so it can index
   * per-thread scratch. Calls from different threads are serialized.
   */
  void parallel_for(int64_t count, const std::function<void(int64_t, int)>& task);

  int size() const { return static_cast<int>(workers_.size()) + 1; }

 private:
  void work(int thread);
  void drain(int thread);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t, int)>* task_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  // Incremented under mutex_ for every parallel_for; workers also poll it without the lock
  // while they spin.
  std::atomic<uint64_t> generation_{0};
  bool stopping_ = false;
};

}  // namespace qmm
