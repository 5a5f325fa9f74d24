#include "cli/command.hpp"

#include <unistd.h>

#include <charconv>
#include <iostream>

#include "common/status_macros.hpp"
#include "db/connection_target.hpp"

namespace credvault::cli {

StatusOr<Keyring> CommandContext::keyring() {
  if (!keyring_) {
    CV_ASSIGN_OR_RETURN(Keyring ring, LoadKeyring(settings_));
    keyring_ = std::move(ring);
    for (const auto& key : keyring_->keys()) {
      logger_->debug("key {} ({}) from {}", key.kid, key.primary ? "primary" : "fallback", key.source);
    }
  }
  return *keyring_;
}

std::string CommandContext::DatabaseTarget() const { return db::DescribeConnection(settings_.database_url); }

StatusOr<std::unique_ptr<db::Connection>> CommandContext::Connect(const std::string& purpose) const {
  auto conn = db::Connection::Open(settings_.database_url, purpose);
  if (!conn.ok()) return conn.status().Annotate("cannot connect to " + DatabaseTarget());
  return conn;
}

bool CommandContext::Confirm(const std::string& question, bool yes_flag) const {
  if (yes_flag) return true;
  if (!isatty(STDIN_FILENO)) return false;
  std::cerr << question << " Type 'yes' to continue: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

bool CommandContext::StdoutIsTty() { return isatty(STDOUT_FILENO) != 0; }
bool CommandContext::StderrIsTty() { return isatty(STDERR_FILENO) != 0; }

const CommandRunner* CommandTable::Selected(const CLI::App& app) const {
  for (const CLI::App* sub : app.get_subcommands()) {
    // Nested commands (`env set`, `keys retire`): the innermost one with a
    // runner wins over its parent's.
    if (const CommandRunner* nested = Selected(*sub)) return nested;
    auto it = runners_.find(sub);
    if (it != runners_.end()) return &it->second;
  }
  return nullptr;
}

std::string CommandTable::SelectedName(const CLI::App& app) const {
  for (const CLI::App* sub : app.get_subcommands()) {
    if (runners_.count(sub)) return sub->get_name();
    std::string nested = SelectedName(*sub);
    if (!nested.empty()) return sub->get_name() + " " + nested;
  }
  return "";
}

CLI::Validator WholeNumber(long long minimum, long long maximum) {
  const std::string range = std::to_string(minimum) + " to " + std::to_string(maximum);
  return CLI::Validator(
      [minimum, maximum, range](std::string& text) -> std::string {
        long long value = 0;
        const char* end = text.data() + text.size();
        auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc() || stop != end || value < minimum || value > maximum) {
          return "'" + text + "' is not a whole number from " + range;
        }
        return {};
      },
      "[" + std::to_string(minimum) + " - " + std::to_string(maximum) + "]");
}

}  // namespace credvault::cli
