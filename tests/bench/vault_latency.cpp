// GetCredentials latency over N calls against a live database, for
// scripts/bench.sh: prints one JSON object. Not a test (no assertions on time).
// With STOP_FILE, calls go on (at least CALLS of them) until that file exists:
// the latency an application sees while a job runs beside it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "credvault/keyring_from_env.hpp"
#include "credvault/vault.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DATABASE_URL MIGRATIONS_DIR MAX_ACCOUNT [CALLS [STOP_FILE]]   (key in SECRET_KEY)\n", argv[0]);
    return 2;
  }
  auto ring = credvault::KeyringFromEnvironment();
  if (!ring.ok()) return std::fprintf(stderr, "%s\n", ring.status().message().c_str()), 3;
  credvault::VaultOptions options;
  options.database_url = argv[1];
  options.migrations_dir = argv[2];
  options.keyring = *ring;
  options.environment = credvault::Environment::kStaging;
  auto vault = credvault::Vault::Open(std::move(options));
  if (!vault.ok()) return std::fprintf(stderr, "%s\n", vault.status().message().c_str()), 4;
  const long max_account = std::atol(argv[3]);
  const int calls = argc > 4 ? std::atoi(argv[4]) : 10000;
  const std::string stop_file = argc > 5 ? argv[5] : "";
  auto stopped = [&stop_file] {
    struct stat info;
    return !stop_file.empty() && ::stat(stop_file.c_str(), &info) == 0;
  };
  std::mt19937 random(1);
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls + 200 || (!stop_file.empty() && !stopped()); ++i) {
    const long account = 1 + static_cast<long>(random() % static_cast<unsigned long>(max_account));
    auto start = std::chrono::steady_clock::now();
    auto got = vault->GetCredentials(account);
    auto elapsed = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    if (!got.ok()) return std::fprintf(stderr, "%s\n", got.status().message().c_str()), 6;
    if (i >= 200) micros.push_back(elapsed);  // the first calls warm caches
  }
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<std::size_t>(q * (micros.size() - 1))]; };
  std::printf("{\"calls\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n", micros.size(), at(0.5),
              at(0.99), micros.back());
  return 0;
}
