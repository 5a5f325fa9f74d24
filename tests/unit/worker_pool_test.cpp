// The row jobs' crypto thread pool: every index visited exactly once, calls
// of any size, back to back (also run under ThreadSanitizer by test.sh); and
// how many threads a job starts.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "jobs/job_common.hpp"
#include "jobs/worker_pool.hpp"

namespace jobs = credvault::jobs;
using credvault::jobs::WorkerPool;

TEST_CASE("WorkerPool visits every index exactly once, on several threads for large counts", "[pool]") {
  WorkerPool pool(3);
  for (std::size_t count : {0u, 1u, 63u, 64u, 65u, 1000u, 5000u, 4999u}) {
    std::vector<std::atomic<int>> visits(count);
    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::atomic<int> empty_chunks{0};  // (Catch assertions are not thread-safe: checked below)
    pool.ParallelFor(count, [&](std::size_t begin, std::size_t end) {
      if (begin >= end) ++empty_chunks;
      {
        std::lock_guard<std::mutex> lock(mutex);
        threads.insert(std::this_thread::get_id());
      }
      for (std::size_t i = begin; i < end; ++i) visits[i].fetch_add(1);
    });
    CHECK(empty_chunks.load() == 0);
    for (std::size_t i = 0; i < count; ++i) REQUIRE(visits[i].load() == 1);
    if (count == 0) CHECK(threads.empty());
    // Below 64 items the caller does the work itself; above, the pool's threads.
    if (count >= 1000) CHECK(threads.size() == 3);
    if (count > 0 && count < 64) CHECK(threads == std::set<std::thread::id>{std::this_thread::get_id()});
  }
}

TEST_CASE("WorkerPool runs many calls back to back and stops cleanly", "[pool]") {
  std::atomic<std::uint64_t> sum{0};
  {
    WorkerPool pool(2);
    for (int call = 0; call < 500; ++call) {
      pool.ParallelFor(100, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) sum += i;
      });
    }
  }
  CHECK(sum.load() == 500u * (99u * 100u / 2u));
}

TEST_CASE("a job's crypto threads default to one per core but one, and --workers overrides it", "[jobs]") {
  jobs::JobOptions options;
  const unsigned cores = std::thread::hardware_concurrency();
  const unsigned by_default = jobs::WorkerCount(options);
  CHECK(by_default >= 1);
  // Some core is always left to the application and the server.
  if (cores >= 2) CHECK(by_default == cores - 1);
  options.workers = 7;
  CHECK(jobs::WorkerCount(options) == 7);
}
