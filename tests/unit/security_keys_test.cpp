// Security review items 6 and 9 (SECURITY.md, "Security review (2026-12)"):
// exec: helpers (a hard deadline, an allowlisted environment) and key files
// (owner, FIFOs, a wrapped: file's module-path).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "credvault/key_source.hpp"
#include "crypto/key_file.hpp"
#include "crypto/wrapped_key.hpp"
#include "support/softhsm.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

StatusOr<SecretBytes> Resolve(const std::string& text, const KeySourceOptions& options = {}) {
  return ResolveKeySource(SecretBytes::FromString(text), options);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Alive and not a zombie (a container's init may never reap an orphan).
bool Running(pid_t pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  if (!stat_file.good() && text.empty()) return false;
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  const char state = text[paren + 2];
  return state != 'Z' && state != 'X';
}

// Reads `path` through ReadKeyFile on another thread; the status message, or
// nullopt when it was still blocked after 2 s (it is then unblocked by
// opening the FIFO for writing, so that the test ends).
std::optional<std::string> ReadKeyFileWithin2s(const std::string& path) {
  auto reading = std::async(std::launch::async, [path] {
    auto read = crypto::ReadKeyFile(path);
    return read.ok() ? std::string("accepted") : read.status().message();
  });
  if (reading.wait_for(std::chrono::seconds(2)) == std::future_status::ready) return reading.get();
  const int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK);
  if (fd >= 0) close(fd);
  reading.wait();
  return std::nullopt;
}

}  // namespace

// --- 6. exec: helpers --------------------------------------------------------

TEST_CASE("exec: a helper that closed its pipes is killed at its deadline, with its children", "[seckeys][exec]") {
  KeySourceOptions options;
  options.exec_timeout_seconds = 1;
  TempDir dir;
  const std::string pid_file = dir.path() + "/grandchild.pid";
  // Helper and grandchild close stdout and stderr, then outlive the deadline.
  const auto start = std::chrono::steady_clock::now();
  auto held = Resolve("exec:(exec >&- 2>&-; sleep 8) & echo $! > '" + pid_file + "'; exec >&- 2>&-; sleep 5", options);
  const double seconds = SecondsSince(start);
  REQUIRE_FALSE(held.ok());
  CHECK(held.status().message().find("did not finish within 1 s") != std::string::npos);
  CHECK(seconds < 3);
  const pid_t grandchild = std::atoi(ReadFile(pid_file).c_str());
  REQUIRE(grandchild > 0);
  for (int i = 0; i < 40 && Running(grandchild); ++i) usleep(50 * 1000);
  CHECK_FALSE(Running(grandchild));
}

TEST_CASE("exec: the helper's environment holds no database URL or password", "[seckeys][exec]") {
  setenv("DATABASE_URL", "postgresql://app:HUNTER2-url@db/app", 1);
  setenv("CREDVAULT_DIRECT_URL", "postgresql://app:HUNTER2-direct@db/app", 1);
  setenv("PGPASSWORD", "HUNTER2-pg", 1);
  setenv("PGUSER", "app", 1);
  setenv("AWS_REGION", "eu-west-1", 1);
  setenv("VAULT_ADDR", "https://vault.example:8200", 1);
  setenv("CREDVAULT_KEY_ID", "primary", 1);
  const std::string key = NewBase64Key();
  TempDir dir;
  const std::string env_file = dir.path() + "/env";
  auto resolved = Resolve("exec:env > '" + env_file + "'; echo '" + key + "'");
  auto failed = Resolve("exec:env >&2; exit 1");
  for (const char* name : {"DATABASE_URL", "CREDVAULT_DIRECT_URL", "PGPASSWORD", "PGUSER", "AWS_REGION", "VAULT_ADDR",
                           "CREDVAULT_KEY_ID"}) {
    unsetenv(name);
  }
  REQUIRE(resolved.ok());
  CHECK(resolved->Equals(key));
  const std::string seen = ReadFile(env_file);
  CHECK(seen.find("HUNTER2") == std::string::npos);
  std::istringstream lines(seen);
  std::set<std::string> names;
  for (std::string line; std::getline(lines, line);) names.insert(line.substr(0, line.find('=')));
  for (const std::string& name : names) {
    INFO(name);
    CHECK(name.rfind("PG", 0) != 0);
    CHECK(name != "DATABASE_URL");
  }
  for (const char* needed : {"PATH", "AWS_REGION", "VAULT_ADDR", "CREDVAULT_KEY_ID"}) CHECK(names.count(needed) == 1);
  // A failing helper's stderr is quoted: it cannot quote what it never had.
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message().find("HUNTER2") == std::string::npos);
}

// --- 9. Key files ---------------------------------------------------------------

TEST_CASE("key files: one owned by another user is refused", "[seckeys][keyfile]") {
  if (geteuid() != 0) {
    WARN("not root: cannot chown a file to another user; skipped");
    return;
  }
  const std::string key = NewBase64Key();
  TempDir dir;
  const std::string path = dir.WriteFile("foreign.key", key + "\n");
  REQUIRE(Resolve("file:" + path).ok());
  REQUIRE(chown(path.c_str(), 65534, 65534) == 0);  // nobody
  auto foreign = Resolve("file:" + path);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.status().code() == StatusCode::kPermissionDenied);
  CHECK(foreign.status().message().find("owned by uid 65534") != std::string::npos);
  CHECK(crypto::ReadKeyFile(path).status().code() == StatusCode::kPermissionDenied);
}

TEST_CASE("key files: a FIFO is refused without blocking", "[seckeys][keyfile]") {
  TempDir dir;
  const std::string path = dir.path() + "/fifo.key";
  REQUIRE(mkfifo(path.c_str(), 0600) == 0);
  const auto message = ReadKeyFileWithin2s(path);
  REQUIRE(message.has_value());  // nullopt: the open blocked
  CHECK(message->find("not a regular file") != std::string::npos);
}

TEST_CASE("key files: a symlink is followed and its target checked", "[seckeys][keyfile]") {
  // How a Kubernetes secret volume looks: primary.key -> ..data/primary.key.
  const std::string key = NewBase64Key();
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/..data");
  const std::string target = dir.WriteFile("..data/primary.key", key + "\n");
  const std::string link = dir.path() + "/primary.key";
  REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
  auto followed = crypto::ReadKeyFile(link);
  REQUIRE(followed.ok());
  CHECK(followed->view().substr(0, key.size()) == key);
  chmod(target.c_str(), 0644);
  CHECK(crypto::ReadKeyFile(link).status().code() == StatusCode::kPermissionDenied);
}

TEST_CASE("wrapped: a module-path that is not absolute and root-owned is refused before any dlopen",
          "[seckeys][keyfile][hsm]") {
  const SoftHsm& hsm = SharedSoftHsm();
  KeySourceOptions options;  // no CREDVAULT_PKCS11_MODULE: the URI's module-path is the only one
  options.pkcs11_pin = SecretBytes::FromString(hsm.pin);
  TempDir dir;
  const std::string wrapped = dir.path() + "/primary.wrapped";
  REQUIRE(crypto::CreateWrappedKeyFile(wrapped, hsm.Uri("kek-a") + "?module-path=" + hsm.module, options).ok());
  REQUIRE(Resolve("wrapped:" + wrapped, options).ok());  // a root-owned module in root-owned folders

  const std::string text = ReadFile(wrapped);
  const std::size_t at = text.find(hsm.module);
  REQUIRE(at != std::string::npos);
  auto with_module = [&](const std::string& name, const std::string& module) {
    std::string changed = text;
    changed.replace(at, hsm.module.size(), module);
    return dir.WriteFile(name, changed);
  };
  // A copy of the real module that someone else could have replaced.
  const std::string copy = dir.path() + "/libsofthsm2.so";
  std::filesystem::copy_file(std::filesystem::canonical(hsm.module), copy);
  chmod(copy.c_str(), 0755);
  if (geteuid() == 0) REQUIRE(chown(copy.c_str(), 65534, 65534) == 0);
  const std::string shared = dir.path() + "/shared";
  std::filesystem::create_directory(shared);
  chmod(shared.c_str(), 0777);
  const std::string in_shared = shared + "/libsofthsm2.so";
  std::filesystem::copy_file(std::filesystem::canonical(hsm.module), in_shared);
  for (const auto& [file, module, expected] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"relative.wrapped", "libsofthsm2.so", "must be an absolute path"},
           {"foreign.wrapped", copy, "must be owned by root"},
           {"shared.wrapped", in_shared, "must be owned by root"}}) {
    INFO(file);
    auto refused = Resolve("wrapped:" + with_module(file, module), options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kPermissionDenied);
    CHECK(refused.status().message().find(expected) != std::string::npos);
  }
}

TEST_CASE("key files: the CLI refuses a FIFO and a foreign-owned key file with exit 3, without blocking",
          "[seckeys][keyfile][cli]") {
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo.key";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto running = std::async(std::launch::async, [&] { return RunCli({"--key-file", fifo, "keys"}); });
  const bool blocked = running.wait_for(std::chrono::seconds(5)) != std::future_status::ready;
  if (blocked) {  // unblock the CLI's open so that the test ends
    const int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) close(fd);
  }
  const CliResult result = running.get();
  CHECK_FALSE(blocked);
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("not a regular file") != std::string::npos);
  if (geteuid() == 0) {
    const std::string key = NewBase64Key();
    const std::string foreign = dir.WriteFile("foreign.key", key + "\n");
    REQUIRE(chown(foreign.c_str(), 65534, 65534) == 0);
    const CliResult refused = RunCli({"--key-file", foreign, "keys"});
    CHECK(refused.exit_code == 3);
    CHECK(refused.err.find("owned by uid 65534") != std::string::npos);
    CHECK(refused.err.find(key) == std::string::npos);
  }
}
