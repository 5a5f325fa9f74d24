// Everything the CLI needs to know before running a command, resolved with
// the precedence of docs/CLI.md: flags > environment > config file > defaults.
//
// The CLI is the only part of credvault that reads environment variables,
// files named by the user or the terminal; the library gets plain values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/key_source.hpp"
#include "credvault/keyring.hpp"
#include "credvault/environment.hpp"
#include "credvault/status.hpp"
#include "jobs/throttle_options.hpp"

namespace credvault::cli {

// Global options as CLI11 parsed them (empty = not given).
struct GlobalFlags {
  std::string config_file;
  std::string database_url;
  std::string direct_url;
  std::string dev_url;
  std::string migrations_dir;
  std::string environment;
  std::vector<std::string> key_files;
  std::vector<std::string> fallback_key_files;
  int verbose = 0;
  bool quiet = false;
  std::string log_format;
  std::string metrics_file;
};

// Where one key comes from; read only when a command needs the keyring.
struct KeySource {
  enum class Kind { kFile, kEnvironment } kind;
  std::string location;  // path, or the variable name
  std::size_t index = 0; // position in SECRET_KEY_FALLBACKS
  std::string Describe() const;
};

// Bounds of the numeric settings, shared by the flags and credvault.toml.
inline constexpr long long kMaxBatchSize = 1000000;
inline constexpr long long kMaxWorkers = 256;
inline constexpr long long kMaxWaitSeconds = 86400;  // migrate.lock_timeout, jobs.lock_wait
inline constexpr double kMaxRowsPerSecond = 1e9;      // jobs.max_rate, --max-rate
inline constexpr double kMaxLatencyMilliseconds = 60000;  // jobs.max_latency, --max-latency
inline constexpr long long kMaxActiveSessions = 100000;  // jobs.max_active, --max-active

struct Settings {
  std::string config_file;         // the file used, "" if none
  std::string database_url;        // libpq conninfo; "" = libpq's PG* variables
  // A connection that bypasses a pooler, for the migration lock and the
  // migrations themselves; "" = database_url for everything.
  std::string direct_url;
  // The scratch database create --autogenerate and check --schema build in
  // (never the live one); "" = a temporary database on the live server.
  std::string dev_url;
  std::string migrations_dir;
  Environment environment = Environment::kProduction;
  std::string log_format = "text";
  std::string metrics_file;        // Prometheus text file to write; "" = none
  int lock_timeout_seconds = 60;   // migrate: waiting for another migrator
  int job_lock_wait_seconds = 60;  // row jobs: waiting for row/table locks in all
  std::size_t batch_size = 5000;
  unsigned workers = 0;            // 0 = one per core but one
  // Row-job throttles ([jobs] max_rate, max_replica_lag, replica_urls,
  // max_active; the job commands' flags override them): see
  // jobs/throttle_options.hpp. Off by default; replica_conninfos are
  // normalized like database_url.
  jobs::ThrottleOptions throttle;
  // [jobs] max_latency is in the config file (0 included): a database
  // recorded as production then gets no latency target by default.
  bool max_latency_configured = false;
  std::string schema_file;          // config schema_file; "" = schema.sql beside the migrations folder
  long long lint_large_table_rows = 100000;  // [lint] large_table_rows
  std::optional<KeySource> primary_key;
  std::vector<KeySource> fallback_keys;
};

// Reads environment variables through this (tests pass a map).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment. For SECRET_KEY, SECRET_KEY_FALLBACKS and
// CREDVAULT_PKCS11_PIN it gives only KeyVariableShape(value), never the
// secret itself: settings need to know whether a key is set and how many
// fallbacks there are; LoadKeyring reads the keys into SecretBytes.
EnvLookup ProcessEnvironment();
// One '*' per non-empty comma-separated entry, the commas kept ("k1,,k3" →
// "*,,*"): the shape of a key variable without a byte of it.
std::string KeyVariableShape(std::string_view value);

// Resolves settings; a bad config file is kInvalidArgument naming file and line.
StatusOr<Settings> ResolveSettings(const GlobalFlags& flags, const EnvLookup& env);

// For wrapped: keys: CREDVAULT_PKCS11_MODULE and CREDVAULT_PKCS11_PIN (the
// PIN is wiped from the environment on first read).
KeySourceOptions KeySourceOptionsFromEnvironment();

// Builds the keyring from the resolved key sources (a path, or a key source
// as in credvault/key_source.hpp: exec:, file:, wrapped:). Key files must be 0600
// (no group/other bits). Secrets read from the environment are wiped from the
// process environment afterwards. kInvalidArgument when no primary key is
// configured, naming the three ways to give one.
StatusOr<Keyring> LoadKeyring(const Settings& settings);

}  // namespace credvault::cli
