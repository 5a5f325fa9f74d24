// Everything at once: several rotators, application writers and a migrator
// applying new migrations (one of them CREATE INDEX CONCURRENTLY) on the same
// table. Afterwards verify passes, every application write survived, and
// the history is complete.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "credvault/keyring.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

TEST_CASE("3 rotators + 2 application writers + a migrator at once: verify passes, every write survives",
          "[concurrency][rotate][migrate]") {
  TestDatabase db;
  Populate(db, 20000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  auto env = KeyEnv(db, b, a);
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "migrate"}, env).exit_code == 0);  // 0002: nothing left

  TempDir dir;
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/migrations")) {
    dir.WriteFile(entry.path().filename().string(), ReadFile(entry.path().string()), 0644);
  }
  dir.WriteFile("20260301_0003_credentials_updated_at_index.sql",
                "-- migrate:up transaction:false\n"
                "CREATE INDEX CONCURRENTLY credentials_updated_at_idx ON credentials (updated_at);\n"
                "-- migrate:down transaction:false\n"
                "DROP INDEX CONCURRENTLY credentials_updated_at_idx;\n",
                0644);
  dir.WriteFile("20260301_0004_accounts_note.sql",
                "-- migrate:up\nALTER TABLE accounts ADD COLUMN note text;\n"
                "-- migrate:down\nALTER TABLE accounts DROP COLUMN note;\n",
                0644);

  // Applications: new secrets under B (the new primary), each write also
  // recorded in `originals` in the same transaction.
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  Keyring ring = Ring(b, {a});
  auto application = [&](unsigned seed) {
    auto conn = db::Connection::Open(db.url(), "application");
    if (!conn.ok()) return;
    std::mt19937 random(seed);
    while (!stop.load()) {
      const std::string id = std::to_string(1 + random() % 20000);  // account_id == id in this fixture
      const std::string secret = "amzn1.oa2-cs.v1.app" + std::to_string(seed) + "-" + std::to_string(writes.load());
      auto sealed = ring.Encrypt(secret, ValueContext{"credentials", "client_secret", id});
      if (!sealed.ok()) continue;
      auto tx = (*conn)->Begin();
      if (!tx.ok()) continue;
      if ((*tx)->Exec("UPDATE credentials SET client_secret = $1 WHERE id = $2", {*sealed, id}).ok() &&
          (*tx)->Exec("UPDATE originals SET client_secret = $1 WHERE id = $2", {secret, id}).ok() &&
          (*tx)->Commit().ok()) {
        ++writes;
      }
    }
  };
  std::thread app1(application, 11), app2(application, 12);
  std::vector<std::unique_ptr<CliProcess>> rotators;
  for (int i = 0; i < 3; ++i) rotators.push_back(std::make_unique<CliProcess>(
      std::vector<std::string>{"rotate", "--batch-size", std::to_string(300 + 100 * i)}, env));
  CliProcess migrator({"--migrations-dir", dir.path(), "migrate"}, env);
  std::vector<int> exits;
  std::string rotator_errors;
  for (auto& rotator : rotators) {
    auto result = rotator->Wait();
    exits.push_back(result.exit_code);
    if (result.exit_code != 0) rotator_errors += result.err;
  }
  auto migrated = migrator.Wait();
  stop = true;
  app1.join();
  app2.join();

  INFO(migrated.err);
  INFO(rotator_errors);
  CHECK(exits == std::vector<int>{0, 0, 0});
  CHECK(migrated.exit_code == 0);
  CHECK(writes.load() > 50);
  CHECK(db.Query("SELECT string_agg(revision || '=' || state, ',' ORDER BY revision) FROM credvault_schema_history")
            .text(0, 0) == "20260215_0001=applied,20260215_0002=applied,20260301_0003=applied,20260301_0004=applied");
  CHECK(db.Query("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE c.relname = 'credentials_updated_at_idx' AND i.indisvalid")
            .text(0, 0) == "1");
  // Rows the applications changed under a running rotator are picked up by
  // its next pass or by this final run; nothing is left under A.
  REQUIRE(RunCli({"rotate"}, env).exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  std::cout << "[concurrency] 3 rotators, 2 writers (" << writes.load() << " writes, all survived), 1 migrator\n";
}
