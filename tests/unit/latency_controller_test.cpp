// The latency throttle's arithmetic (no database, no clock): how the
// controller judges windows of probe latencies and moves the job's rate and
// batch size. The throttle against a real server, with a competing load, is
// in tests/pg/latency_throttle_test.cpp.
#include <catch2/catch.hpp>

#include <vector>

#include "jobs/latency_controller.hpp"
#include "jobs/latency_probe.hpp"

using credvault::jobs::BurstRows;
using credvault::jobs::LatencyController;
using credvault::jobs::Quantile;
using Change = LatencyController::Change;

namespace {

std::vector<double> Window(std::size_t calls, double seconds) { return std::vector<double>(calls, seconds); }

}  // namespace

TEST_CASE("Quantile takes the nearest rank", "[latency][unit]") {
  CHECK(Quantile({}, 0.99) == 0);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  CHECK(Quantile(hundred, 0.99) == 99);
  CHECK(Quantile(hundred, 0.5) == 50);
  CHECK(Quantile({3, 1, 2}, 0.99) == 3);  // below 100 values the p99 is the maximum
}

TEST_CASE("the latency controller waits for a window, then raises the rate while the probe is under target",
          "[latency][unit]") {
  LatencyController controller(0.002, 5000);  // 2 ms, batches of at most 5000 rows
  const double start = controller.rate();
  CHECK(controller.Judge(Window(LatencyController::kMinSamples - 1, 0.001), 1e6) == Change::kWaiting);
  CHECK(controller.rate() == start);
  CHECK(controller.Judge(Window(LatencyController::kMinSamples, 0.001), 1e6) == Change::kIncreased);
  CHECK(controller.rate() > start);
  CHECK_FALSE(controller.backing_off());
  CHECK(controller.last_p99() == Approx(0.001));
  // Windows under the target keep raising it, to the job's batch size at most per burst.
  for (int i = 0; i < 200; ++i) controller.Judge(Window(50, 0.001), 1e6);
  CHECK(controller.batch_rows() == 5000);
}

TEST_CASE("the latency controller halves the rate on a window over target and stops at a floor", "[latency][unit]") {
  LatencyController controller(0.002, 5000);
  for (int i = 0; i < 20; ++i) controller.Judge(Window(50, 0.001), 30000);  // the job can do 30 000 rows/s
  const double before = controller.rate();
  const std::size_t rows_before = controller.batch_rows();
  std::vector<double> window = Window(50, 0.001);
  window[10] = window[20] = 0.010;  // 2 of 50 calls over: the p99 is over
  CHECK(controller.Judge(window, 30000) == Change::kDecreased);
  CHECK(controller.rate() == Approx(before * LatencyController::kDecreaseFactor));
  CHECK(controller.batch_rows() < rows_before);
  CHECK(controller.backing_off());
  for (int i = 0; i < 100; ++i) controller.Judge(Window(50, 0.5), 30000);
  CHECK(controller.rate() == Approx(30000 * LatencyController::kMinShareOfCapacity));
  // ...and recovers once the load is gone.
  CHECK(controller.Judge(Window(50, 0.001), 30000) == Change::kIncreased);
  CHECK_FALSE(controller.backing_off());

  // Without a known capacity the floor is kMinRate rows/s, in batches of kMinRows.
  LatencyController blind(0.002, 5000);
  for (int i = 0; i < 100; ++i) blind.Judge(Window(50, 0.5), 0);
  CHECK(blind.rate() == LatencyController::kMinRate);
  CHECK(blind.batch_rows() == LatencyController::kMinRows);
}

TEST_CASE("a stall is a verdict before the window fills", "[latency][unit]") {
  LatencyController controller(0.002, 5000);
  const double before = controller.rate();
  CHECK(controller.Judge({0.001, 0.050}, 0) == Change::kDecreased);  // one call 25x over the target
  CHECK(controller.rate() < before);
  CHECK(controller.Judge({0.001, 0.003}, 0) == Change::kWaiting);  // a little over: wait for the window
}

TEST_CASE("the latency controller does not raise the rate far past what the job reaches", "[latency][unit]") {
  LatencyController controller(0.002, 5000);
  for (int i = 0; i < 100; ++i) controller.Judge(Window(50, 0.001), 3000);
  CHECK(controller.rate() <= 3000 * LatencyController::kHeadroom + 1e-9);
  CHECK(controller.Judge(Window(50, 0.001), 3000) == Change::kHeld);
}

TEST_CASE("bursts hold a fixed slice of work at the rate, within bounds", "[latency][unit]") {
  CHECK(BurstRows(100000, 5000) == static_cast<std::size_t>(100000 * LatencyController::kBurstSeconds));
  CHECK(BurstRows(1, 5000) == LatencyController::kMinRows);
  CHECK(BurstRows(1e9, 5000) == 5000);
  CHECK(BurstRows(1e9, 10) == 10);
  CHECK(BurstRows(1, 10) == 10);  // a batch size below the floor wins
}

TEST_CASE("the latency controller never goes below a twentieth of what the job has reached", "[latency][unit]") {
  LatencyController controller(0.002, 5000);
  controller.Judge(Window(50, 0.001), 40000);  // the job reached 40 000 rows/s
  for (int i = 0; i < 100; ++i) controller.Judge(Window(50, 0.5), 0);
  CHECK(controller.rate() == Approx(40000 * LatencyController::kMinShareOfCapacity));
  CHECK(controller.floor() == Approx(2000));
}

TEST_CASE("the latency controller never raises the rate past --max-rate, so a decrease bites at once", "[latency][unit]") {
  LatencyController controller(0.002, 5000, 3000);
  for (int i = 0; i < 50; ++i) controller.Judge(Window(20, 0.001), 1e6);
  CHECK(controller.rate() == Approx(3000));
  CHECK(controller.Judge(Window(20, 0.010), 1e6) == Change::kDecreased);
  CHECK(controller.rate() == Approx(1500));
  CHECK(controller.floor() == Approx(3000 * LatencyController::kMinShareOfCapacity));  // of --max-rate, not of 1e6
  LatencyController slow(0.002, 5000, 500);  // a ceiling below the start rate
  CHECK(slow.rate() == Approx(500));
  CHECK(slow.Judge(Window(20, 0.001), 1e6) == Change::kHeld);
}
