// Security review (2026-12), the runtime findings against a real PostgreSQL:
// a metrics path that is a symlink, a FIFO or a key file; decrypt on a
// database recorded as production; a password inside a dbname that libpq
// expands; values of an unknown format version (cv2:...).
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// RunCli, but a run that has not ended after `seconds` fails the test; then
// `release` (opening a FIFO, dropping a lock) lets it end.
CliResult RunCliWithin(int seconds, const std::vector<std::string>& args,
                       const std::map<std::string, std::optional<std::string>>& env,
                       const std::function<void()>& release) {
  auto run = std::async(std::launch::async, [&] { return RunCli(args, env); });
  if (run.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
    FAIL_CHECK("credvault " << args.front() << " still runs after " << seconds << " s (blocked)");
    // It may block again (the metrics file is opened more than once): release until it ends.
    for (int i = 0; i < 600 && run.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready; ++i) release();
  }
  return run.get();
}

// Whether `text` holds any 12 consecutive characters of `secret`.
bool QuotesPartOf(const std::string& text, const std::string& secret) {
  for (std::size_t i = 0; i + 12 <= secret.size(); ++i) {
    if (text.find(secret.substr(i, 12)) != std::string::npos) return true;
  }
  return false;
}

std::string PercentEncodeAll(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::set<std::string> VerifyReasons(const CliResult& verify) {
  std::set<std::string> out;
  const auto report = nlohmann::json::parse(verify.out);
  for (const auto& f : report["failures"]) out.insert(f["reason"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("review 2: a metrics path that is a symlink to a key file leaves it intact and quotes none of it",
          "[review][metrics]") {
  TestDatabase db;
  Populate(db, 5);
  TempDir dir;
  const std::string key = NewBase64Key();
  const std::string key_file = dir.WriteFile("primary.key", key + "\n", 0600);
  const std::string link = dir.path() + "/credvault.prom";
  REQUIRE(symlink(key_file.c_str(), link.c_str()) == 0);
  auto env = KeyEnv(db, NewBase64Key());
  auto run = RunCli({"keys", "--metrics-file", link}, env);
  CHECK(run.exit_code == 3);
  CHECK_FALSE(QuotesPartOf(run.out + run.err, key.substr(7)));
  CHECK(ReadFile(key_file) == key + "\n");
  struct stat st {};
  REQUIRE(lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));

  // Named directly, a file that is not a metrics file is neither quoted nor replaced.
  auto direct = RunCli({"keys", "--metrics-file", key_file}, env);
  CHECK(direct.exit_code == 3);
  CHECK_FALSE(QuotesPartOf(direct.out + direct.err, key.substr(7)));
  CHECK(ReadFile(key_file) == key + "\n");
}

TEST_CASE("review 2: a FIFO, an oversized or foreign file as metrics path is refused without blocking",
          "[review][metrics]") {
  TestDatabase db;
  Populate(db, 5);
  TempDir dir;
  auto env = KeyEnv(db, NewBase64Key());
  const std::string fifo = dir.path() + "/fifo.prom";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto blocked = RunCliWithin(20, {"keys", "--metrics-file", fifo}, env, [&] {
    const int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) close(fd);
  });
  CHECK(blocked.exit_code == 3);

  const std::string big = dir.WriteFile("big.prom", std::string(2 << 20, '#') + "\n", 0644);
  auto oversized = RunCli({"keys", "--metrics-file", big}, env);
  CHECK(oversized.exit_code == 3);
  CHECK(ReadFile(big).size() == (2u << 20) + 1);

  if (geteuid() == 0) {  // only root can give a file to another user
    const std::string foreign = dir.WriteFile("foreign.prom", "", 0666);
    REQUIRE(chown(foreign.c_str(), 65534, 65534) == 0);
    auto refused = RunCli({"keys", "--metrics-file", foreign}, env);
    CHECK(refused.exit_code == 3);
    CHECK(ReadFile(foreign).empty());
  }
}

TEST_CASE("review 2: a lock on the metrics folder held by someone else does not block the command",
          "[review][metrics]") {
  TestDatabase db;
  Populate(db, 5);
  TempDir dir;
  const int folder = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(folder >= 0);
  REQUIRE(flock(folder, LOCK_EX) == 0);
  const std::string path = dir.path() + "/credvault.prom";
  auto run = RunCliWithin(20, {"keys", "--metrics-file", path}, KeyEnv(db, NewBase64Key()),
                          [&] { flock(folder, LOCK_UN); });
  close(folder);
  CHECK(run.exit_code == 0);
  CHECK(ReadFile(path).find("credvault_command_exit_code{command=\"keys\"} 0") != std::string::npos);
}

TEST_CASE("review 3: decrypt on a database recorded as production is refused, nothing written", "[review][decrypt]") {
  TestDatabase db;
  Populate(db, 200);
  const std::string key = NewBase64Key();
  auto env = KeyEnv(db, key);
  REQUIRE(RunCli({"encrypt"}, env).exit_code == 0);
  db.Query(
      "INSERT INTO credvault_settings (key, value) VALUES ('environment', 'production') "
      "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
  const std::string before = TableChecksum(db);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--env", "development", "decrypt", "--yes"},
        std::vector<std::string>{"--env", "staging", "decrypt", "--yes"}, std::vector<std::string>{"decrypt", "--yes"}}) {
    auto run = RunCli(args, env);
    INFO(args.front() << " " << args.back() << ": " << run.err);
    CHECK(run.exit_code == 5);
    CHECK(run.err.find("production") != std::string::npos);
    CHECK(TableChecksum(db) == before);
  }
  // What production allows stays allowed there.
  CHECK(RunCli({"verify"}, env).exit_code == 0);
  CHECK(RunCli({"rotate"}, KeyEnv(db, NewBase64Key(), key)).exit_code == 0);
}

TEST_CASE("review 7: a password inside dbname is never printed", "[review][url]") {
  TestDatabase db;
  const std::string marker = "S3cretNestedPw";
  const std::string nested_url = "postgresql://cvnested:" + marker + "@127.0.0.1:1/nested";
  const std::vector<std::string> urls = {
      // Nothing listens on port 1: a connection error, which describes the target.
      "postgresql://127.0.0.1:1/x?dbname=" + PercentEncodeAll(nested_url),
      "host=127.0.0.1 port=1 dbname='host=127.0.0.1 port=1 user=cvnested password=" + marker + "'",
      // The test server (PG* variables): it is sent the dbname as the name, and its
      // "database ... does not exist" quotes it.
      "dbname='password=" + marker + " dbname=" + db.name() + "'",
      "postgresql://?dbname=" + PercentEncodeAll("password=" + marker + " dbname=" + db.name()),
  };
  for (const std::string& url : urls) {
    auto env = KeyEnv(db, NewBase64Key());
    env["DATABASE_URL"] = url;
    for (const std::vector<std::string>& args : {std::vector<std::string>{"status"},
                                                 std::vector<std::string>{"encrypt", "--dry-run"}}) {
      auto run = RunCli(args, env);
      INFO(url << " " << args.front() << " exit " << run.exit_code << "\n" << run.out << run.err);
      CHECK(run.exit_code != 0);
      CHECK(run.out.find(marker) == std::string::npos);
      CHECK(run.err.find(marker) == std::string::npos);
    }
  }
}

TEST_CASE("review 8: a value of an unknown format version is refused, never encrypted", "[review][format]") {
  TestDatabase db;
  Populate(db, 300);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  auto conn = db.Connect();
  const std::string cv2 = "cv2:x:0011aabb:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXNDqm8OFho03B5lV15LdyzQrn6eoMZn3U1x3rpfaOdUtN";
  REQUIRE(conn->Exec("UPDATE credentials SET client_secret = $1 WHERE id = 5", {cv2}).ok());
  // Longer than any plaintext that fits VARCHAR(512) once encrypted: not pending, so no capacity refusal.
  const std::string cv10 = "cv10:" + std::string(450, 'f');
  REQUIRE(conn->Exec("UPDATE credentials SET refresh_token = $1 WHERE id = 6", {cv10}).ok());

  // encrypt does everything else, leaves both as they are, names them, exit 6.
  auto encrypted = RunCli({"encrypt"}, KeyEnv(db, a));
  CHECK(encrypted.exit_code == 6);
  CHECK(encrypted.err.find("credentials.id 5") != std::string::npos);
  CHECK(encrypted.err.find("credentials.id 6") != std::string::npos);
  CHECK(db.Query("SELECT client_secret FROM credentials WHERE id = 5").text(0, 0) == cv2);
  CHECK(db.Query("SELECT refresh_token FROM credentials WHERE id = 6").text(0, 0) == cv10);
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_id NOT LIKE 'cv1:%'").text(0, 0) == "0");

  // get needs the schema at head; migrate's encrypt step would stop at the cv2: values.
  REQUIRE(RunCli({"stamp", "20261207_0006"}, KeyEnv(db, a)).exit_code == 0);
  auto get = RunCli({"get", "--account", "5"}, KeyEnv(db, a));
  CHECK(get.exit_code == 6);
  CHECK(get.err.find("not encrypted yet") == std::string::npos);
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, a));
  CHECK(verify.exit_code == 6);
  CHECK(VerifyReasons(verify) == std::set<std::string>{"unsupported_version"});

  // rotate: the same; every other value ends under the new key.
  auto rotated = RunCli({"rotate"}, KeyEnv(db, b, a));
  CHECK(rotated.exit_code == 6);
  CHECK(rotated.err.find("credentials.id 5") != std::string::npos);
  CHECK(db.Query("SELECT client_secret FROM credentials WHERE id = 5").text(0, 0) == cv2);
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_id LIKE 'cv1:%' AND split_part(client_id, ':', 3) <> '" +
                 Ring(b).primary_kid() + "'")
            .text(0, 0) == "0");
}
