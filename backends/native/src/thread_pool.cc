#include "thread_pool.h"

#include <immintrin.h>

namespace qmm {
namespace {

// Workers and the caller poll for about this many pause instructions (a few hundred
// microseconds) before they block, so back-to-back calls skip the wake-up latency of a
// condition variable.
constexpr int kSpinIterations = 20000;

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::drain(int thread) {
  for (;;) {
    const int64_t i = next_.fetch_add(1);
    if (i >= count_) return;
    (*task_)(i, thread);
  }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t, int)>& task) {
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  if (count <= 0) return;
  if (count == 1 || workers_.empty()) {
    for (int64_t i = 0; i < count; ++i) task(i, 0);
    return;
  }

  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    count_ = count;
    next_.store(0);
    active_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);
  }
  wake_.notify_all();

  drain(0);

  for (int spin = 0; spin < kSpinIterations && active_.load() != 0; ++spin) _mm_pause();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return active_.load() == 0; });
  task_ = nullptr;
}

void ThreadPool::work(int thread) {
  uint64_t seen = 0;
  for (;;) {
    for (int spin = 0; spin < kSpinIterations && generation_.load() == seen; ++spin) _mm_pause();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_.load() != seen; });
      if (stopping_) return;
      seen = generation_.load();
    }

    drain(thread);

    std::lock_guard<std::mutex> lock(mutex_);
    if (active_.fetch_sub(1) == 1) done_.notify_one();
  }
}

}  // namespace qmm
