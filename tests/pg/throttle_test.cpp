// Row-job throttles against a real server: --max-rate holds its rate,
// and runs its work at the idle CPU priority (unthrottled: normal),
// --max-active pauses while another session runs a statement and resumes
// after, a throttle that cannot be evaluated stops the job before it writes,
// and --max-replica-lag against the hot standby of scripts/with-postgres.sh
// (its replay paused and resumed). The [standby] tests share that standby
// and pause its replay, so they hold the ctest resource lock "standby"
// (tests/CMakeLists.txt): they never overlap each other, and run alongside
// every other test.
#include <catch2/catch.hpp>
#include <signal.h>
#include <unistd.h>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "credvault/vault.hpp"
#include "endpoints.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

using Clock = std::chrono::steady_clock;

int Count(const TestDatabase& db, const std::string& sql, const db::Params& params = {}) {
  return std::stoi(db.Query(sql, params).text(0, 0));
}

int UnderKid(const TestDatabase& db, const std::string& kid) {
  return Count(db, "SELECT count(*) FROM credentials WHERE split_part(client_id, ':', 3) = $1", {kid});
}

// The job's own account of its run, from credvault_events.
struct EventFigures {
  double rows = 0;
  double seconds = 0;
};
EventFigures LastEvent(const TestDatabase& db, const std::string& kind) {
  auto rows = db.Query("SELECT details->>'rows', details->>'seconds' FROM credvault_events WHERE kind = $1 "
                       "ORDER BY id DESC LIMIT 1",
                       {kind});
  REQUIRE(rows.size() == 1);
  return {std::stod(rows.text(0, 0)), std::stod(rows.text(0, 1))};
}

// db's database on the standby of scripts/with-postgres.sh (FAILs without one:
// never skipped).
std::string StandbyUrl(const TestDatabase& db) {
  const char* base = std::getenv("CREDVAULT_TEST_STANDBY_URL");
  if (base == nullptr || *base == '\0') {
    FAIL("CREDVAULT_TEST_STANDBY_URL is not set: run the tests through scripts/with-postgres.sh (or set it to a hot "
         "standby of DATABASE_URL's server)");
  }
  auto fields = ConninfoFields(base);
  fields["dbname"] = db.name();
  return ToConninfo(fields);
}

// Waits (up to 60 s) until the standby has replayed everything the primary
// has written so far, db's database included.
void WaitForReplay(const TestDatabase& db) {
  const std::string target = db.Query("SELECT pg_current_wal_lsn()::text").text(0, 0);
  auto fields = ConninfoFields(StandbyUrl(db));
  fields["dbname"] = "postgres";
  const std::string standby = ToConninfo(fields);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto conn = db::Connection::Open(standby, "credvault test");
    if (conn.ok()) {
      auto replayed = (*conn)->Query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {target});
      if (replayed.ok() && replayed->text(0, 0) == "t") return;
    }
    if (Clock::now() > deadline) FAIL("the standby did not replay up to " + target + " within 60 s");
    usleep(50 * 1000);
  }
}

// Pauses the standby's replay; resumes it on destruction (a failed test must
// not leave the shared standby paused).
class ReplayPause {
 public:
  explicit ReplayPause(const TestDatabase& db) : url_(StandbyUrl(db)) {
    auto conn = db::Connection::Open(url_, "credvault test");
    REQUIRE(conn.ok());
    REQUIRE((*conn)->Exec("SELECT pg_wal_replay_pause()").ok());
  }
  ~ReplayPause() { Resume(); }
  void Resume() {
    if (resumed_) return;
    resumed_ = true;
    auto conn = db::Connection::Open(url_, "credvault test");
    if (conn.ok()) (void)(*conn)->Exec("SELECT pg_wal_replay_resume()");
  }

 private:
  std::string url_;
  bool resumed_ = false;
};

// Another session running one long statement on db's database until End()
// (or destruction) cancels it.
class BusySession {
 public:
  explicit BusySession(const TestDatabase& db) : db_(db) {
    thread_ = std::thread([this] { (void)db_.Connect()->Query("SELECT pg_sleep(120) AS credvault_test_busy"); });
    (void)WaitFor([&] { return Running() != 0; }, std::chrono::seconds(10));
    REQUIRE(Running() == 1);
  }
  ~BusySession() { (void)End(); }
  // Cancels the statement; returns the server's time just before.
  std::string End() {
    if (!thread_.joinable()) return "";
    const std::string now = db_.Query("SELECT clock_timestamp()::timestamp::text").text(0, 0);
    db_.Query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
              "AND query LIKE '%credvault_test_busy%' AND pid <> pg_backend_pid()");
    thread_.join();
    return now;
  }

 private:
  int Running() const {
    return Count(db_, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                      "AND query LIKE '%credvault_test_busy%' AND pid <> pg_backend_pid()");
  }
  const TestDatabase& db_;
  std::thread thread_;
};

// Waits (up to 60 s) until a job named `application_name` has its three
// sessions open (writer, reader, then the throttle's): it has evaluated its
// throttles. (Its second writer opens with its second batch.)
void WaitForJobSessions(const TestDatabase& db, const std::string& application_name) {
  for (int i = 0; i < 6000; ++i) {
    if (Count(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
              {application_name}) >= 3) {
      return;
    }
    usleep(10 * 1000);
  }
  FAIL("the job's sessions did not open within 60 s");
}

// Waits (up to 60 s) until `count` has not changed for `still_ms`: the job
// writing it is paused. Returns that count.
int WaitUntilStill(const std::function<int()>& count, int still_ms) {
  int last = count();
  auto since = Clock::now();
  const auto deadline = since + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    usleep(100 * 1000);
    const int now = count();
    if (now != last) {
      last = now;
      since = Clock::now();
    } else if (now > 0 && Clock::now() - since >= std::chrono::milliseconds(still_ms)) {
      return now;
    }
  }
  FAIL("the count kept changing (or stayed 0) for 60 s");
  return -1;
}

// The pause line for --max-active. The busy session is one of the sessions
// counted; this test's own pg_stat_activity polling can be another, so the
// count is 1 or 2.
bool ReportsActivePause(const std::string& err) {
  static const std::regex line(
      R"(encrypt: paused \(max_active\): [12] other session\(s\) are running statements on the database)");
  return std::regex_search(err, line);
}

std::map<std::string, std::optional<std::string>> With(std::map<std::string, std::optional<std::string>> env,
                                                       const std::string& name, const std::string& value) {
  env[name] = value;
  return env;
}

// The scheduling policy (SCHED_OTHER, SCHED_IDLE, ...) of each thread of a
// running process: field 41 of /proc/PID/task/TID/stat. Empty once it exited.
std::multiset<int> ThreadPolicies(pid_t pid) {
  std::multiset<int> policies;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Fields after the command name, which is in parentheses and may hold spaces: field 3 first.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int number = 3; fields >> field; ++number) {
      if (number == 41) policies.insert(std::stoi(field));
    }
  }
  return policies;
}

}  // namespace

TEST_CASE("a rate ceiling (--max-rate) keeps the job within 10 percent over its rate for 6 s", "[throttle][rate]") {
  TestDatabase db;
  Populate(db, 6000);
  const std::string key = NewBase64Key();
  CliProcess paced({"encrypt", "--max-rate", "1000", "--batch-size", "100"}, KeyEnv(db, key));
  // Meanwhile: the job's work runs at the idle CPU priority, its main thread (the caller's) as it was.
  REQUIRE(WaitFor([&] { return CountCiphertext(db) > 0; }));
  const std::multiset<int> policies = ThreadPolicies(paced.pid());
  CHECK(policies.count(SCHED_IDLE) >= 1);
  CHECK(policies.count(SCHED_OTHER) >= 1);
  auto result = paced.Wait();
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.err.find("throttled: at most 1000 rows/s") != std::string::npos);
  const EventFigures job = LastEvent(db, "encrypt");
  CHECK(job.rows == 6000);
  const double rate = job.rows / job.seconds;
  INFO("rows/s " << rate << " over " << job.seconds << " s");
  // The ceiling is the promise (at most 10 percent over). Below it the job may fall further when
  // the machine's cores are busy (the test suite runs two at once): its work runs at the idle
  // priority and the pacer does not save up time it lost; a floor catches a pacer that over-throttles.
  // Under the sanitizers each row costs several times its CPU (728 rows/s measured in CI's ASan stage).
  const double lowest_rate = kSanitizedBuild ? 500 : 750;
  CHECK(job.seconds >= 5.0);
  CHECK(rate >= lowest_rate);
  CHECK(rate <= 1100);
  ExpectAllEncryptedAndEqual(db, Ring(key));

  // Unthrottled, nothing runs at the idle priority (the operator asked for speed).
  const std::string next = NewBase64Key();
  CliProcess flat_out({"rotate", "--batch-size", "10", "--max-latency", "0"}, KeyEnv(db, next, key));
  std::size_t samples = 0;
  bool idle_seen = false;
  const std::string next_kid = Ring(next).primary_kid();
  for (int done = 0; done < 6000; done = UnderKid(db, next_kid)) {
    const std::multiset<int> now = ThreadPolicies(flat_out.pid());
    if (now.empty()) break;  // exited
    if (done > 0) ++samples;
    idle_seen = idle_seen || now.count(SCHED_IDLE) > 0;
  }
  CHECK(flat_out.Wait().exit_code == 0);
  CHECK(samples >= 1);
  CHECK_FALSE(idle_seen);
}

TEST_CASE("the active-session throttle (--max-active) pauses while another session runs a statement and resumes after it", "[throttle][active]") {
  TestDatabase db;
  Populate(db, 2000);
  const std::string key = NewBase64Key();
  const std::string plain_before = TableChecksum(db);

  // SIGTERM during a pause: the job stops at once (exit 130) and writes nothing.
  {
    BusySession busy(db);
    CliProcess job({"encrypt", "--max-active", "0", "--batch-size", "100"}, KeyEnv(db, key));
    WaitForJobSessions(db, "credvault encrypt");
    REQUIRE(job.WaitForStderr("encrypt: paused (max_active)"));
    usleep(200 * 1000);
    const auto signalled = Clock::now();
    auto stopped = job.Kill(SIGTERM);
    INFO(stopped.err);
    CHECK(stopped.exit_code == 130);
    CHECK(std::chrono::duration<double>(Clock::now() - signalled).count() < 5);
    CHECK(ReportsActivePause(stopped.err));
    CHECK(stopped.err.find("resumed after") == std::string::npos);
  }
  CHECK(TableChecksum(db) == plain_before);

  // Paused while the other session runs its statement; resumed when it ends.
  std::string busy_until;
  {
    BusySession busy(db);
    CliProcess job({"encrypt", "--max-active", "0", "--batch-size", "500"}, KeyEnv(db, key));
    WaitForJobSessions(db, "credvault encrypt");
    REQUIRE(job.WaitForStderr("encrypt: paused (max_active)"));
    usleep(1000 * 1000);
    CHECK(TableChecksum(db) == plain_before);
    busy_until = busy.End();
    auto result = job.Wait();
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(ReportsActivePause(result.err));
    CHECK(result.err.find("encrypt: resumed after") != std::string::npos);
  }
  // Every batch transaction started after the other statement had ended.
  CHECK(db.Query("SELECT min(updated_at) > $1::timestamp FROM credentials", {busy_until}).text(0, 0) == "t");
  ExpectAllEncryptedAndEqual(db, Ring(key));

  // Idle sessions do not count: with this test's own connections open, the job does not pause.
  auto again = RunCli({"decrypt", "--yes", "--max-active", "0"}, KeyEnv(db, key));
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("paused") == std::string::npos);
}

TEST_CASE("a throttle that cannot be evaluated stops the job before it writes - exit codes", "[throttle][errors]") {
  TestDatabase db;
  Populate(db, 300);
  const std::string key = NewBase64Key();
  const std::string before = Xmins(db);

  // No right to read pg_stat_replication's lag or other sessions' states: exit 3, the GRANT named.
  TestRole plain(db, "cvt_throttle");
  REQUIRE(db.Connect()->Exec("GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA public TO " + db::QuoteIdentifier(plain.name())).ok());
  REQUIRE(db.Connect()->Exec("GRANT INSERT ON credvault_events, credvault_keys TO " + db::QuoteIdentifier(plain.name())).ok());
  REQUIRE(db.Connect()->Exec("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + db::QuoteIdentifier(plain.name())).ok());
  auto as_plain = With(KeyEnv(db, key), "DATABASE_URL", plain.url());
  auto lag = RunCli({"encrypt", "--max-replica-lag", "1"}, as_plain);
  INFO(lag.err);
  CHECK(lag.exit_code == 3);
  CHECK(lag.err.find("GRANT pg_monitor TO") != std::string::npos);
  auto active = RunCli({"encrypt", "--max-active", "5"}, as_plain);
  INFO(active.err);
  CHECK(active.exit_code == 3);
  CHECK(active.err.find("--max-active reads") != std::string::npos);
  CHECK(Xmins(db) == before);

  // A replica that does not answer: exit 4. The primary named as a replica: exit 3.
  auto unreachable = RunCli({"encrypt", "--max-replica-lag", "1", "--replica-url", "postgresql://127.0.0.1:1/ads"}, KeyEnv(db, key));
  INFO(unreachable.err);
  CHECK(unreachable.exit_code == 4);
  CHECK(unreachable.err.find("--replica-url host=127.0.0.1 port=1") != std::string::npos);
  auto primary = RunCli({"encrypt", "--max-replica-lag", "1", "--replica-url", db.url()}, KeyEnv(db, key));
  INFO(primary.err);
  CHECK(primary.exit_code == 3);
  CHECK(primary.err.find("is not a standby") != std::string::npos);

  // Usage errors: exit 2.
  CHECK(RunCli({"rotate", "--max-rate", "fast"}, KeyEnv(db, key)).exit_code == 2);
  CHECK(RunCli({"rotate", "--max-active", "-1"}, KeyEnv(db, key)).exit_code == 2);
  auto orphan = RunCli({"rotate", "--replica-url", db.url()}, KeyEnv(db, key));
  CHECK(orphan.exit_code == 2);
  CHECK(orphan.err.find("no --max-replica-lag") != std::string::npos);
  CHECK(Xmins(db) == before);

  // migrate's data step takes the [jobs] keys: an unreachable replica stops
  // the plan before 20260215_0002 is applied.
  TempDir dir;
  const std::string config = dir.WriteFile(
      "credvault.toml", "[jobs]\nmax_replica_lag = 1\nreplica_urls = [\"postgresql://127.0.0.1:1/ads\"]\n");
  auto migrate = RunCli({"--config", config, "migrate"}, KeyEnv(db, key));
  INFO(migrate.err);
  CHECK(migrate.exit_code == 4);
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history WHERE revision = '20260215_0002'").text(0, 0) == "0");
  CHECK(Xmins(db) == before);

  // A flag beats the config key: --max-replica-lag 0 switches the configured throttle (and its replicas) off.
  auto overridden = RunCli({"--config", config, "encrypt", "--max-replica-lag", "0"}, KeyEnv(db, key));
  INFO(overridden.err);
  CHECK(overridden.exit_code == 0);
  CHECK(overridden.err.find("throttled") == std::string::npos);

  // The same login granted pg_monitor passes the check (nothing is left to encrypt).
  REQUIRE(db.Connect()->Exec("GRANT pg_monitor TO " + db::QuoteIdentifier(plain.name())).ok());
  auto granted = RunCli({"encrypt", "--max-active", "50"}, as_plain);
  INFO(granted.err);
  CHECK(granted.exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key));

  // With a throttle it can evaluate, migrate's data step runs throttled and the plan is applied.
  const std::string rated = dir.WriteFile("rated.toml", "[jobs]\nmax_rate = 1000\n");
  auto migrated = RunCli({"--config", rated, "migrate"}, KeyEnv(db, key));
  INFO(migrated.err);
  CHECK(migrated.exit_code == 0);
  CHECK(migrated.err.find("encrypt: throttled: at most 1000 rows/s") != std::string::npos);
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history WHERE revision = '20260215_0002'").text(0, 0) == "1");
}

TEST_CASE("rotate --max-replica-lag waits while the standby's replay is paused and finishes after it resumes",
          "[throttle][standby]") {
  TestDatabase db;
  Populate(db, 6000);
  const std::string a = NewBase64Key(), b = NewBase64Key(), c = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  WaitForReplay(db);
  const std::string kid_b = Ring(b).primary_kid(), kid_c = Ring(c).primary_kid();
  const int values = Count(db, "SELECT count(client_id) FROM credentials");

  // Every standby of pg_stat_replication (the only one here).
  {
    ReplayPause pause(db);
    CliProcess job({"rotate", "--max-replica-lag", "1", "--max-rate", "1500", "--batch-size", "100"}, KeyEnv(db, b, a));
    // The job writes until the standby is a second behind, then nothing.
    const int paused_at = WaitUntilStill([&] { return UnderKid(db, kid_b); }, 1500);
    CHECK(paused_at < values);
    pause.Resume();
    auto result = job.Wait();
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("rotate: paused (max_replica_lag): standby ") != std::string::npos);
    CHECK(result.err.find("rotate: resumed after") != std::string::npos);
  }
  CHECK(Count(db, "SELECT count(*) FROM credentials WHERE client_id IS NOT NULL AND split_part(client_id, ':', 3) <> $1",
              {kid_b}) == 0);

  // verify against the standby, once it has replayed the rotation: exit 0.
  WaitForReplay(db);
  auto on_standby = RunCli({"verify"}, With(KeyEnv(db, b), "DATABASE_URL", StandbyUrl(db)));
  INFO(on_standby.err);
  CHECK(on_standby.exit_code == 0);

  // The standby named with --replica-url (queried directly).
  {
    ReplayPause pause(db);
    CliProcess job({"rotate", "--max-replica-lag", "1", "--replica-url", StandbyUrl(db), "--max-rate", "1500",
                    "--batch-size", "100"},
                   KeyEnv(db, c, b));
    const int paused_at = WaitUntilStill([&] { return UnderKid(db, kid_c); }, 1500);
    CHECK(paused_at < values);
    pause.Resume();
    auto result = job.Wait();
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.find("rotate: paused (max_replica_lag): standby host=127.0.0.1") != std::string::npos);
  }
  ExpectAllEncryptedAndEqual(db, Ring(c), "originals", kid_c);
}

TEST_CASE("a Vault reading from the standby during a rotation on the primary gets every value", "[throttle][standby]") {
  TestDatabase db;
  Populate(db, 4000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);  // 20260215_0002 encrypts under A
  WaitForReplay(db);

  VaultOptions options;
  options.database_url = StandbyUrl(db);
  options.keyring = Ring(b, {a});  // an application deployed with B before the rotation, A kept to read
  options.environment = Environment::kDevelopment;
  options.migrations_dir = SourceDir() + "/migrations";
  auto vault = Vault::Open(std::move(options));
  REQUIRE(vault.ok());
  const std::string expected = db.Query("SELECT client_secret FROM originals WHERE id = 42").text(0, 0);

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, errors{0};
  std::string first_error;
  std::mutex error_mutex;
  std::vector<std::thread> readers;
  for (unsigned seed = 1; seed <= 2; ++seed) {
    readers.emplace_back([&, seed] {
      std::mt19937 random(seed);
      std::uniform_int_distribution<int> account(1, 4000);
      while (!stop.load()) {
        const int id = (reads.load() % 50 == 0) ? 42 : account(random);
        auto credentials = vault->GetCredentials(id);
        ++reads;
        bool ok = credentials.ok();
        if (ok && id == 42) {
          ok = credentials->client_secret &&
               std::string(reinterpret_cast<const char*>(credentials->client_secret->data()),
                           credentials->client_secret->size()) == expected;
        }
        if (!ok) {
          ++errors;
          std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.empty()) {
            first_error = "account " + std::to_string(id) + ": " +
                          (credentials.ok() ? std::string("wrong value") : credentials.status().message());
          }
        }
      }
    });
  }
  auto rotated = RunCli({"rotate", "--batch-size", "200"}, KeyEnv(db, b, a));
  WaitForReplay(db);
  usleep(200 * 1000);
  stop = true;
  for (auto& reader : readers) reader.join();
  INFO(rotated.err);
  CHECK(rotated.exit_code == 0);
  INFO(first_error);
  CHECK(errors.load() == 0);
  CHECK(reads.load() > 200);
  // The standby now holds B's values only.
  auto on_standby = RunCli({"verify"}, With(KeyEnv(db, b), "DATABASE_URL", StandbyUrl(db)));
  INFO(on_standby.err);
  CHECK(on_standby.exit_code == 0);
}
