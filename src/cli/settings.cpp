#include "cli/settings.hpp"

#include <sodium.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>

#include <toml++/toml.h>

#include "common/status_macros.hpp"
#include "credvault/key_source.hpp"
#include "credvault/reasons.hpp"
#include "crypto/key_file.hpp"
#include "crypto/parsed_key_source.hpp"
#include "db/database_url.hpp"

namespace credvault::cli {
namespace {

namespace fs = std::filesystem;

std::string Where(const std::string& file, const toml::source_region& region) {
  return file + ":" + std::to_string(region.begin.line);
}

// A config file path given relative is relative to the config file's folder.
std::string RelativeTo(const std::string& config_file, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(config_file).parent_path() / path).lexically_normal().string();
}

// A key source from the config file: file: and wrapped: paths (and a bare
// path) are relative to the config file's folder; an exec: command is kept
// as written.
std::string KeySourceRelativeTo(const std::string& config_file, const std::string& source) {
  for (const char* prefix : {"file:", "wrapped:"}) {
    const std::size_t length = std::strlen(prefix);
    if (source.compare(0, length, prefix) == 0) return prefix + RelativeTo(config_file, source.substr(length));
  }
  if (source.rfind("exec:", 0) == 0) return source;
  return RelativeTo(config_file, source);
}

Status Unknown(const std::string& file, const toml::node& node, const std::string& key) {
  return InvalidArgumentError(Where(file, node.source()) + ": unknown setting '" + key + "'");
}

Status WrongType(const std::string& file, const toml::node& node, const std::string& key, const std::string& expected) {
  return InvalidArgumentError(Where(file, node.source()) + ": '" + key + "' must be " + expected);
}

struct FileSettings {
  std::optional<std::string> database_url, direct_url, dev_url, migrations_dir, environment, log_format;
  std::optional<std::string> primary_file;
  std::optional<std::string> metrics_file;
  std::optional<std::vector<std::string>> fallback_files;
  std::optional<std::int64_t> lock_timeout, batch_size, workers, lock_wait;
  std::optional<double> max_rate, max_replica_lag, max_latency;
  bool max_latency_auto = false;
  std::optional<std::int64_t> max_active;
  std::optional<std::vector<std::string>> replica_urls;
  std::optional<std::string> schema_file;
  std::optional<std::int64_t> large_table_rows;
};

Status ReadString(const std::string& file, const toml::node& node, const std::string& key,
                  std::optional<std::string>& out) {
  auto value = node.value<std::string>();
  if (!value || !node.is_string()) return WrongType(file, node, key, "a string");
  out = *value;
  return Status::Ok();
}

Status ReadInt(const std::string& file, const toml::node& node, const std::string& key,
               std::optional<std::int64_t>& out) {
  if (!node.is_integer()) return WrongType(file, node, key, "an integer");
  out = *node.value<std::int64_t>();
  return Status::Ok();
}

// An integer or a float, e.g. max_replica_lag = 1 or 0.5.
Status ReadNumber(const std::string& file, const toml::node& node, const std::string& key,
                  std::optional<double>& out) {
  if (node.is_integer()) {
    out = static_cast<double>(*node.value<std::int64_t>());
  } else if (node.is_floating_point()) {
    out = *node.value<double>();
  } else {
    return WrongType(file, node, key, "a number");
  }
  return Status::Ok();
}

Status ReadStrings(const std::string& file, const toml::node& node, const std::string& key,
                   std::optional<std::vector<std::string>>& out) {
  const toml::array* array = node.as_array();
  if (array == nullptr) return WrongType(file, node, key, "an array of strings");
  std::vector<std::string> values;
  for (const auto& element : *array) {
    auto value = element.value<std::string>();
    if (!element.is_string() || !value) return WrongType(file, element, key, "an array of strings");
    values.push_back(*value);
  }
  out = values;
  return Status::Ok();
}

// [jobs] max_latency: milliseconds, or "auto".
Status ReadMaxLatency(const std::string& file, const toml::node& node, const std::string& key, FileSettings& out) {
  if (node.is_string() && node.value<std::string>() == std::string("auto")) {
    out.max_latency_auto = true;
    return Status::Ok();
  }
  if (!node.is_number()) return WrongType(file, node, key, "a number of milliseconds or \"auto\"");
  return ReadNumber(file, node, key, out.max_latency);
}

StatusOr<FileSettings> ReadConfigFile(const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(Where(file, e.source()) + ": " + std::string(e.description()));
  }
  FileSettings out;
  for (const auto& [key_view, node] : root) {
    std::string key(key_view.str());
    if (key == "database_url") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.database_url));
    } else if (key == "direct_url") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.direct_url));
    } else if (key == "migrations_dir") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.migrations_dir));
      out.migrations_dir = RelativeTo(file, *out.migrations_dir);
    } else if (key == "schema_file") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.schema_file));
      out.schema_file = RelativeTo(file, *out.schema_file);
    } else if (key == "environment") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.environment));
    } else if (key == "log_format") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.log_format));
    } else if (key == "metrics_file") {
      CV_RETURN_IF_ERROR(ReadString(file, node, key, out.metrics_file));
      out.metrics_file = RelativeTo(file, *out.metrics_file);
    } else if (key == "keys" || key == "migrate" || key == "jobs" || key == "lint" || key == "autogenerate") {
      const toml::table* table = node.as_table();
      if (table == nullptr) return WrongType(file, node, key, "a table [" + key + "]");
      for (const auto& [sub_view, sub] : *table) {
        std::string sub_key(sub_view.str());
        std::string full = key + "." + sub_key;
        if (key == "keys" && sub_key == "primary_file") {
          CV_RETURN_IF_ERROR(ReadString(file, sub, full, out.primary_file));
          out.primary_file = KeySourceRelativeTo(file, *out.primary_file);
        } else if (key == "keys" && sub_key == "fallback_files") {
          const toml::array* array = sub.as_array();
          if (array == nullptr) return WrongType(file, sub, full, "an array of strings");
          std::vector<std::string> files;
          for (const auto& element : *array) {
            auto path = element.value<std::string>();
            if (!element.is_string() || !path) return WrongType(file, element, full, "an array of strings");
            files.push_back(KeySourceRelativeTo(file, *path));
          }
          out.fallback_files = files;
        } else if (key == "migrate" && sub_key == "lock_timeout") {
          CV_RETURN_IF_ERROR(ReadInt(file, sub, full, out.lock_timeout));
        } else if (key == "jobs" && sub_key == "batch_size") {
          CV_RETURN_IF_ERROR(ReadInt(file, sub, full, out.batch_size));
        } else if (key == "jobs" && sub_key == "workers") {
          CV_RETURN_IF_ERROR(ReadInt(file, sub, full, out.workers));
        } else if (key == "jobs" && sub_key == "lock_wait") {
          CV_RETURN_IF_ERROR(ReadInt(file, sub, full, out.lock_wait));
        } else if (key == "jobs" && sub_key == "max_rate") {
          CV_RETURN_IF_ERROR(ReadNumber(file, sub, full, out.max_rate));
        } else if (key == "jobs" && sub_key == "max_replica_lag") {
          CV_RETURN_IF_ERROR(ReadNumber(file, sub, full, out.max_replica_lag));
        } else if (key == "jobs" && sub_key == "replica_urls") {
          CV_RETURN_IF_ERROR(ReadStrings(file, sub, full, out.replica_urls));
        } else if (key == "jobs" && sub_key == "max_latency") {
          CV_RETURN_IF_ERROR(ReadMaxLatency(file, sub, full, out));
        } else if (key == "jobs" && sub_key == "max_active") {
          CV_RETURN_IF_ERROR(ReadInt(file, sub, full, out.max_active));
        } else if (key == "autogenerate" && sub_key == "dev_url") {
          CV_RETURN_IF_ERROR(ReadString(file, sub, full, out.dev_url));
        } else if (key == "lint" && sub_key == "large_table_rows") {
          CV_RETURN_IF_ERROR(ReadInt(file, sub, full, out.large_table_rows));
        } else {
          return Unknown(file, sub, full);
        }
      }
    } else {
      return Unknown(file, node, key);
    }
  }
  return out;
}

std::optional<std::string> NonEmpty(const std::optional<std::string>& value) {
  if (value && !value->empty()) return value;
  return std::nullopt;
}

// The first present value in precedence order.
template <typename T>
std::optional<T> FirstOf(std::initializer_list<std::optional<T>> candidates) {
  for (const auto& candidate : candidates) {
    if (candidate) return candidate;
  }
  return std::nullopt;
}

std::optional<std::string> FlagValue(const std::string& flag) {
  if (flag.empty()) return std::nullopt;
  return flag;
}

// Zeroes a variable's value in place: it then no longer shows in
// /proc/<pid>/environ or a core, and nothing after us can read it.
void WipeEnvironmentVariable(const char* name) {
  if (char* value = std::getenv(name)) sodium_memzero(value, std::strlen(value));
  unsetenv(name);
}

// The text configured for a key: a flag's or the config file's value, or
// the environment variable (its index-th comma-separated entry for
// SECRET_KEY_FALLBACKS). A path names a key file; a source form (exec:,
// file:, wrapped:, or in the environment a literal key) is kept as text.
StatusOr<SecretBytes> ReadSourceText(const KeySource& source) {
  if (source.kind == KeySource::Kind::kFile) {
    CV_ASSIGN_OR_RETURN(crypto::ParsedKeySource parsed, crypto::ParseKeySource(source.location));
    if (parsed.kind == crypto::KeySourceKind::kLiteral) return SecretBytes::FromString("file:" + source.location);
    return SecretBytes::FromString(source.location);
  }
  const char* value = std::getenv(source.location.c_str());
  if (value == nullptr) return NotFoundError(source.Describe() + " is not set");
  if (source.location == "SECRET_KEY") return SecretBytes::FromString(value);
  // SECRET_KEY_FALLBACKS: the index-th comma-separated entry.
  std::string_view all(value);
  for (std::size_t i = 0; i < source.index; ++i) {
    auto comma = all.find(',');
    if (comma == std::string_view::npos) return NotFoundError(source.Describe() + " is missing");
    all.remove_prefix(comma + 1);
  }
  return SecretBytes::FromString(all.substr(0, all.find(',')));
}

// The key text of one configured key, its source resolved (a file read, a
// command run, a wrapped key unwrapped), and where it came from for `keys`.
StatusOr<KeySpec> ReadKey(const KeySource& source, const KeySourceOptions& options) {
  CV_ASSIGN_OR_RETURN(SecretBytes text, ReadSourceText(source));
  CV_ASSIGN_OR_RETURN(crypto::ParsedKeySource parsed, crypto::ParseKeySource(text.view()));
  std::string described = source.Describe();
  if (source.kind == KeySource::Kind::kEnvironment && parsed.kind != crypto::KeySourceKind::kLiteral) {
    described += " (" + crypto::DescribeKeySource(parsed) + ")";
  } else if (parsed.kind == crypto::KeySourceKind::kExec || parsed.kind == crypto::KeySourceKind::kWrapped) {
    described = crypto::DescribeKeySource(parsed);
  }
  auto resolved = ResolveKeySource(text, options);
  if (!resolved.ok() && (parsed.kind == crypto::KeySourceKind::kExec || parsed.kind == crypto::KeySourceKind::kWrapped)) {
    const Status& error = resolved.status();
    return Status(error.code(), described + ": " + error.message(), error.reason());
  }
  if (!resolved.ok()) return resolved.status();
  return KeySpec{std::move(resolved).value(), described};
}

// Copies a numeric setting read from the config file into `target` when it
// is within [minimum, maximum]; outside, an error naming file and setting.
template <typename T>
Status ApplyBounded(const std::string& config_file, const std::string& name, const std::optional<std::int64_t>& value,
                    long long minimum, long long maximum, T& target) {
  if (!value) return Status::Ok();
  if (*value < minimum || *value > maximum) {
    return InvalidArgumentError(config_file + ": " + name + " must be between " + std::to_string(minimum) + " and " +
                                std::to_string(maximum));
  }
  target = static_cast<T>(*value);
  return Status::Ok();
}

}  // namespace

std::string KeySource::Describe() const {
  if (kind == Kind::kFile) {
    auto parsed = crypto::ParseKeySource(location);
    if (parsed.ok() && parsed->kind != crypto::KeySourceKind::kLiteral) return crypto::DescribeKeySource(*parsed);
    return "key file " + location;
  }
  if (location == "SECRET_KEY_FALLBACKS") return "SECRET_KEY_FALLBACKS entry " + std::to_string(index + 1);
  return "environment variable " + location;
}

std::string KeyVariableShape(std::string_view value) {
  std::string shape;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == ',') {
      shape += ',';
    } else if (i == 0 || value[i - 1] == ',') {
      shape += '*';
    }
  }
  return shape;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    // A key variable's value is never copied into a std::string (freed
    // unzeroed): the settings need only whether it is set and how many
    // entries it has; the key itself is read into SecretBytes by LoadKeyring.
    if (name == "SECRET_KEY" || name == "SECRET_KEY_FALLBACKS" || name == "CREDVAULT_PKCS11_PIN") {
      return KeyVariableShape(value);
    }
    return std::string(value);
  };
}

namespace {

// Which config file: --config > CREDVAULT_CONFIG > ./credvault.toml if
// present; "" = none.
std::string ChooseConfigFile(const GlobalFlags& flags, const EnvLookup& env) {
  if (!flags.config_file.empty()) return flags.config_file;
  if (auto from_env = NonEmpty(env("CREDVAULT_CONFIG"))) return *from_env;
  if (fs::exists("credvault.toml")) return "credvault.toml";
  return "";
}

// The database URLs (database_url, direct_url, dev_url), normalized.
Status ResolveUrls(const GlobalFlags& flags, const EnvLookup& env, const FileSettings& file, Settings& settings) {
  auto url = FirstOf<std::string>({FlagValue(flags.database_url), NonEmpty(env("DATABASE_URL")), file.database_url});
  if (url) {
    auto normalized = db::NormalizeDatabaseUrl(*url);
    if (!normalized.ok()) return normalized.status().Annotate("DATABASE_URL");
    settings.database_url = *normalized;
  }
  if (auto direct = FirstOf<std::string>(
          {FlagValue(flags.direct_url), NonEmpty(env("CREDVAULT_DIRECT_URL")), file.direct_url})) {
    auto normalized = db::NormalizeDatabaseUrl(*direct);
    if (!normalized.ok()) return normalized.status().Annotate("direct_url");
    settings.direct_url = *normalized;
  }
  if (auto dev = FirstOf<std::string>({FlagValue(flags.dev_url), NonEmpty(env("CREDVAULT_DEV_URL")), file.dev_url})) {
    auto normalized = db::NormalizeDatabaseUrl(*dev);
    if (!normalized.ok()) return normalized.status().Annotate("dev_url");
    settings.dev_url = *normalized;
  }
  return Status::Ok();
}

// Migrations folder, environment, log format and metrics file.
Status ResolveGeneral(const GlobalFlags& flags, const EnvLookup& env, const FileSettings& file, Settings& settings) {
  if (auto dir = FirstOf<std::string>({FlagValue(flags.migrations_dir), NonEmpty(env("CREDVAULT_MIGRATIONS_DIR")),
                                       file.migrations_dir})) {
    settings.migrations_dir = *dir;
  } else if (fs::is_directory("migrations")) {
    settings.migrations_dir = "migrations";
  } else {
    settings.migrations_dir = CREDVAULT_INSTALLED_MIGRATIONS;
  }

  if (auto environment = FirstOf<std::string>({FlagValue(flags.environment), NonEmpty(env("CREDVAULT_ENV")),
                                               file.environment})) {
    CV_ASSIGN_OR_RETURN(settings.environment, ParseEnvironment(*environment));
  }

  if (auto format = FirstOf<std::string>({FlagValue(flags.log_format), NonEmpty(env("CREDVAULT_LOG_FORMAT")),
                                          file.log_format})) {
    if (*format != "text" && *format != "json") {
      return InvalidArgumentError("log format must be text or json; got '" + *format + "'");
    }
    settings.log_format = *format;
  }

  if (auto metrics = FirstOf<std::string>({FlagValue(flags.metrics_file), NonEmpty(env("CREDVAULT_METRICS_FILE")),
                                           file.metrics_file})) {
    settings.metrics_file = *metrics;
  }
  return Status::Ok();
}

// The config file's bounded numbers (lock timeouts, batch size, workers, lint
// threshold) and its schema file.
Status ResolveLimits(const std::string& config_file, const FileSettings& file, Settings& settings) {
  CV_RETURN_IF_ERROR(ApplyBounded(config_file, "migrate.lock_timeout", file.lock_timeout, 0, kMaxWaitSeconds,
                                  settings.lock_timeout_seconds));
  CV_RETURN_IF_ERROR(ApplyBounded(config_file, "jobs.batch_size", file.batch_size, 1, kMaxBatchSize, settings.batch_size));
  CV_RETURN_IF_ERROR(ApplyBounded(config_file, "jobs.workers", file.workers, 0, kMaxWorkers, settings.workers));
  CV_RETURN_IF_ERROR(ApplyBounded(config_file, "jobs.lock_wait", file.lock_wait, 0, kMaxWaitSeconds,
                                  settings.job_lock_wait_seconds));
  CV_RETURN_IF_ERROR(ApplyBounded(config_file, "lint.large_table_rows", file.large_table_rows, 0,
                                  std::numeric_limits<long long>::max(), settings.lint_large_table_rows));
  if (file.schema_file) settings.schema_file = *file.schema_file;
  return Status::Ok();
}

// The row-job throttles of the config file ([jobs]); the job commands' flags
// override them later (ApplyThrottleFlags).
Status ResolveThrottles(const std::string& config_file, const FileSettings& file, Settings& settings) {
  // Throttles: a number in range, or not set (0 / -1: off).
  auto positive = [&config_file](const char* name, const std::optional<double>& value, double maximum,
                                 double& target) -> Status {
    if (!value) return Status::Ok();
    if (!(*value > 0 && *value <= maximum)) {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", maximum);
      return InvalidArgumentError(config_file + ": " + name + " must be a number above 0 and at most " + limit);
    }
    target = *value;
    return Status::Ok();
  };
  CV_RETURN_IF_ERROR(positive("jobs.max_rate", file.max_rate, kMaxRowsPerSecond, settings.throttle.max_rate));
  CV_RETURN_IF_ERROR(positive("jobs.max_replica_lag", file.max_replica_lag, static_cast<double>(kMaxWaitSeconds),
                              settings.throttle.max_replica_lag));
  CV_RETURN_IF_ERROR(ApplyBounded(config_file, "jobs.max_active", file.max_active, 0, kMaxActiveSessions,
                                  settings.throttle.max_active));
  // (max_latency = 0 is allowed: it says "flat out", also in production.)
  double max_latency_ms = 0;
  if (!(file.max_latency && *file.max_latency == 0)) {
    CV_RETURN_IF_ERROR(positive("jobs.max_latency", file.max_latency, kMaxLatencyMilliseconds, max_latency_ms));
  }
  settings.throttle.max_latency = max_latency_ms / 1000;
  settings.throttle.max_latency_auto = file.max_latency_auto;
  settings.max_latency_configured = file.max_latency.has_value() || file.max_latency_auto;
  if (file.replica_urls) {
    for (const auto& url : *file.replica_urls) {
      auto normalized = db::NormalizeDatabaseUrl(url);
      if (!normalized.ok()) return normalized.status().Annotate(config_file + ": jobs.replica_urls");
      settings.throttle.replica_conninfos.push_back(*normalized);
    }
    if (!settings.throttle.replica_conninfos.empty() && settings.throttle.max_replica_lag <= 0) {
      return InvalidArgumentError(config_file + ": jobs.replica_urls needs jobs.max_replica_lag (the lag to hold them to)");
    }
  }
  return Status::Ok();
}

// Where the primary and fallback keys come from (not the keys themselves).
Status ResolveKeySources(const GlobalFlags& flags, const EnvLookup& env, const FileSettings& file, Settings& settings) {
  // Keys: primary and fallbacks each from their highest-precedence source.
  if (!flags.key_files.empty()) {
    if (flags.key_files.size() > 1) return InvalidArgumentError("--key-file given more than once; use --fallback-key-file for older keys", reason::kUsage);
    settings.primary_key = KeySource{KeySource::Kind::kFile, flags.key_files.front()};
  } else if (NonEmpty(env("SECRET_KEY"))) {
    settings.primary_key = KeySource{KeySource::Kind::kEnvironment, "SECRET_KEY"};
  } else if (file.primary_file) {
    settings.primary_key = KeySource{KeySource::Kind::kFile, *file.primary_file};
  }
  if (!flags.fallback_key_files.empty()) {
    for (const auto& path : flags.fallback_key_files) settings.fallback_keys.push_back({KeySource::Kind::kFile, path});
  } else if (auto fallbacks = NonEmpty(env("SECRET_KEY_FALLBACKS"))) {
    std::size_t count = 1;
    for (char c : *fallbacks) count += (c == ',');
    for (std::size_t i = 0; i < count; ++i) {
      settings.fallback_keys.push_back({KeySource::Kind::kEnvironment, "SECRET_KEY_FALLBACKS", i});
    }
  } else if (file.fallback_files) {
    for (const auto& path : *file.fallback_files) settings.fallback_keys.push_back({KeySource::Kind::kFile, path});
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Settings> ResolveSettings(const GlobalFlags& flags, const EnvLookup& env) {
  Settings settings;
  const std::string config_file = ChooseConfigFile(flags, env);
  FileSettings file;
  if (!config_file.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(config_file, ec)) {
      return NotFoundError("config file " + config_file + " does not exist or is not a file");
    }
    CV_ASSIGN_OR_RETURN(file, ReadConfigFile(config_file));
    settings.config_file = config_file;
  }
  CV_RETURN_IF_ERROR(ResolveUrls(flags, env, file, settings));
  CV_RETURN_IF_ERROR(ResolveGeneral(flags, env, file, settings));
  CV_RETURN_IF_ERROR(ResolveLimits(config_file, file, settings));
  CV_RETURN_IF_ERROR(ResolveThrottles(config_file, file, settings));
  CV_RETURN_IF_ERROR(ResolveKeySources(flags, env, file, settings));
  return settings;
}

KeySourceOptions KeySourceOptionsFromEnvironment() {
  // The PIN is wiped from the environment when first read; kept here for a
  // second use in the same run.
  static SecretBytes* pin = nullptr;
  if (pin == nullptr) {
    const char* value = std::getenv("CREDVAULT_PKCS11_PIN");
    pin = new SecretBytes(value != nullptr ? SecretBytes::FromString(value) : SecretBytes());
    WipeEnvironmentVariable("CREDVAULT_PKCS11_PIN");
  }
  KeySourceOptions options;
  if (const char* module = std::getenv("CREDVAULT_PKCS11_MODULE")) options.pkcs11_module = module;
  options.pkcs11_pin = pin->Clone();
  return options;
}

StatusOr<Keyring> LoadKeyring(const Settings& settings) {
  if (!settings.primary_key) {
    return InvalidArgumentError(
        "no encryption key configured: give --key-file FILE, set SECRET_KEY, or set [keys] primary_file in "
        "credvault.toml (create a key with `credvault keygen --out FILE`)",
        reason::kNoKey);
  }
  const KeySourceOptions options = KeySourceOptionsFromEnvironment();
  std::vector<KeySpec> fallbacks;
  KeySpec primary;
  {
    auto key = ReadKey(*settings.primary_key, options);
    if (!key.ok()) return key.status().Annotate("primary key");
    primary = std::move(key).value();
  }
  for (const auto& source : settings.fallback_keys) {
    auto key = ReadKey(source, options);
    if (!key.ok()) return key.status().Annotate("fallback key");
    fallbacks.push_back(std::move(key).value());
  }
  WipeEnvironmentVariable("SECRET_KEY");
  WipeEnvironmentVariable("SECRET_KEY_FALLBACKS");
  return Keyring::Create(std::move(primary), std::move(fallbacks));
}

}  // namespace credvault::cli
