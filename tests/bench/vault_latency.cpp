// GetCredentials latency against a live database as an application sees it,
// for scripts/bench.sh: prints one JSON object. Not a test (no assertions on
// time).
//
// Open-loop: calls are scheduled at RATE per second with exponential gaps
// (Poisson arrivals) on one connection, and each call's latency is taken from
// its scheduled time, not from when it was sent. A call that stalls thus also
// counts against the calls queued behind it, as it would for a service whose
// requests keep arriving; a loop that waits for each answer before sending
// the next hides exactly those stalls.
//
// With STOP_FILE, calls go on (at least CALLS of them) until that file exists:
// the latency an application sees while a job runs beside it.
//
// With CREDVAULT_BENCH_FIND_CLIENTS=N, the calls are FindAccountsByClientId
// instead, each of one of N clients: the client_ids of accounts 1..N, read
// through the Vault first (the data must make those N the distinct clients).
//
// With CREDVAULT_BENCH_TIMELINE=FILE, every counted call is also written to
// FILE as "<scheduled time, s since the epoch> <latency, us>", to line stalls
// up with a job's log.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <utility>
#include <vector>

#include "credvault/keyring_from_env.hpp"
#include "credvault/vault.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// The first calls warm caches and the connection; they are not counted.
constexpr int kWarmupCalls = 200;

// A steady-clock instant as wall-clock seconds since the epoch (what logs print).
double WallSeconds(Clock::time_point at) {
  const auto wall = std::chrono::system_clock::now() - (Clock::now() - at);
  return std::chrono::duration<double>(wall.time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s DATABASE_URL MIGRATIONS_DIR MAX_ACCOUNT [CALLS [STOP_FILE|- [RATE]]]   (key in "
                 "SECRET_KEY; RATE calls/s, default 400)\n",
                 argv[0]);
    return 2;
  }
  auto ring = credvault::KeyringFromEnvironment();
  if (!ring.ok()) return std::fprintf(stderr, "%s\n", ring.status().message().c_str()), 3;
  credvault::VaultOptions options;
  options.database_url = argv[1];
  options.migrations_dir = argv[2];
  options.keyring = *ring;
  options.environment = credvault::Environment::kStaging;
  options.max_connections = 1;
  auto vault = credvault::Vault::Open(std::move(options));
  if (!vault.ok()) return std::fprintf(stderr, "%s\n", vault.status().message().c_str()), 4;
  const char* find_env = std::getenv("CREDVAULT_BENCH_FIND_CLIENTS");
  const long find_clients = find_env ? std::atol(find_env) : 0;
  std::vector<std::string> client_ids;  // what find looks up
  for (long account = 1; account <= find_clients; ++account) {
    auto got = vault->GetCredentials(account);
    if (!got.ok() || !got->client_id) return std::fprintf(stderr, "account %ld: no client_id\n", account), 6;
    client_ids.emplace_back(got->client_id->view());
  }
  std::size_t found_accounts = 0;
  const long max_account = std::atol(argv[3]);
  const int calls = argc > 4 ? std::atoi(argv[4]) : 10000;
  const std::string stop_file = argc > 5 && std::string(argv[5]) != "-" ? argv[5] : "";
  const double rate = argc > 6 ? std::atof(argv[6]) : 400;
  if (max_account < 1 || calls < 1 || !(rate > 0)) return std::fprintf(stderr, "bad arguments\n"), 2;
  auto stopped = [&stop_file] {
    struct stat info;
    return !stop_file.empty() && ::stat(stop_file.c_str(), &info) == 0;
  };
  std::mt19937 random(1);
  std::exponential_distribution<double> gap(rate);
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(calls));
  std::vector<std::pair<double, double>> timeline;  // (scheduled, latency)
  const char* timeline_file = std::getenv("CREDVAULT_BENCH_TIMELINE");
  auto scheduled = Clock::now();
  for (int i = 0; i < calls + kWarmupCalls || (!stop_file.empty() && !stopped()); ++i) {
    scheduled += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(random)));
    std::this_thread::sleep_until(scheduled);
    const long account = 1 + static_cast<long>(random() % static_cast<unsigned long>(max_account));
    credvault::Status status;
    if (client_ids.empty()) {
      status = vault->GetCredentials(account).status();
    } else {
      auto found = vault->FindAccountsByClientId(client_ids[static_cast<std::size_t>(account) % client_ids.size()]);
      status = found.status();
      if (found.ok()) found_accounts += found->size();
    }
    const double elapsed = std::chrono::duration<double, std::micro>(Clock::now() - scheduled).count();
    if (!status.ok()) return std::fprintf(stderr, "%s\n", status.message().c_str()), 6;
    if (i >= kWarmupCalls) micros.push_back(elapsed);
    if (i >= kWarmupCalls && timeline_file) timeline.emplace_back(WallSeconds(scheduled), elapsed);
  }
  if (timeline_file) {
    FILE* out = std::fopen(timeline_file, "w");
    if (!out) return std::fprintf(stderr, "cannot write %s\n", timeline_file), 2;
    for (const auto& [at, latency] : timeline) std::fprintf(out, "%.6f %.1f\n", at, latency);
    std::fclose(out);
  }
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<std::size_t>(q * static_cast<double>(micros.size() - 1))]; };
  std::printf(
      "{\"calls\": %zu, \"rate\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, "
      "\"call\": \"%s\", \"accounts_per_call\": %.1f}\n",
      micros.size(), rate, at(0.5), at(0.99), at(0.999), micros.back(), client_ids.empty() ? "get" : "find",
      client_ids.empty() ? 1.0 : static_cast<double>(found_accounts) / static_cast<double>(calls + kWarmupCalls));
  return 0;
}
