// The latency throttle (--max-latency) against a real server: it backs off
// while a competing session makes the application's read slow, speeds up
// again once it is gone, and every throttled job ends with every value
// right, an application writing meanwhile. The controller's arithmetic is in
// tests/unit/latency_controller_test.cpp.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

struct Judgement {
  double p99_ms = 0;
  double rate = 0;
  std::string change;  // increased, decreased, held
};

// The throttle's debug lines ("encrypt: latency: probe p99 1.23 ms over 25
// calls -> 2200 rows/s in batches of 20 (increased)"), in order.
std::vector<Judgement> Judgements(const std::string& err) {
  static const std::regex line(R"(latency: probe p99 ([0-9.]+) ms over [0-9]+ calls -> ([0-9]+) rows/s in batches of [0-9]+ \((\w+)\))");
  std::vector<Judgement> out;
  for (std::sregex_iterator it(err.begin(), err.end(), line), end; it != end; ++it) {
    out.push_back({std::stod((*it)[1]), std::stod((*it)[2]), (*it)[3]});
  }
  return out;
}

}  // namespace

TEST_CASE("the latency throttle (--max-latency) backs off while a lock stalls the application's read, then speeds up again",
          "[throttle][latency]") {
  TestDatabase db;
  Populate(db, 12000);
  const std::string key = NewBase64Key();
  // The rate ceiling keeps the job running long enough to watch it recover (4 s at least).
  CliProcess job({"-v", "encrypt", "--max-latency", "200", "--max-rate", "3000"}, KeyEnv(db, key));
  REQUIRE(job.WaitForStderr("throttled: keep the application's p99 latency under 200 ms"));
  REQUIRE(job.WaitForStderr("(increased)"));
  {
    // A session holding the table's lock: every read of credentials waits.
    auto locker = db.Connect();
    auto tx = locker->Begin();
    REQUIRE(tx.ok());
    REQUIRE((*tx)->Exec("LOCK TABLE credentials IN ACCESS EXCLUSIVE MODE").ok());
    usleep(1500 * 1000);
    REQUIRE((*tx)->Commit().ok());
  }
  auto result = job.Wait();
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.err.find("backing off (--max-latency 200 ms)") != std::string::npos);
  const std::vector<Judgement> judged = Judgements(result.err);
  std::size_t stall = judged.size();
  for (std::size_t i = 0; i < judged.size() && stall == judged.size(); ++i) {
    if (judged[i].change == "decreased" && judged[i].p99_ms > 1000) stall = i;
  }
  REQUIRE(stall < judged.size());  // the stall was seen and acted on
  // The slowest it went from then on (the calls queued behind the lock may
  // take more than one window to answer), and how fast it went after that.
  std::size_t lowest = stall;
  for (std::size_t i = stall; i < judged.size(); ++i) {
    if (judged[i].rate < judged[lowest].rate) lowest = i;
  }
  double after = 0;
  for (std::size_t i = lowest + 1; i < judged.size(); ++i) after = std::max(after, judged[i].rate);
  INFO("rate after the stall " << judged[stall].rate << ", down to " << judged[lowest].rate << ", later at most "
                               << after);
  CHECK(after >= 2 * judged[lowest].rate);  // it sped up again (at least back from a halving)
  ExpectAllEncryptedAndEqual(db, Ring(key));
}

TEST_CASE("rotate --max-latency auto with an application writing meanwhile: every value right, none overwritten",
          "[throttle][latency]") {
  TestDatabase db;
  Populate(db, 2000);
  const std::string key_a = NewBase64Key(), key_b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key_a)).exit_code == 0);
  {
    ApplicationWriter writer(db, 2000, 7, Ring(key_a));
    auto rotated = RunCli({"rotate", "--max-latency", "auto"}, KeyEnv(db, key_b, key_a));
    INFO(rotated.err);
    REQUIRE(rotated.exit_code == 0);
    const std::regex auto_target(R"(throttled: keep the application's p99 latency under ([0-9.]+) ms \(auto: twice its idle p99 ([0-9.]+) ms)");
    std::smatch target;
    REQUIRE(std::regex_search(rotated.err, target, auto_target));
    CHECK(std::stod(target[1]) >= 0.5);
    CHECK(std::stod(target[1]) == Approx(std::max(0.5, 2 * std::stod(target[2]))).margin(0.011));
  }
  // Values the writer stored under A meanwhile are rotated by a rerun.
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, key_b, key_a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key_b), "originals", Ring(key_b).primary_kid());
}

TEST_CASE("the latency settings (--max-latency, [jobs] max_latency) are checked: a number of milliseconds", "[throttle][latency]") {
  TestDatabase db;
  Populate(db, 10);
  const std::string key = NewBase64Key();
  for (const char* wrong : {"fast", "-1", "1e9"}) {
    auto bad = RunCli({"encrypt", "--max-latency", wrong}, KeyEnv(db, key));
    INFO(wrong << ": " << bad.err);
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--max-latency") != std::string::npos);
  }
  TempDir dir;
  auto env = KeyEnv(db, key);
  env["CREDVAULT_CONFIG"] = dir.WriteFile("credvault.toml", "[jobs]\nmax_latency = -3\n");
  auto bad_config = RunCli({"encrypt"}, env);
  CHECK(bad_config.exit_code == 3);
  CHECK(bad_config.err.find("jobs.max_latency") != std::string::npos);
  env["CREDVAULT_CONFIG"] = dir.WriteFile("word.toml", "[jobs]\nmax_latency = \"soon\"\n");
  auto word = RunCli({"encrypt"}, env);
  CHECK(word.exit_code == 3);
  CHECK(word.err.find("a number of milliseconds or \"auto\"") != std::string::npos);
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_id LIKE 'cv1:%'").text(0, 0) == "0");
}

TEST_CASE("a database recorded as production gets --max-latency auto by default - 0 or a config key runs flat out",
          "[throttle][latency]") {
  TestDatabase db;
  Populate(db, 1500);
  const std::string key_a = NewBase64Key(), key_b = NewBase64Key();
  // Populate recorded the database as development; an operator moves it to production.
  REQUIRE(RunCli({"env", "set", "production", "--from", "development", "--yes"}, KeyEnv(db, key_a)).exit_code == 0);
  auto production = KeyEnv(db, key_a);
  production["CREDVAULT_ENV"] = "production";
  REQUIRE(RunCli({"migrate"}, production).exit_code == 0);
  auto rotate_env = KeyEnv(db, key_b, key_a);
  rotate_env["CREDVAULT_ENV"] = "production";
  auto rotated = RunCli({"rotate"}, rotate_env);
  INFO(rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK(rotated.err.find("recorded as production") != std::string::npos);
  CHECK(rotated.err.find("(auto: twice its idle p99") != std::string::npos);
  ExpectAllEncryptedAndEqual(db, Ring(key_b));

  auto flat_out_env = KeyEnv(db, key_a, key_b);
  flat_out_env["CREDVAULT_ENV"] = "production";
  auto flat_out = RunCli({"rotate", "--max-latency", "0"}, flat_out_env);
  INFO(flat_out.err);
  REQUIRE(flat_out.exit_code == 0);
  CHECK(flat_out.err.find("throttled") == std::string::npos);
  TempDir dir;
  auto configured = KeyEnv(db, key_b, key_a);
  configured["CREDVAULT_ENV"] = "production";
  configured["CREDVAULT_CONFIG"] = dir.WriteFile("credvault.toml", "[jobs]\nmax_latency = 0\n");
  auto config_flat_out = RunCli({"rotate"}, configured);
  INFO(config_flat_out.err);
  REQUIRE(config_flat_out.exit_code == 0);
  CHECK(config_flat_out.err.find("throttled") == std::string::npos);
  ExpectAllEncryptedAndEqual(db, Ring(key_b));

  // A database recorded as development gets no default.
  TestDatabase dev;
  Populate(dev, 100);
  auto dev_rotated = RunCli({"encrypt"}, KeyEnv(dev, key_a));
  REQUIRE(dev_rotated.exit_code == 0);
  CHECK(dev_rotated.err.find("throttled") == std::string::npos);
}
