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
  dir.WriteFile("20270301_0003_credentials_updated_at_index.sql",
                "-- migrate:up transaction:false\n"
                "CREATE INDEX CONCURRENTLY credentials_updated_at_idx ON credentials (updated_at);\n"
                "-- migrate:down transaction:false\n"
                "DROP INDEX CONCURRENTLY credentials_updated_at_idx;\n",
                0644);
  dir.WriteFile("20270301_0004_accounts_note.sql",
                "-- migrate:up\nALTER TABLE accounts ADD COLUMN note text;\n"
                "-- migrate:down\nALTER TABLE accounts DROP COLUMN note;\n",
                0644);

  // Applications: new secrets under B (the new primary).
  auto app1 = std::make_unique<ApplicationWriter>(db, 20000, 11, Ring(b, {a}));
  auto app2 = std::make_unique<ApplicationWriter>(db, 20000, 12, Ring(b, {a}));
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
  const int writes = app1->writes() + app2->writes();
  app1.reset();
  app2.reset();

  INFO(migrated.err);
  INFO(rotator_errors);
  CHECK(exits == std::vector<int>{0, 0, 0});
  CHECK(migrated.exit_code == 0);
  CHECK(writes > 50);
  CHECK(db.Query("SELECT string_agg(revision || '=' || state, ',' ORDER BY revision) FROM credvault_schema_history")
            .text(0, 0) == "20260215_0001=applied,20260215_0002=applied,20260215_0003=applied,20261207_0004=applied,20261207_0005=applied,20261207_0006=applied,20270301_0003=applied,20270301_0004=applied");
  CHECK(db.Query("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE c.relname = 'credentials_updated_at_idx' AND i.indisvalid")
            .text(0, 0) == "1");
  // Rows the applications changed under a running rotator are picked up by
  // its next pass or by this final run; nothing is left under A.
  REQUIRE(RunCli({"rotate"}, env).exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  std::cout << "[concurrency] 3 rotators, 2 writers (" << writes << " writes, all survived), 1 migrator\n";
}
