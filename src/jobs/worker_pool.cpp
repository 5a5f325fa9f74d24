#include "jobs/worker_pool.hpp"

#include <algorithm>

#include "jobs/idle_priority.hpp"

namespace credvault::jobs {

WorkerPool::WorkerPool(unsigned threads, bool idle_priority) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    threads_.emplace_back([this, i, idle_priority] {
      if (idle_priority) (void)LowerThisThreadToIdlePriority();
      Work(i);
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void WorkerPool::ParallelFor(std::size_t count, const std::function<void(std::size_t, std::size_t)>& fn) {
  if (count == 0) return;
  // Small batches are not worth waking anyone.
  if (count < 64 || threads_.size() == 1) {
    fn(0, count);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  task_ = &fn;
  count_ = count;
  running_ = threads_.size();
  ++generation_;
  start_.notify_all();
  finished_.wait(lock, [this] { return running_ == 0; });
  task_ = nullptr;
}

void WorkerPool::Work(std::size_t index) {
  std::size_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    const auto* task = task_;
    const std::size_t per = (count_ + threads_.size() - 1) / threads_.size();
    const std::size_t begin = std::min(count_, index * per), end = std::min(count_, begin + per);
    lock.unlock();
    if (begin < end) (*task)(begin, end);
    lock.lock();
    if (--running_ == 0) finished_.notify_one();
  }
}

}  // namespace credvault::jobs
