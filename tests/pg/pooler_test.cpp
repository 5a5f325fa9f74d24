// credvault behind PgBouncer in transaction pooling mode (default_pool_size
// = 3), the private pgbouncer of scripts/with-postgres.sh: a server session
// is lent to a client for one transaction only, so session state (a
// session-level advisory lock, a temp table, SET) leaks to whoever gets that
// server connection next. Every check here reads the server directly.
#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "credvault/credvault.h"
#include "credvault/vault.hpp"
#include "endpoints.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

using Clock = std::chrono::steady_clock;

// KeyEnv with DATABASE_URL through the pooler.
std::map<std::string, std::optional<std::string>> PooledEnv(const TestDatabase& db, const std::string& primary,
                                                            const std::string& fallbacks = "") {
  auto env = KeyEnv(db, primary, fallbacks);
  env["DATABASE_URL"] = PooledUrl(db);
  return env;
}

// The newest shipped revision a migrate through the pooler reaches: the next,
// 20261207_0005, builds its indexes CONCURRENTLY (transaction:false), which
// needs a direct connection (refused through a pooler, as tested below).
const char* const kPooledHead = "20260215_0003";

// The shipped migrations up to kPooledHead, copied into `dir`.
void CopyPooledMigrations(const TempDir& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/migrations")) {
    const std::string name = entry.path().filename().string();
    if (name.substr(0, 13) <= kPooledHead) dir.WriteFile(name, ReadFile(entry.path().string()), 0644);
  }
}

// Sum of the migrations the `migrate` events say were applied, and failures.
int AppliedByEvents(const TestDatabase& db) {
  return std::stoi(db.Query("SELECT coalesce(sum((details->>'applied')::int), 0) FROM credvault_events "
                            "WHERE kind = 'migrate'")
                       .text(0, 0));
}
int FailedEvents(const TestDatabase& db) {
  return std::stoi(db.Query("SELECT count(*) FROM credvault_events WHERE kind = 'migrate_failed'").text(0, 0));
}

std::string CopyMigrationsWithConcurrentIndex(const TempDir& dir) {
  CopyPooledMigrations(dir);
  dir.WriteFile("20260301_0003_credentials_updated_at_index.sql",
                "-- migrate:up transaction:false\n"
                "CREATE INDEX CONCURRENTLY credentials_updated_at_idx ON credentials (updated_at);\n"
                "-- migrate:down transaction:false\n"
                "DROP INDEX CONCURRENTLY credentials_updated_at_idx;\n",
                0644);
  return dir.path();
}

}  // namespace

TEST_CASE("3 concurrent migrate through PgBouncer - 6 rounds on fresh databases - each migration applied once, "
          "no advisory lock left",
          "[pooler][migrate]") {
  const std::string key = NewBase64Key();
  for (int round = 0; round < 6; ++round) {
    INFO("round " << round);
    TestDatabase db;
    // Rounds 0-3 start from an empty database (they race for 0001's DDL);
    // rounds 4-5 from 0001 with 3000 plaintext rows (they race for 0002's
    // encrypt step, which holds more server connections).
    const bool populated = round >= 4;
    if (populated) Populate(db, 3000);
    auto env = PooledEnv(db, key);
    const int applied_before = populated ? AppliedByEvents(db) : 0;  // Populate's migrate to 0001
    std::vector<std::unique_ptr<CliProcess>> migrators;
    for (int i = 0; i < 3; ++i) {
      migrators.push_back(std::make_unique<CliProcess>(std::vector<std::string>{"migrate", "--to", kPooledHead, "--lock-timeout", "60"}, env));
    }
    std::vector<int> exits;
    std::string errors;
    for (auto& migrator : migrators) {
      auto result = migrator->Wait();
      exits.push_back(result.exit_code);
      if (result.exit_code != 0) errors += result.err;
    }
    INFO(errors);
    CHECK(exits == std::vector<int>{0, 0, 0});
    CHECK(HistoryStates(db) == "3:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied");
    // Exactly once: the migrators' own records add up to what was pending.
    CHECK(AppliedByEvents(db) - applied_before == (populated ? 2 : 3));
    CHECK(FailedEvents(db) == 0);
    // The pooled server sessions stay connected to this database: a
    // session-level lock taken through one of them would still show here.
    CHECK(AdvisoryLocks(db) == 0);
    if (populated) ExpectAllEncryptedAndEqual(db, Ring(key));
    // And the lock is free for the next migrator through the pooler at once.
    auto again = RunCli({"migrate", "--to", kPooledHead, "--lock-timeout", "3"}, env);
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(AdvisoryLocks(db) == 0);
  }
}

TEST_CASE("a migrator SIGKILLed mid-encrypt through PgBouncer - the next one gets the lock within seconds and finishes",
          "[pooler][migrate][fault]") {
  TestDatabase db;
  Populate(db, 30000);
  const std::string key = NewBase64Key();
  auto env = PooledEnv(db, key);
  TempDir config;  // small batches: many commits to be killed between
  const std::string config_file = config.WriteFile("credvault.toml", "[jobs]\nbatch_size = 500\n");
  {
    CliProcess first({"--config", config_file, "migrate", "--to", kPooledHead}, env);
    // Kill it once the encrypt step of 0002 has committed some batches.
    const bool encrypting = WaitFor([&] { return CountCiphertext(db) > 0; }, std::chrono::seconds(90));
    auto killed = first.Kill(SIGKILL);
    INFO(killed.err);
    REQUIRE(encrypting);
    REQUIRE(killed.exit_code == 128 + SIGKILL);
  }
  CHECK(CountCiphertext(db) < 30000);  // killed mid-way, not after
  // The killed client's server sessions are closed by pgbouncer (they were
  // in a transaction), so its lock goes with them: the next migrator may
  // wait at most 5 s for it.
  const auto start = Clock::now();
  auto next = RunCli({"migrate", "--to", kPooledHead, "--lock-timeout", "5"}, env);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
  INFO(next.err);
  CHECK(next.exit_code == 0);
  std::cout << "[pooler] migrate after a SIGKILLed migrator: " << seconds << " s\n";
  CHECK(HistoryStates(db) == "3:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied");
  CHECK(AdvisoryLocks(db) == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key));
}

TEST_CASE("a migrator SIGKILLed while holding the lock through PgBouncer - the next one proceeds within seconds",
          "[pooler][migrate][fault]") {
  TestDatabase db;
  const std::string key = NewBase64Key();
  auto env = PooledEnv(db, key);
  TempDir dir;
  CopyPooledMigrations(dir);
  // A migration that keeps its transaction (and so the lock) busy: 30 short
  // statements of 0.2 s, so the server notices the closed session within one.
  std::string slow = "-- migrate:up\n";
  for (int i = 0; i < 30; ++i) slow += "SELECT pg_sleep(0.2);\n";
  slow += "CREATE TABLE slow_done (id int);\n-- migrate:down\nDROP TABLE slow_done;\n";
  dir.WriteFile("20260301_0003_slow.sql", slow, 0644);
  {
    CliProcess first({"--migrations-dir", dir.path(), "migrate"}, env);
    const bool sleeping = WaitFor(
        [&] {
          return db.Query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep(0.2)%'",
                          {db.name()})
                     .text(0, 0) != "0";
        },
        std::chrono::seconds(60));
    // application_name travels in the startup packet, so PgBouncer shows it
    // on the server session it lends; and the lock is held meanwhile.
    const std::string names =
        db.Query("SELECT string_agg(DISTINCT application_name, ',') FROM pg_stat_activity WHERE datname = $1 "
                 "AND (query LIKE 'SELECT pg_sleep(0.2)%' OR pid IN (SELECT pid FROM pg_locks WHERE locktype = "
                 "'advisory'))",
                 {db.name()})
            .text(0, 0);
    const int locks = AdvisoryLocks(db);
    auto killed = first.Kill(SIGKILL);
    INFO(killed.err);
    REQUIRE(sleeping);
    CHECK(names == "credvault migrate");
    CHECK(locks == 1);
  }
  auto next = RunCli({"--migrations-dir", dir.path(), "migrate", "--lock-timeout", "5"}, env);
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(HistoryStates(db) == "4:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied,20260301_0003=applied");
  CHECK(db.Query("SELECT to_regclass('slow_done') IS NOT NULL").text(0, 0) == "t");
  CHECK(AdvisoryLocks(db) == 0);
}

TEST_CASE("encrypt, rotate, verify, keys, put and get through PgBouncer - run twice, data right",
          "[pooler][rotate]") {
  TestDatabase db;
  Populate(db, 4000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  // Twice each: a second job on the same pooled server sessions must not
  // trip over anything the first one left there (temp tables, settings).
  for (int i = 0; i < 2; ++i) {
    auto encrypted = RunCli({"encrypt", "--batch-size", "700"}, PooledEnv(db, a));
    INFO(encrypted.err);
    REQUIRE(encrypted.exit_code == 0);
  }
  ExpectAllEncryptedAndEqual(db, Ring(a), "originals", Ring(a).primary_kid());
  auto migrated = RunCli({"migrate", "--to", kPooledHead}, PooledEnv(db, a));  // 0002: nothing left to encrypt
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  CHECK(HistoryStates(db) == "3:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied");
  // The rest directly (20261207_0005 builds indexes CONCURRENTLY); the jobs
  // below then write the blind index of client_id through the pooler.
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);
  CHECK(RunCli({"verify"}, PooledEnv(db, a)).exit_code == 0);

  for (int i = 0; i < 2; ++i) {
    auto rotated = RunCli({"rotate", "--batch-size", "700"}, PooledEnv(db, b, a));
    INFO(rotated.err);
    REQUIRE(rotated.exit_code == 0);
    if (i == 1) CHECK(rotated.err.find("nothing to rotate") != std::string::npos);
  }
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  auto verified = RunCli({"verify"}, PooledEnv(db, b));  // the new key alone
  INFO(verified.err);
  CHECK(verified.exit_code == 0);
  auto keys = RunCli({"keys", "--json"}, PooledEnv(db, b, a));
  INFO(keys.err);
  REQUIRE(keys.exit_code == 0);
  CHECK(keys.out.find(Ring(a).primary_kid()) != std::string::npos);

  const std::string json = R"({"client_id": "amzn1.application-oa2-client.pooled", "client_secret": "amzn1.oa2-cs.v1.pooled-7777"})";
  auto put = RunCli({"put", "--account", "17"}, PooledEnv(db, b), json);
  INFO(put.err);
  REQUIRE(put.exit_code == 0);
  auto got = RunCli({"get", "--account", "17", "--reveal"}, PooledEnv(db, b));
  INFO(got.err);
  REQUIRE(got.exit_code == 0);
  auto parsed = nlohmann::json::parse(got.out);
  CHECK(parsed["client_id"] == "amzn1.application-oa2-client.pooled");
  CHECK(parsed["client_secret"] == "amzn1.oa2-cs.v1.pooled-7777");
  CHECK(parsed["refresh_token"].is_null());  // account 17: every 17th has no token
  auto other = RunCli({"get", "--account", "18", "--reveal"}, PooledEnv(db, b));
  REQUIRE(other.exit_code == 0);
  CHECK(nlohmann::json::parse(other.out)["client_secret"] ==
        db.Query("SELECT client_secret FROM originals WHERE id = 18").text(0, 0));
  CHECK(RunCli({"verify"}, PooledEnv(db, b)).exit_code == 0);
  CHECK(AdvisoryLocks(db) == 0);
  // No session state survives in the pool: no temp tables anywhere.
  CHECK(db.Query("SELECT count(*) FROM pg_class WHERE relpersistence = 't'").text(0, 0) == "0");
}

TEST_CASE("Vault and the C ABI from 8 threads through PgBouncer during a pooled rotate - 0 errors, 0 wrong values",
          "[pooler][vault][rotate]") {
  TestDatabase db;
  constexpr int kRows = 6000, kPutRows = 400, kThreads = 8;
  Populate(db, kRows);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);  // 0002 encrypts under A
  const std::string pooled = PooledUrl(db);

  // What every account holds now (client_secret), from the originals.
  std::vector<std::string> expected(kRows + 1);
  auto rows = db.Query("SELECT id, client_secret FROM originals ORDER BY id");
  for (std::size_t i = 0; i < rows.size(); ++i) expected[std::stoi(rows.text(i, 0))] = rows.text(i, 1);

  VaultOptions options;
  options.database_url = pooled;
  options.keyring = Ring(b, {a});
  options.environment = credvault::Environment::kStaging;
  options.migrations_dir = SourceDir() + "/migrations";
  auto vault = Vault::Open(std::move(options));
  INFO((vault.ok() ? std::string() : vault.status().ToString()));
  REQUIRE(vault.ok());
  credvault_vault* c_vault = nullptr;
  const char* fallbacks[] = {a.c_str()};
  const std::string migrations = SourceDir() + "/migrations";
  INFO(credvault_last_error());
  REQUIRE(credvault_open(pooled.c_str(), b.c_str(), fallbacks, 1, "staging", migrations.c_str(), &c_vault) ==
          CREDVAULT_OK);

  std::atomic<bool> stop{false};
  std::atomic<int> gets{0}, puts{0}, errors{0}, wrong{0};
  std::mutex first_error_mutex;
  std::string first_error;
  auto note_error = [&](const std::string& what) {
    ++errors;
    std::lock_guard<std::mutex> lock(first_error_mutex);
    if (first_error.empty()) first_error = what;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Thread t alone writes the accounts 1..kPutRows with id % 8 == t; the
      // others (above kPutRows) keep their original values.
      std::map<int, std::string> mine;
      std::mt19937 random(1000 + t);
      const bool use_c = t % 2 == 1;
      for (int i = 0; !stop.load() || i < 50; ++i) {
        if (i % 10 == 5) {
          int id = t + kThreads * static_cast<int>(random() % (kPutRows / kThreads));
          if (id == 0) id = kThreads;
          const std::string secret = "amzn1.oa2-cs.v1.thread" + std::to_string(t) + "-" + std::to_string(i);
          bool ok;
          if (use_c) {
            ok = credvault_put(c_vault, id, nullptr, secret.c_str(), nullptr) == CREDVAULT_OK;
            if (!ok) note_error(std::string("C put: ") + credvault_last_error());
          } else {
            Status put = vault->PutCredentials(id, {std::nullopt, std::string_view(secret), std::nullopt});
            ok = put.ok();
            if (!ok) note_error("put: " + put.ToString());
          }
          if (ok) {
            mine[id] = secret;
            ++puts;
          }
          continue;
        }
        // Read one of mine (if any) or one nobody writes.
        int id;
        if (!mine.empty() && random() % 4 == 0) {
          auto it = mine.begin();
          std::advance(it, static_cast<long>(random() % mine.size()));
          id = it->first;
        } else {
          id = kPutRows + 1 + static_cast<int>(random() % (kRows - kPutRows));
        }
        const std::string& want = mine.count(id) ? mine[id] : expected[id];
        ++gets;
        if (use_c) {
          credvault_credentials* got = nullptr;
          if (credvault_get(c_vault, id, &got) != CREDVAULT_OK) {
            note_error(std::string("C get: ") + credvault_last_error());
            continue;
          }
          if (got->client_secret == nullptr || want != got->client_secret) ++wrong;
          credvault_credentials_free(got);
        } else {
          auto got = vault->GetCredentials(id);
          if (!got.ok()) {
            note_error("get: " + got.status().ToString());
            continue;
          }
          if (!got->client_secret || !got->client_secret->Equals(want)) ++wrong;
        }
      }
    });
  }
  // The rotation through the pooler while the threads read and write.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto rotated = RunCli({"rotate", "--batch-size", "300"}, PooledEnv(db, b, a));
  stop = true;
  for (auto& thread : threads) thread.join();
  credvault_close(c_vault);
  INFO(rotated.err);
  INFO(first_error);
  CHECK(rotated.exit_code == 0);
  CHECK(rotated.err.find("rotated ") != std::string::npos);  // it had work to do while the threads ran
  CHECK(errors.load() == 0);
  CHECK(wrong.load() == 0);
  CHECK(gets.load() > 400);
  CHECK(puts.load() > 40);
  std::cout << "[pooler] 8 threads during a pooled rotate: " << gets.load() << " gets, " << puts.load()
            << " puts, 0 errors\n";
  // Everything is under B now (puts were under B already), and correct.
  REQUIRE(RunCli({"rotate"}, PooledEnv(db, b, a)).exit_code == 0);
  CHECK(RunCli({"verify"}, PooledEnv(db, b)).exit_code == 0);
  CHECK(AdvisoryLocks(db) == 0);
}

TEST_CASE("a transaction:false migration behind PgBouncer - refused at once naming direct_url, applied with it",
          "[pooler][migrate]") {
  TestDatabase db;
  const std::string key = NewBase64Key();
  auto env = PooledEnv(db, key);
  REQUIRE(RunCli({"migrate", "--to", kPooledHead}, env).exit_code == 0);
  TempDir dir;
  const std::string migrations = CopyMigrationsWithConcurrentIndex(dir);

  const auto start = Clock::now();
  auto refused = RunCli({"--migrations-dir", migrations, "migrate"}, env);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
  INFO(refused.err);
  CHECK(refused.exit_code == 3);  // a configuration problem: docs/CLI.md's exit codes
  CHECK(refused.err.find("direct_url") != std::string::npos);
  CHECK(seconds < 10);  // at once, not after a lock or statement timeout
  CHECK(HistoryStates(db) == "3:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied");
  CHECK(db.Query("SELECT to_regclass('credentials_updated_at_idx') IS NULL").text(0, 0) == "t");

  // With the direct URL (environment) the migrator does its DDL and locking there.
  auto direct_env = env;
  direct_env["CREDVAULT_DIRECT_URL"] = db.url();
  auto applied = RunCli({"--migrations-dir", migrations, "migrate"}, direct_env);
  INFO(applied.err);
  CHECK(applied.exit_code == 0);
  CHECK(HistoryStates(db) ==
        "4:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied,20260301_0003=applied");
  CHECK(db.Query("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE c.relname = 'credentials_updated_at_idx' AND i.indisvalid")
            .text(0, 0) == "1");
  // And back down with --direct-url (the flag; its password, if any, goes
  // by PGPASSWORD, never argv).
  auto direct_fields = ConninfoFields(db.url());
  auto rollback_env = env;
  if (direct_fields.count("password")) rollback_env["PGPASSWORD"] = direct_fields["password"];
  direct_fields.erase("password");
  auto rolled_back = RunCli({"--migrations-dir", migrations, "--direct-url", ToConninfo(direct_fields), "rollback",
                             "--to", "20260215_0003", "--yes"},
                            rollback_env);
  INFO(rolled_back.err);
  CHECK(rolled_back.exit_code == 0);
  CHECK(db.Query("SELECT to_regclass('credentials_updated_at_idx') IS NULL").text(0, 0) == "t");
  CHECK(AdvisoryLocks(db) == 0);
}
