// The migrator against a real PostgreSQL, through the CLI.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "support/test_support.hpp"

using credvault::testing::CliProcess;
using credvault::testing::CliResult;
using credvault::testing::ReadFile;
using credvault::testing::RunCli;
using credvault::testing::SourceDir;
using credvault::testing::TempDir;
using credvault::testing::TestDatabase;

namespace {

const std::string kInitial = "20260215_0001_initial_schema.sql";

// A migrations folder holding the shipped initial schema plus fixtures.
struct Migrations {
  TempDir dir;
  Migrations() { Add(kInitial, ReadFile(SourceDir() + "/migrations/" + kInitial)); }
  std::string Add(const std::string& name, const std::string& content) const { return dir.WriteFile(name, content, 0644); }
  std::string path() const { return dir.path(); }
};

const std::string kAddEmail =
    "-- migrate:up\nALTER TABLE accounts ADD COLUMN email varchar(320);\n"
    "CREATE INDEX accounts_email_idx ON accounts (email);\n"
    "-- migrate:down\nDROP INDEX accounts_email_idx;\nALTER TABLE accounts DROP COLUMN email;\n";

// Columns, defaults, constraints and indexes of the public schema, as text.
std::string SchemaSnapshot(const TestDatabase& db) {
  auto rows = db.Query(
      "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
      " SELECT table_name || '.' || column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '')"
      "   || ' ' || is_nullable || ' ' || coalesce(column_default, '-') AS x"
      " FROM information_schema.columns WHERE table_schema = 'public'"
      " UNION ALL SELECT conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
      "   WHERE connamespace = 'public'::regnamespace"
      " UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public') s");
  return rows.text(0, 0);
}

CliResult Cv(const TestDatabase& db, const Migrations& m, std::vector<std::string> args,
             const std::string& env = "development") {
  std::vector<std::string> full = {"--migrations-dir", m.path(), "--env", env};
  full.insert(full.end(), args.begin(), args.end());
  return RunCli(full, db.Env());
}

bool TableExists(const TestDatabase& db, const std::string& table) {
  return db.Query("SELECT to_regclass($1) IS NOT NULL", {table}).text(0, 0) == "t";
}

}  // namespace

TEST_CASE("migrate to head, roll back to base, migrate again: identical schema, correct history", "[migrate]") {
  TestDatabase db;
  Migrations m;
  m.Add("20260301_0001_add_email_to_accounts.sql", kAddEmail);

  CHECK(Cv(db, m, {"current"}).out.empty());  // base: prints nothing
  auto first = Cv(db, m, {"migrate"});
  REQUIRE(first.exit_code == 0);
  CHECK(Cv(db, m, {"current"}).out == "20260301_0001 (head)\n");
  const std::string schema = SchemaSnapshot(db);
  CHECK(schema.find("accounts.email character varying(320)") != std::string::npos);

  auto history = db.Query("SELECT revision, state, checksum FROM credvault_schema_history ORDER BY revision");
  REQUIRE(history.size() == 2);
  CHECK(history.text(0, 0) == "20260215_0001");
  CHECK(history.text(1, 1) == "applied");
  CHECK(history.text(1, 2).size() == 64);

  auto down = Cv(db, m, {"rollback", "--to", "base", "--yes"});
  REQUIRE(down.exit_code == 0);
  CHECK(Cv(db, m, {"current"}).out.empty());
  CHECK(!TableExists(db, "accounts"));
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history").text(0, 0) == "0");

  REQUIRE(Cv(db, m, {"migrate"}).exit_code == 0);
  CHECK(SchemaSnapshot(db) == schema);
  auto events = db.Query("SELECT string_agg(kind, ',' ORDER BY id) FROM credvault_events");
  CHECK(events.text(0, 0) == "migrate,rollback,migrate");

  // A second migrate finds nothing to do and changes nothing.
  auto again = Cv(db, m, {"migrate"});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("nothing to migrate") != std::string::npos);
  CHECK(db.Query("SELECT count(*) FROM credvault_events").text(0, 0) == "3");

  // rollback without --yes and without a terminal is refused, nothing undone.
  CHECK(Cv(db, m, {"rollback"}).exit_code == 5);
  CHECK(TableExists(db, "accounts"));
  // The events log is append-only.
  auto conn = db.Connect();
  CHECK(!conn->Exec("DELETE FROM credvault_events").ok());
}

TEST_CASE("the shipped migrations refuse an unavailable step before applying anything", "[migrate]") {
  TestDatabase db;
  auto result = RunCli({"--migrations-dir", SourceDir() + "/migrations", "--env", "development", "migrate"}, db.Env());
  // Without a key the encrypt step cannot run: refused before 0001 is applied.
  CHECK((result.exit_code == 3 || result.exit_code == 5));
  CHECK(result.err.find("20260215_0002") != std::string::npos);
  CHECK(!TableExists(db, "accounts"));
}

TEST_CASE("two migrators at once: one applies, the other waits or reports the holder", "[migrate][lock]") {
  TestDatabase db;
  Migrations m;
  m.Add("20260301_0001_slow.sql", "-- migrate:up\nSELECT pg_sleep(2);\nCREATE TABLE slow_marker (id int);\n"
                                  "-- migrate:down\nDROP TABLE slow_marker;\n");
  const std::vector<std::string> base = {"--migrations-dir", m.path(), "--env", "development", "migrate"};
  {
    CliProcess a(base, db.Env());
    CliProcess b(base, db.Env());
    auto ra = a.Wait();
    auto rb = b.Wait();
    CHECK(ra.exit_code == 0);
    CHECK(rb.exit_code == 0);
    const int applied = (ra.err.find("applied 20260301_0001") != std::string::npos) +
                        (rb.err.find("applied 20260301_0001") != std::string::npos);
    CHECK(applied == 1);
    const int idle = (ra.err.find("nothing to migrate") != std::string::npos) +
                     (rb.err.find("nothing to migrate") != std::string::npos);
    CHECK(idle == 1);
  }
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history").text(0, 0) == "2");
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history WHERE state <> 'applied'").text(0, 0) == "0");

  // With a short lock timeout the second gives up with exit 7 and names the holder.
  REQUIRE(Cv(db, m, {"rollback", "--yes"}).exit_code == 0);
  CliProcess slow(base, db.Env());
  // Wait until the first holds the lock.
  for (int i = 0; i < 100; ++i) {
    // This database's locks only: tests in other databases run in parallel.
    if (db.Query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                 "(SELECT oid FROM pg_database WHERE datname = current_database())")
            .text(0, 0) != "0") {
      break;
    }
    usleep(50 * 1000);
  }
  std::vector<std::string> impatient = base;
  impatient.insert(impatient.end(), {"--lock-timeout", "0"});
  auto busy = RunCli(impatient, db.Env());
  CHECK(busy.exit_code == 7);
  CHECK(busy.err.find("credvault migrate") != std::string::npos);
  CHECK(busy.err.find("pid ") != std::string::npos);
  CHECK(slow.Wait().exit_code == 0);
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history").text(0, 0) == "2");
}

TEST_CASE("a migration failing halfway leaves the database as it was", "[migrate]") {
  TestDatabase db;
  Migrations m;
  REQUIRE(Cv(db, m, {"migrate"}).exit_code == 0);
  const std::string before = SchemaSnapshot(db);
  const std::string path = m.Add("20260301_0001_broken.sql",
                                 "-- migrate:up\nCREATE TABLE half_done (id int);\n\nINSERT INTO no_such_table VALUES (1);\n"
                                 "-- migrate:down\nDROP TABLE half_done;\n");
  auto result = Cv(db, m, {"migrate"});
  CHECK(result.exit_code != 0);
  CHECK(result.err.find(path) != std::string::npos);
  CHECK(result.err.find("statement 2") != std::string::npos);
  CHECK(result.err.find("line 4") != std::string::npos);
  CHECK(result.err.find("relation \"no_such_table\" does not exist") != std::string::npos);
  CHECK(!TableExists(db, "half_done"));
  CHECK(SchemaSnapshot(db) == before);
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history").text(0, 0) == "1");
}

TEST_CASE("a failed non-transactional migration is recorded and blocks migrate with instructions", "[migrate]") {
  TestDatabase db;
  Migrations m;
  m.Add("20260301_0001_concurrent.sql",
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);\n"
        "CREATE INDEX CONCURRENTLY broken_idx ON no_such_table (x);\n"
        "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY accounts_name_idx;\n");
  auto result = Cv(db, m, {"migrate"});
  CHECK(result.exit_code != 0);
  CHECK(db.Query("SELECT state FROM credvault_schema_history WHERE revision = '20260301_0001'").text(0, 0) == "failed");
  CHECK(TableExists(db, "accounts_name_idx"));  // the first statement did run
  auto blocked = Cv(db, m, {"migrate"});
  CHECK(blocked.exit_code == 5);
  CHECK(blocked.err.find("credvault stamp 20260301_0001") != std::string::npos);
  // The operator repairs by hand and records it.
  REQUIRE(db.Connect()->Exec("SELECT 1").ok());
  m.Add("20260301_0001_concurrent.sql",
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);\n"
        "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY accounts_name_idx;\n");
  CHECK(Cv(db, m, {"stamp", "20260301_0001"}).exit_code == 0);
  CHECK(Cv(db, m, {"migrate"}).exit_code == 0);
  CHECK(Cv(db, m, {"check"}).exit_code == 0);

  // CONCURRENTLY in a transactional migration is refused before anything runs.
  m.Add("20260302_0001_bad.sql", "-- migrate:up\nCREATE TABLE never (id int);\nCREATE INDEX CONCURRENTLY x ON accounts (region);\n");
  auto refused = Cv(db, m, {"migrate"});
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("20260302_0001_bad.sql:3") != std::string::npos);
  CHECK(!TableExists(db, "never"));
}

TEST_CASE("check: edited, CRLF-converted, deleted and out-of-order migrations", "[migrate][check]") {
  TestDatabase db;
  Migrations m;
  const std::string email = m.Add("20260301_0001_add_email_to_accounts.sql", kAddEmail);
  REQUIRE(Cv(db, m, {"migrate"}).exit_code == 0);
  CHECK(Cv(db, m, {"check"}).exit_code == 0);

  std::string crlf;
  for (char c : kAddEmail) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  m.Add("20260301_0001_add_email_to_accounts.sql", crlf);
  CHECK(Cv(db, m, {"check"}).exit_code == 0);

  m.Add("20260301_0001_add_email_to_accounts.sql", kAddEmail + "-- an edit\n");
  auto edited = Cv(db, m, {"check"});
  CHECK(edited.exit_code == 6);
  CHECK(edited.out.find(email) != std::string::npos);
  CHECK(Cv(db, m, {"migrate"}).exit_code == 6);  // never migrates over an edited file (checksum: integrity)

  std::filesystem::remove(email);
  auto deleted = Cv(db, m, {"check"});
  CHECK(deleted.exit_code == 6);
  CHECK(deleted.out.find("20260301_0001 has no migration file") != std::string::npos);
  m.Add("20260301_0001_add_email_to_accounts.sql", kAddEmail);

  // An older revision appears after a newer one was applied.
  m.Add("20260220_0001_late.sql", "-- migrate:up\nCREATE TABLE late (id int);\n-- migrate:down\nDROP TABLE late;\n");
  auto status = Cv(db, m, {"status"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("out of order: 20260220_0001") != std::string::npos);
  auto migrate = Cv(db, m, {"migrate"});
  CHECK(migrate.exit_code == 5);
  CHECK(migrate.err.find("20260220_0001") != std::string::npos);
  CHECK(!TableExists(db, "late"));
  CHECK(Cv(db, m, {"history"}).out.find("out-of-order") != std::string::npos);
}

TEST_CASE("check names table and column of schema drift", "[migrate][check]") {
  TestDatabase db;
  Migrations m;
  REQUIRE(Cv(db, m, {"migrate"}).exit_code == 0);
  REQUIRE(db.Connect()->Exec("ALTER TABLE credentials ALTER COLUMN client_id TYPE varchar(255)").ok());
  auto narrowed = Cv(db, m, {"check"});
  CHECK(narrowed.exit_code == 6);
  CHECK(narrowed.out.find("credentials.client_id: type character varying(512) expected, character varying(255) found") !=
        std::string::npos);

  REQUIRE(db.Connect()->Exec("ALTER TABLE credentials ALTER COLUMN client_id TYPE varchar(512)").ok());
  CHECK(Cv(db, m, {"check"}).exit_code == 0);
  REQUIRE(db.Connect()->Exec("ALTER TABLE credentials ALTER COLUMN updated_at DROP DEFAULT").ok());
  auto no_default = Cv(db, m, {"check"});
  CHECK(no_default.exit_code == 6);
  CHECK(no_default.out.find("credentials.updated_at: default now() expected, none found") != std::string::npos);
  // The scratch schema of the check never survives.
  CHECK(db.Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'credvault_drift_%'").text(0, 0) == "0");
}

TEST_CASE("an Alembic-made database is adopted without touching its rows", "[migrate][alembic]") {
  TestDatabase db;
  Migrations m;
  std::string up = ReadFile(SourceDir() + "/migrations/" + kInitial);
  up = up.substr(up.find("-- migrate:up") + 13);
  up = up.substr(0, up.find("-- migrate:down"));
  auto conn = db.Connect();
  REQUIRE(conn->ExecScript(up).ok());
  REQUIRE(conn->ExecScript(
                  "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                  "INSERT INTO alembic_version VALUES ('20260215_0001');"
                  "INSERT INTO accounts (amazon_account_id, name) VALUES ('A1', 'one'), ('A2', 'two');"
                  "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) "
                  "SELECT id, 'amzn1.application-oa2-client.' || id, 'amzn1.oa2-cs.v1.' || id, 'Atzr|' || id FROM accounts;")
              .ok());
  const std::string rows_before = db.Query("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM credentials c").text(0, 0);

  auto stamp = Cv(db, m, {"stamp", "--from-alembic"});
  REQUIRE(stamp.exit_code == 0);
  CHECK(Cv(db, m, {"current"}).out == "20260215_0001 (head)\n");
  CHECK(Cv(db, m, {"check"}).exit_code == 0);
  CHECK(db.Query("SELECT version_num FROM alembic_version").text(0, 0) == "20260215_0001");
  CHECK(db.Query("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM credentials c").text(0, 0) == rows_before);
  m.Add("20260301_0001_add_email_to_accounts.sql", kAddEmail);
  CHECK(Cv(db, m, {"migrate"}).exit_code == 0);
  CHECK(db.Query("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM credentials c").text(0, 0) == rows_before);
}

TEST_CASE("an Alembic database whose schema differs is not adopted", "[migrate][alembic]") {
  TestDatabase db;
  Migrations m;
  auto conn = db.Connect();
  REQUIRE(conn->ExecScript("CREATE TABLE accounts (id serial PRIMARY KEY);"
                           "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
                           "INSERT INTO alembic_version VALUES ('20260215_0001');")
              .ok());
  auto stamp = Cv(db, m, {"stamp", "--from-alembic"});
  CHECK(stamp.exit_code == 6);
  CHECK(stamp.err.find("credentials") != std::string::npos);
  CHECK(!TableExists(db, "credvault_schema_history"));  // nothing recorded
}

TEST_CASE("production guards: reset refused, environment mismatch refused", "[migrate][guard]") {
  TestDatabase db;
  Migrations m;
  REQUIRE(Cv(db, m, {"migrate"}, "production").exit_code == 0);
  auto reset = Cv(db, m, {"reset", "--yes"}, "production");
  CHECK(reset.exit_code == 5);
  CHECK(TableExists(db, "accounts"));
  // Recorded as production: claiming development is refused, for reset and migrate alike.
  auto sneaky = Cv(db, m, {"reset", "--yes"}, "development");
  CHECK(sneaky.exit_code == 5);
  CHECK(TableExists(db, "accounts"));
  CHECK(Cv(db, m, {"migrate"}, "staging").exit_code == 5);

  TestDatabase dev;
  REQUIRE(Cv(dev, m, {"migrate"}).exit_code == 0);
  REQUIRE(dev.Connect()->Exec("INSERT INTO accounts (amazon_account_id) VALUES ('A1')").ok());
  CHECK(Cv(dev, m, {"reset"}).exit_code == 5);  // no --yes, no terminal
  CHECK(dev.Query("SELECT count(*) FROM accounts").text(0, 0) == "1");
  REQUIRE(Cv(dev, m, {"reset", "--yes"}).exit_code == 0);
  CHECK(dev.Query("SELECT count(*) FROM accounts").text(0, 0) == "0");
  CHECK(Cv(dev, m, {"current"}).out == "20260215_0001 (head)\n");
}

TEST_CASE("create writes the next revision file with up and down sections", "[migrate][create]") {
  TestDatabase db;
  Migrations m;
  auto first = Cv(db, m, {"create", "add email to accounts"});
  REQUIRE(first.exit_code == 0);
  const std::string path = first.out.substr(0, first.out.size() - 1);
  const std::string name = std::filesystem::path(path).filename().string();
  CHECK(name.size() == std::string("YYYYMMDD_0001_add_email_to_accounts.sql").size());
  CHECK(name.substr(8) == "_0001_add_email_to_accounts.sql");
  const std::string content = ReadFile(path);
  CHECK(content.find("-- migrate:up") != std::string::npos);
  CHECK(content.find("-- migrate:down") != std::string::npos);
  auto second = Cv(db, m, {"create", "Widen refresh_token!"});
  REQUIRE(second.exit_code == 0);
  CHECK(second.out.find("_0002_widen_refresh_token.sql") != std::string::npos);
}

TEST_CASE("migrate --sql prints the SQL and changes nothing", "[migrate]") {
  TestDatabase db;
  Migrations m;
  auto sql = Cv(db, m, {"migrate", "--sql"});
  REQUIRE(sql.exit_code == 0);
  CHECK(sql.out.find("CREATE TABLE credentials") != std::string::npos);
  CHECK(sql.out.find("INSERT INTO credvault_schema_history") != std::string::npos);
  CHECK(!TableExists(db, "accounts"));
  CHECK(!TableExists(db, "credvault_schema_history"));
  // Without any database: from base, still exit 0.
  auto offline = RunCli({"--migrations-dir", m.path(), "--database-url", "postgresql://127.0.0.1:1/none", "migrate", "--sql"});
  CHECK(offline.exit_code == 0);
  CHECK(offline.out.find("from base") != std::string::npos);
}
