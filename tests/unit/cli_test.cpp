// The command line as users and other programs see it: help, usage errors,
// configuration errors and key handling, through the built binary.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "support/test_support.hpp"

using credvault::testing::RunCli;
using credvault::testing::TempDir;

namespace {

const char* const kCommands[] = {"migrate", "rollback", "current", "history", "status", "create",
                                 "stamp",   "reset",    "check",   "keygen",  "keys",   "encrypt",
                                 "decrypt", "rotate",   "verify",  "put",     "get"};

}  // namespace

TEST_CASE("--help works for the tool and every command", "[cli]") {
  auto top = RunCli({"--help"});
  CHECK(top.exit_code == 0);
  CHECK(top.out.find("--database-url") != std::string::npos);
  for (const char* command : kCommands) {
    INFO(command);
    CHECK(top.out.find(command) != std::string::npos);
    auto help = RunCli({command, "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find(command) != std::string::npos);
  }
}

TEST_CASE("usage errors exit 2", "[cli]") {
  CHECK(RunCli({"migrate", "--no-such-flag"}).exit_code == 2);
  CHECK(RunCli({"--no-such-flag", "current"}).exit_code == 2);
  CHECK(RunCli({"no-such-command"}).exit_code == 2);
  CHECK(RunCli({}).exit_code == 2);
  CHECK(RunCli({"--env", "prod", "current"}).exit_code == 2);
  CHECK(RunCli({"rotate", "--workers", "0"}).exit_code == 2);
  CHECK(RunCli({"get"}).exit_code == 2);  // --account is required
}

TEST_CASE("numeric options refuse fractions, words and out-of-range values in plain words", "[cli]") {
  const std::vector<std::vector<std::string>> bad = {
      {"get", "--account", "abc"},          {"get", "--account", "1.5"},
      {"put", "--account", "0"},            {"get", "--account", "2147483648"},
      {"rollback", "--steps", "0"},         {"migrate", "--lock-timeout", "-1"},
      {"encrypt", "--batch-size", "1e3"},   {"rotate", "--workers", "257"},
      {"migrate", "--lock-timeout", "99999999999999"}};
  for (const auto& args : bad) {
    INFO(args[0] << " " << args[1] << " " << args[2]);
    auto result = RunCli(args);
    CHECK(result.exit_code == 2);
    CHECK(result.err.find(args[1] + ": '" + args[2] + "' is not a whole number from ") != std::string::npos);
    CHECK(result.err.find("0.000000") == std::string::npos);  // CLI11's unreadable float range
  }
}

TEST_CASE("a bad config file exits 3 naming file and line", "[cli][config]") {
  TempDir dir;
  auto broken = dir.WriteFile("credvault.toml", "environment = \"staging\"\n[keys\nprimary_file = 1\n");
  auto result = RunCli({"--config", broken, "keys"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find(broken + ":2") != std::string::npos);

  auto unknown = dir.WriteFile("typo.toml", "environment = \"staging\"\n\n[keys]\nprimary_flie = \"a.key\"\n");
  result = RunCli({"--config", unknown, "keys"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find(unknown + ":4") != std::string::npos);
  CHECK(result.err.find("keys.primary_flie") != std::string::npos);

  auto bad_env = dir.WriteFile("env.toml", "environment = \"prod\"\n");
  CHECK(RunCli({"--config", bad_env, "keys"}).exit_code == 3);

  result = RunCli({"--config", dir.path() + "/missing.toml", "keys"});
  CHECK(result.exit_code == 3);

  // CREDVAULT_CONFIG is honoured the same way.
  result = RunCli({"keys"}, {{"CREDVAULT_CONFIG", broken}});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find(broken + ":2") != std::string::npos);
}

TEST_CASE("weak or malformed keys exit 3 without echoing the key", "[cli][keys]") {
  const std::string weak = "short-secret-key-31-bytes-long!";
  REQUIRE(weak.size() == 31);
  auto result = RunCli({"keys"}, {{"SECRET_KEY", weak}});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find(weak) == std::string::npos);
  CHECK(result.out.find(weak) == std::string::npos);

  result = RunCli({"keys"}, {{"SECRET_KEY", "base64:AAAA"}});
  CHECK(result.exit_code == 3);

  // No key at all: exit 3 with the ways to give one.
  result = RunCli({"keys"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("--key-file") != std::string::npos);
  CHECK(result.err.find("SECRET_KEY") != std::string::npos);
}

TEST_CASE("key files readable by group or other are refused", "[cli][keys]") {
  TempDir dir;
  auto key = credvault::testing::NewBase64Key();
  auto loose = dir.WriteFile("loose.key", key + "\n", 0644);
  auto result = RunCli({"--key-file", loose, "keys"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("chmod 600") != std::string::npos);
  CHECK(result.err.find(key) == std::string::npos);

  auto group = dir.WriteFile("group.key", key + "\n", 0640);
  CHECK(RunCli({"--key-file", group, "keys"}).exit_code == 3);
  auto fallback = dir.WriteFile("fallback.key", credvault::testing::NewBase64Key(), 0604);
  auto tight = dir.WriteFile("tight.key", key + "\n", 0600);
  CHECK(RunCli({"--key-file", tight, "--fallback-key-file", fallback, "keys"}).exit_code == 3);
}

TEST_CASE("keygen prints a key, or writes a 0600 file and refuses to overwrite", "[cli][keys]") {
  auto printed = RunCli({"keygen"});
  REQUIRE(printed.exit_code == 0);
  CHECK(printed.out.rfind("base64:", 0) == 0);
  CHECK(printed.out.size() == std::string("base64:").size() + 44 + 1);
  CHECK(RunCli({"keygen"}).out != printed.out);

  TempDir dir;
  const std::string path = dir.path() + "/new.key";
  auto written = RunCli({"keygen", "--out", path});
  REQUIRE(written.exit_code == 0);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string content = credvault::testing::ReadFile(path);
  CHECK(content.rfind("base64:", 0) == 0);
  CHECK(written.out.find(content.substr(7, 20)) == std::string::npos);  // the key is not echoed
  CHECK(written.err.find(content.substr(7, 20)) == std::string::npos);

  auto again = RunCli({"keygen", "--out", path});
  CHECK(again.exit_code == 5);
  CHECK(credvault::testing::ReadFile(path) == content);

  // The file it wrote is accepted as a key file.
  CHECK(RunCli({"--key-file", path, "keys", "--help"}).exit_code == 0);
}

TEST_CASE("global options are accepted after the command", "[cli]") {
  auto before = RunCli({"-q", "keygen"});
  auto after = RunCli({"keygen", "-q"});
  CHECK(before.exit_code == 0);
  CHECK(after.exit_code == 0);
  auto json = RunCli({"keys", "--log-format", "json"}, {{"SECRET_KEY", "too-short"}});
  CHECK(json.exit_code == 3);
  REQUIRE(!json.err.empty());
  CHECK(json.err.front() == '{');
  CHECK(json.err.find("\"level\":\"error\"") != std::string::npos);
}

TEST_CASE("an unreachable database exits 4 naming it, password hidden, with libpq's reason", "[cli]") {
  for (const char* command : {"status", "current", "history", "check"}) {
    INFO(command);
    auto result = RunCli({"--database-url", "postgresql://ops:Pw0rdHidden@127.0.0.1:1/ads", "--migrations-dir",
                          credvault::testing::SourceDir() + "/migrations", command});
    CHECK(result.exit_code == 4);
    CHECK(result.err.find("cannot connect to postgresql://ops:***@127.0.0.1:1/ads (host=127.0.0.1 port=1 dbname=ads "
                          "user=ops)") != std::string::npos);
    CHECK(result.err.find("refused") != std::string::npos);
    CHECK(result.err.find("connection lost") == std::string::npos);
    CHECK(result.err.find("Pw0rdHidden") == std::string::npos);
  }
}

TEST_CASE("--help shows --key-file as one FILE, and a second --key-file is a usage error pointing at the fallback",
          "[cli][keys]") {
  auto help = RunCli({"--help"});
  REQUIRE(help.exit_code == 0);
  CHECK(help.out.find("--key-file FILE ") != std::string::npos);
  CHECK(help.out.find("--key-file TEXT") == std::string::npos);
  CHECK(help.out.find("--key-file FILE ...") == std::string::npos);
  CHECK(help.out.find("--fallback-key-file FILE ...") != std::string::npos);  // that one is repeatable

  TempDir dir;
  auto key = dir.WriteFile("a.key", credvault::testing::NewBase64Key() + "\n");
  auto twice = RunCli({"--key-file", key, "--key-file", key, "keys"});
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("--key-file given more than once") != std::string::npos);
  CHECK(twice.err.find("--fallback-key-file") != std::string::npos);
}

TEST_CASE("without a database URL, connection errors name the host, port, database and user libpq used", "[cli]") {
  for (const char* command : {"status", "keys"}) {
    INFO(command);
    auto result = RunCli({"--migrations-dir", credvault::testing::SourceDir() + "/migrations", command},
                         {{"PGHOST", "127.0.0.1"}, {"PGPORT", "1"}, {"PGDATABASE", "ads"}, {"PGUSER", "ops"},
                          {"PGPASSWORD", "Pw0rdHidden"}, {"PGSERVICE", std::nullopt},
                          {"SECRET_KEY", credvault::testing::NewBase64Key()}});
    CHECK(result.exit_code == 4);
    CHECK(result.err.find("cannot connect to host=127.0.0.1 port=1 dbname=ads user=ops (from the PG* variables and "
                          "libpq's defaults)") != std::string::npos);
    CHECK(result.err.find("libpq defaults:") == std::string::npos);
    CHECK(result.err.find("Pw0rdHidden") == std::string::npos);
  }
  // A URL that leaves things out: the rest comes from the PG* variables, as libpq does it.
  auto partial = RunCli({"--database-url", "postgresql:///ads", "--migrations-dir",
                         credvault::testing::SourceDir() + "/migrations", "status"},
                        {{"PGHOST", "127.0.0.1"}, {"PGPORT", "1"}, {"PGUSER", "ops"}, {"PGSERVICE", std::nullopt}});
  CHECK(partial.exit_code == 4);
  CHECK(partial.err.find("cannot connect to postgresql:///ads (host=127.0.0.1 port=1 dbname=ads user=ops)") !=
        std::string::npos);
}
