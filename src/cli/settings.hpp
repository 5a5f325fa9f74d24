// Everything the CLI needs to know before running a command, resolved with
// the precedence of the README: flags > environment > config file > defaults.
//
// The CLI is the only part of credvault that reads environment variables,
// files named by the user or the terminal; the library gets plain values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "credvault/keyring.hpp"
#include "credvault/environment.hpp"
#include "credvault/status.hpp"

namespace credvault::cli {

// Global options as CLI11 parsed them (empty = not given).
struct GlobalFlags {
  std::string config_file;
  std::string database_url;
  std::string direct_url;
  std::string migrations_dir;
  std::string environment;
  std::vector<std::string> key_files;
  std::vector<std::string> fallback_key_files;
  int verbose = 0;
  bool quiet = false;
  std::string log_format;
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

struct Settings {
  std::string config_file;         // the file used, "" if none
  std::string database_url;        // libpq conninfo; "" = libpq's PG* variables
  // A connection that bypasses a pooler, for the migration lock and the
  // migrations themselves; "" = database_url for everything.
  std::string direct_url;
  std::string migrations_dir;
  Environment environment = Environment::kProduction;
  std::string log_format = "text";
  int lock_timeout_seconds = 60;   // migrate: waiting for another migrator
  int job_lock_wait_seconds = 60;  // row jobs: waiting for row/table locks in all
  std::size_t batch_size = 5000;
  unsigned workers = 0;            // 0 = one per core
  std::string schema_file;          // config schema_file; "" = schema.sql beside the migrations folder
  long long lint_large_table_rows = 100000;  // [lint] large_table_rows
  std::optional<KeySource> primary_key;
  std::vector<KeySource> fallback_keys;
};

// Reads environment variables through this (tests pass a map).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();

// Resolves settings; a bad config file is kInvalidArgument naming file and line.
StatusOr<Settings> ResolveSettings(const GlobalFlags& flags, const EnvLookup& env);

// Builds the keyring from the resolved key sources. Key files must be 0600
// (no group/other bits). Secrets read from the environment are wiped from the
// process environment afterwards. kInvalidArgument when no primary key is
// configured, naming the three ways to give one.
StatusOr<Keyring> LoadKeyring(const Settings& settings);

}  // namespace credvault::cli
