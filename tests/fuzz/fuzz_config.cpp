// Arbitrary bytes as credvault.toml, through the whole settings resolution
// (TOML parse, known keys and types, ranges). Bad files are errors, never
// crashes; accepted ones hold values inside their documented ranges.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/settings.hpp"

namespace {

const std::string& ConfigPath() {
  static const std::string path = [] {
    char name[] = "/tmp/fuzz_config_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    static std::string removed_at_exit;
    removed_at_exit = name;
    std::atexit([] { unlink(removed_at_exit.c_str()); });
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(ConfigPath().c_str(), "wb");
  if (file == nullptr || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) std::abort();
  credvault::cli::GlobalFlags flags;
  flags.config_file = ConfigPath();
  auto settings = credvault::cli::ResolveSettings(flags, [](const std::string&) { return std::optional<std::string>(); });
  if (!settings.ok()) {
    if (settings.status().message().empty()) std::abort();
    return 0;
  }
  const auto& s = *settings;
  // Whatever text came in, it was parsed into one of the three values.
  const std::string name = credvault::EnvironmentName(s.environment);
  if (!credvault::ParseEnvironment(name).ok()) std::abort();
  if (s.log_format != "text" && s.log_format != "json") std::abort();
  if (s.batch_size < 1 || s.batch_size > 1000000 || s.workers > 256) std::abort();
  if (s.lock_timeout_seconds < 0 || s.job_lock_wait_seconds < 0 || s.job_lock_wait_seconds > 86400) std::abort();
  return 0;
}
