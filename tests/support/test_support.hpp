// Shared helpers for credvault tests: run the CLI binary, temporary
// directories, and a throwaway PostgreSQL database per test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "credvault/keyring.hpp"
#include "db/connection.hpp"

namespace credvault::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built `credvault` binary with `args`. `env` entries are added to
// (or, with a nullopt value, removed from) a scrubbed copy of this process's
// environment: SECRET_KEY, SECRET_KEY_FALLBACKS, CREDVAULT_* and DATABASE_URL
// are removed unless given. `stdin_data` is written to its standard input.
CliResult RunCli(const std::vector<std::string>& args,
                 const std::map<std::string, std::optional<std::string>>& env = {},
                 const std::string& stdin_data = "", const std::string& cwd = "");

// A CLI process started in the background (for concurrency and kill tests).
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const std::map<std::string, std::optional<std::string>>& env = {});
  ~CliProcess();
  pid_t pid() const { return pid_; }
  // Waits for exit and returns its result.
  CliResult Wait();
  // Sends `signal` (e.g. SIGKILL) and waits.
  CliResult Kill(int signal);
  // Waits (up to `timeout_s`) until the running process has written `needle`
  // to stderr; false if it did not (or exited first). For tests that must
  // act at a point the process reports, not after a guessed sleep.
  bool WaitForStderr(const std::string& needle, int timeout_s = 60) const;

 private:
  pid_t pid_ = -1;
  std::string dir_, out_path_, err_path_;
  bool waited_ = false;
};

// True in the AddressSanitizer build (CREDVAULT_SANITIZE), where every
// process runs several times slower: the long fault and volume tests use
// fewer rows and fewer kill points there. The default build runs them whole;
// what ASan adds is memory checking of the same code paths, not more of them.
constexpr bool kSanitizedBuild =
#ifdef CREDVAULT_TEST_SANITIZED
    true;
#else
    false;
#endif

// Polls `done` every 10 ms until it holds (true) or `limit` has passed
// (then whether it holds at last).
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(20));

// Path of the built CLI and of the source tree.
std::string CliPath();
std::string SourceDir();
std::string TestDataDir();

// A fresh directory under /tmp, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name with `mode`, returns the full path.
  std::string WriteFile(const std::string& name, const std::string& content, int mode = 0600) const;

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

// A new, empty database on the test server (from DATABASE_URL, else libpq's
// PG* variables), dropped on destruction. If no server answers, the test
// FAILS: database tests are never skipped.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }    // a libpq URL for the CLI (DATABASE_URL)
  const std::string& name() const { return name_; }
  // A new connection to this database (REQUIREs success).
  std::unique_ptr<db::Connection> Connect() const;
  // Runs `sql` with `params` on a session of this object's own and returns the rows (REQUIREs
  // success). Sessions are reused, one per concurrent caller: polling loops query every few
  // milliseconds, and a new server process per poll cost the suite more CPU than the jobs it
  // watched. A session that has ended (a server restart, a test's pg_terminate_backend) is
  // replaced by a new one and the statement sent again. Nothing session-scoped (SET, advisory
  // locks, temporary tables) belongs in Query: use Connect() for that.
  db::Rows Query(const std::string& sql, const db::Params& params = {}) const;
  // Environment for RunCli: DATABASE_URL=url().
  std::map<std::string, std::optional<std::string>> Env() const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
  mutable std::mutex idle_mutex_;
  mutable std::vector<std::unique_ptr<db::Connection>> idle_;  // Query's sessions between calls
};

// A fresh random key in the `base64:` form keygen prints.
std::string NewBase64Key();

// A keyring of key texts (REQUIREs that they are valid).
Keyring MakeKeyring(const std::string& primary, const std::vector<std::string>& fallbacks = {},
                    Algorithm algorithm = Algorithm::kXChaCha20Poly1305);

}  // namespace credvault::testing
