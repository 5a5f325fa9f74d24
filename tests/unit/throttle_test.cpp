// The arithmetic of the row-job throttles (no database, no clock: time points
// are given): the rate pacer's schedule and the WAL lag estimate. The
// throttles against a real server are in tests/pg/throttle_test.cpp.
#include <catch2/catch.hpp>

#include <chrono>

#include "cli/settings.hpp"
#include "jobs/throttle.hpp"
#include "jobs/wal_lag.hpp"
#include "support/test_support.hpp"

using credvault::jobs::RatePacer;
using credvault::jobs::WalLagTracker;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

TEST_CASE("the rate pacer spaces batches by their rows and saves no credit for a burst", "[throttle][unit]") {
  RatePacer pacer(1000);  // rows per second
  const Clock::time_point t0 = Clock::now();
  CHECK(pacer.Delay(t0) == Clock::duration::zero());  // the first batch goes at once
  pacer.Admit(500, t0);
  CHECK(Seconds(pacer.Delay(t0)) == Approx(0.5));
  CHECK(Seconds(pacer.Delay(t0 + milliseconds(200))) == Approx(0.3));
  pacer.Admit(500, t0 + milliseconds(500));
  CHECK(Seconds(pacer.Delay(t0 + milliseconds(500))) == Approx(0.5));
  // The job was slower than the rate (or paused) for 10 s: the next batch
  // goes at once, and the one after waits its full time again.
  const Clock::time_point late = t0 + milliseconds(11000);
  CHECK(pacer.Delay(late) == Clock::duration::zero());
  pacer.Admit(2000, late);
  CHECK(Seconds(pacer.Delay(late)) == Approx(2.0));
}

TEST_CASE("the WAL lag estimate grows while a standby's replay is stuck and drops when it catches up", "[throttle][unit]") {
  WalLagTracker lag;
  const Clock::time_point t0 = Clock::now();
  lag.Sample(1000, t0);
  lag.Sample(2000, t0 + milliseconds(1000));
  lag.Sample(2000, t0 + milliseconds(1500));  // no new WAL: adds nothing
  lag.Sample(3000, t0 + milliseconds(2000));
  CHECK(lag.size() == 3);
  // Replayed everything: no lag, whenever asked.
  CHECK(lag.LagSeconds(3000, t0 + milliseconds(9000)) == 0);
  // Stuck at 1500: the WAL at 2000 existed at t0+1 s, so it is (now - 1 s) behind, and more as time passes.
  CHECK(lag.LagSeconds(1500, t0 + milliseconds(3000)) == Approx(2.0));
  CHECK(lag.LagSeconds(1500, t0 + milliseconds(8000)) == Approx(7.0));
  // Exactly at a sample's position: that sample is replayed, the next is not.
  CHECK(lag.LagSeconds(2000, t0 + milliseconds(3000)) == Approx(1.0));
  // Behind the first sample: at least since the first sample.
  CHECK(lag.LagSeconds(0, t0 + milliseconds(3000)) == Approx(3.0));
  // Forget what everyone replayed; the estimate for later positions is unchanged.
  lag.Forget(2000);
  CHECK(lag.size() == 1);
  CHECK(lag.LagSeconds(2000, t0 + milliseconds(3000)) == Approx(1.0));
  CHECK(lag.LagSeconds(3000, t0 + milliseconds(3000)) == 0);
}

TEST_CASE("throttles refuse impossible settings before connecting", "[throttle][unit]") {
  credvault::jobs::ThrottleOptions options;
  auto none = credvault::jobs::Throttle::Start(options, "host=/nonexistent", "t", "t", nullptr, nullptr, nullptr);
  REQUIRE(none.ok());
  CHECK(*none == nullptr);  // nothing asked: no throttle, no connection
  options.replica_conninfos = {"host=/nonexistent"};
  auto replicas_only = credvault::jobs::Throttle::Start(options, "host=/nonexistent", "t", "t", nullptr, nullptr, nullptr);
  CHECK(replicas_only.status().code() == credvault::StatusCode::kInvalidArgument);
  options = {};
  options.max_rate = -5;
  CHECK(credvault::jobs::Throttle::Start(options, "", "t", "t", nullptr, nullptr, nullptr).status().code() ==
        credvault::StatusCode::kInvalidArgument);
}

TEST_CASE("the throttle keys of credvault.toml: max_rate, max_replica_lag, replica_urls, max_active, max_latency", "[throttle][config]") {
  credvault::testing::TempDir dir;
  credvault::cli::GlobalFlags flags;
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  flags.config_file = dir.WriteFile(
      "t.toml",
      "[jobs]\nmax_rate = 2500\nmax_replica_lag = 0.5\nmax_active = 8\nmax_latency = 2.5\n"
      "replica_urls = [\"postgresql://replica1/ads\", \"postgresql+asyncpg://replica2/ads\"]\n");
  auto settings = credvault::cli::ResolveSettings(flags, no_env);
  REQUIRE(settings.ok());
  CHECK(settings->throttle.max_rate == 2500);
  CHECK(settings->throttle.max_replica_lag == 0.5);
  CHECK(settings->throttle.max_active == 8);
  CHECK(settings->throttle.max_latency == Approx(0.0025));  // milliseconds in the file, seconds inside
  REQUIRE(settings->throttle.replica_conninfos.size() == 2);
  CHECK(settings->throttle.replica_conninfos[1] == "postgresql://replica2/ads");  // the driver part dropped, as for DATABASE_URL

  auto defaults = credvault::cli::ResolveSettings({}, no_env);
  REQUIRE(defaults.ok());
  CHECK(defaults->throttle.max_rate == 0);
  CHECK(defaults->throttle.max_replica_lag == 0);
  CHECK(defaults->throttle.max_active == -1);
  CHECK(defaults->throttle.max_latency == 0);
  CHECK_FALSE(defaults->throttle.max_latency_auto);
  flags.config_file = dir.WriteFile("auto.toml", "[jobs]\nmax_latency = \"auto\"\n");
  auto automatic = credvault::cli::ResolveSettings(flags, no_env);
  REQUIRE(automatic.ok());
  CHECK(automatic->throttle.max_latency_auto);
  CHECK(automatic->throttle.enabled());

  flags.config_file = dir.WriteFile("zero.toml", "[jobs]\nmax_rate = 0\n");
  auto zero = credvault::cli::ResolveSettings(flags, no_env);
  REQUIRE(!zero.ok());
  CHECK(zero.status().message().find("jobs.max_rate must be a number above 0") != std::string::npos);
  flags.config_file = dir.WriteFile("text.toml", "[jobs]\nmax_replica_lag = \"1s\"\n");
  auto text = credvault::cli::ResolveSettings(flags, no_env);
  REQUIRE(!text.ok());
  CHECK(text.status().message().find("'jobs.max_replica_lag' must be a number") != std::string::npos);
  flags.config_file = dir.WriteFile("orphan.toml", "[jobs]\nreplica_urls = [\"postgresql://r/ads\"]\n");
  auto orphan = credvault::cli::ResolveSettings(flags, no_env);
  REQUIRE(!orphan.ok());
  CHECK(orphan.status().message().find("needs jobs.max_replica_lag") != std::string::npos);
}
