#include "support/test_support.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "db/database_url.hpp"

extern char** environ;

namespace credvault::testing {
namespace {

std::string RandomSuffix() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str();
}

bool ScrubbedByDefault(const std::string& name) {
  return name == "SECRET_KEY" || name == "SECRET_KEY_FALLBACKS" || name == "DATABASE_URL" ||
         name.rfind("CREDVAULT_", 0) == 0;
}

}  // namespace

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

std::string CliPath() { return CREDVAULT_CLI_PATH; }
std::string SourceDir() { return CREDVAULT_SOURCE_DIR; }
std::string TestDataDir() { return CREDVAULT_TEST_DATA_DIR; }

namespace {

// Forks and execs the CLI with stdin/stdout/stderr redirected to files.
pid_t SpawnCli(const std::vector<std::string>& args, const std::map<std::string, std::optional<std::string>>& env,
               const std::string& in_path, const std::string& out_path, const std::string& err_path,
               const std::string& cwd) {
  std::map<std::string, std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (ScrubbedByDefault(name)) continue;
    environment[name] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : env) {
    if (value) environment[name] = *value; else environment.erase(name);
  }
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : environment) env_strings.push_back(name + "=" + value);
  std::vector<std::string> arg_copies = args;
  std::string cli = CliPath();
  std::vector<char*> argv{cli.data()};
  for (auto& a : arg_copies) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0); dup2(out, 1); dup2(err, 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(cli.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

CliResult Collect(pid_t pid, const std::string& out_path, const std::string& err_path) {
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

}  // namespace

CliResult RunCli(const std::vector<std::string>& args, const std::map<std::string, std::optional<std::string>>& env,
                 const std::string& stdin_data, const std::string& cwd) {
  // Files, not pipes, for stdout/stderr: no deadlock on large outputs.
  TempDir io;
  std::string out_path = io.path() + "/out", err_path = io.path() + "/err", in_path = io.WriteFile("in", stdin_data);
  pid_t pid = SpawnCli(args, env, in_path, out_path, err_path, cwd);
  REQUIRE(pid > 0);
  return Collect(pid, out_path, err_path);
}

CliProcess::CliProcess(const std::vector<std::string>& args,
                       const std::map<std::string, std::optional<std::string>>& env) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "credvault-proc-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  dir_ = tmpl;
  out_path_ = dir_ + "/out";
  err_path_ = dir_ + "/err";
  pid_ = SpawnCli(args, env, "/dev/null", out_path_, err_path_, "");
  REQUIRE(pid_ > 0);
}

CliProcess::~CliProcess() {
  if (!waited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

CliResult CliProcess::Wait() {
  waited_ = true;
  return Collect(pid_, out_path_, err_path_);
}

bool CliProcess::WaitForStderr(const std::string& needle, int timeout_s) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ReadFile(err_path_).find(needle) != std::string::npos) return true;
    siginfo_t exited{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &exited, WEXITED | WNOHANG | WNOWAIT) == 0 && exited.si_pid == pid_) {
      return ReadFile(err_path_).find(needle) != std::string::npos;
    }
    usleep(20 * 1000);
  }
  return false;
}

CliResult CliProcess::Kill(int signal) {
  kill(pid_, signal);
  return Wait();
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "credvault-test-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::WriteFile(const std::string& name, const std::string& content, int mode) const {
  std::string full = path_ + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path());
  int fd = open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  REQUIRE(fd >= 0);
  REQUIRE(fchmod(fd, static_cast<mode_t>(mode)) == 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  return full;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TestDatabase::TestDatabase() {
  const char* url = std::getenv("DATABASE_URL");
  auto normalized = db::NormalizeDatabaseUrl(url ? url : "");
  REQUIRE(normalized.ok());
  admin_url_ = *normalized;
  auto admin = db::Connection::Open(admin_url_, "credvault-tests");
  if (!admin.ok()) {
    FAIL("no PostgreSQL server for the database tests (run them through scripts/with-postgres.sh): "
         << admin.status().ToString());
  }
  name_ = "cvtest_" + RandomSuffix();
  REQUIRE((*admin)->Exec("CREATE DATABASE " + db::QuoteIdentifier(name_)).ok());
  // Same server and credentials, other database.
  if (admin_url_.rfind("postgresql://", 0) == 0) {
    auto authority_end = admin_url_.find_first_of("/?", std::strlen("postgresql://"));
    std::string base = admin_url_.substr(0, authority_end);
    std::string query;
    if (authority_end != std::string::npos) {
      auto q = admin_url_.find('?', authority_end);
      if (q != std::string::npos) query = admin_url_.substr(q);
    }
    url_ = base + "/" + name_ + query;
  } else {
    // key=value or empty (PG* variables): a later dbname wins in libpq.
    url_ = (admin_url_.empty() ? "" : admin_url_ + " ") + "dbname=" + name_;
  }
}

TestDatabase::~TestDatabase() {
  if (name_.empty()) return;
  idle_.clear();
  auto admin = db::Connection::Open(admin_url_, "credvault-tests");
  if (!admin.ok()) return;
  (void)(*admin)->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                       {name_});
  (void)(*admin)->Exec("DROP DATABASE IF EXISTS " + db::QuoteIdentifier(name_));
}

std::unique_ptr<db::Connection> TestDatabase::Connect() const {
  auto conn = db::Connection::Open(url_, "credvault-tests");
  if (!conn.ok()) FAIL("cannot connect to the test database: " << conn.status().ToString());
  return std::move(conn).value();
}

db::Rows TestDatabase::Query(const std::string& sql, const db::Params& params) const {
  for (;;) {
    std::unique_ptr<db::Connection> conn;
    {
      std::lock_guard<std::mutex> lock(idle_mutex_);
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    const bool reused = conn != nullptr;
    if (!reused) conn = Connect();
    auto rows = conn->Query(sql, params);
    // A reused session the server has ended since its last use: once more, on a new one.
    if (!rows.ok() && reused && !conn->is_open()) continue;
    if (!rows.ok()) FAIL("query failed: " << rows.status().ToString() << "\n" << sql);
    if (conn->is_open()) {
      std::lock_guard<std::mutex> lock(idle_mutex_);
      idle_.push_back(std::move(conn));
    }
    return std::move(rows).value();
  }
}

std::map<std::string, std::optional<std::string>> TestDatabase::Env() const { return {{"DATABASE_URL", url_}}; }

std::string NewBase64Key() {
  unsigned char key[32];
  REQUIRE(sodium_init() >= 0);
  randombytes_buf(key, sizeof key);
  char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
  return std::string("base64:") + b64;
}

Keyring MakeKeyring(const std::string& primary, const std::vector<std::string>& fallbacks, Algorithm algorithm) {
  std::vector<KeySpec> specs;
  for (const auto& text : fallbacks) specs.push_back(KeySpec{SecretBytes::FromString(text), "fallback"});
  auto ring = Keyring::Create(KeySpec{SecretBytes::FromString(primary), "primary"}, std::move(specs), algorithm);
  REQUIRE(ring.ok());
  return *ring;
}

}  // namespace credvault::testing
