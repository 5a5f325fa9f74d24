// The row jobs' crypto threads, started once per job instead of once per
// batch: each keeps its decrypt scratch buffer, its nonce buffer and its
// malloc arena warm across batches.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace credvault::jobs {

class WorkerPool {
 public:
  // At least one thread; `idle_priority`: each lowers itself to the idle
  // CPU priority (jobs/idle_priority.hpp) as it starts.
  explicit WorkerPool(unsigned threads, bool idle_priority = false);
  ~WorkerPool();                          // joins the threads
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs fn(begin, end) over [0, count), split into one non-empty contiguous
  // chunk per thread (below 64 items: one chunk, on the calling thread), and
  // returns when every chunk is done. One call at a time.
  void ParallelFor(std::size_t count, const std::function<void(std::size_t begin, std::size_t end)>& fn);

 private:
  void Work(std::size_t index);

  std::mutex mutex_;
  std::condition_variable start_, finished_;
  const std::function<void(std::size_t, std::size_t)>* task_ = nullptr;
  std::size_t count_ = 0;
  std::size_t running_ = 0;        // chunks of the current call not yet done
  std::size_t generation_ = 0;     // bumped by every call
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace credvault::jobs
