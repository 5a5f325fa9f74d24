// Security review 2026-12, item 1: a schema file (schema.sql, in CI any pull
// request's) never runs against the live database. `check --schema` and
// `create --autogenerate` (even --sql) build it in a scratch database, and
// accept DDL only. Plus the CHECK constraint whose deparsed text does not
// survive a round trip.
#include <catch2/catch.hpp>

#include <filesystem>

#include "endpoints.hpp"
#include "schema_project.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;
namespace fs = std::filesystem;

namespace {

int TemporaryDatabases(const TestDatabase& db) {
  return std::stoi(db.Query("SELECT count(*) FROM pg_database WHERE datname LIKE 'credvault_dev_%'").text(0, 0));
}

}  // namespace

TEST_CASE("review 2026-12: a hostile schema file prints no live value, moves no sequence, runs no program",
          "[review][autogen][security_review]") {
  SchemaProject p;
  REQUIRE(p.Cv({"migrate"}).exit_code == 0);
  p.db.Query("INSERT INTO accounts (amazon_account_id, name) VALUES ('amzn1.account.LIVE', 'LiveAccountName7731')");
  p.db.Query("INSERT INTO credentials (account_id, client_secret) SELECT id, 'LiveSecret99812' FROM accounts");
  const std::string sequence_before = p.db.Query("SELECT last_value || '/' || is_called FROM accounts_id_seq").text(0, 0);
  const std::string marker = p.dir.path() + "/program-ran";

  const std::vector<std::string> hostile = {
      // A DO block quoting live rows in its error.
      "CREATE TABLE t (id int);\n"
      "DO $$BEGIN RAISE EXCEPTION '%', (SELECT string_agg(name, ',') FROM public.accounts); END$$;\n",
      // A function reading live rows, run by a materialized view, quoted by a failing cast.
      "CREATE FUNCTION leak() RETURNS text LANGUAGE sql AS $$ SELECT string_agg(client_secret, ',') FROM "
      "public.credentials $$;\nCREATE MATERIALIZED VIEW leaked AS SELECT leak()::int AS v;\n",
      // The same with WITH NO DATA: accepted as DDL, and still nothing live is reachable.
      "CREATE FUNCTION leak() RETURNS text LANGUAGE sql AS $$ SELECT string_agg(client_secret, ',') FROM "
      "public.credentials $$;\nCREATE MATERIALIZED VIEW leaked AS SELECT leak()::int AS v WITH NO DATA;\n",
      // Sequences ignore rollback.
      "CREATE TABLE t (id int);\nSELECT nextval('public.accounts_id_seq');\n",
      "CREATE MATERIALIZED VIEW moved AS SELECT nextval('public.accounts_id_seq') AS v;\n",
      // As a superuser (the tests' role), a program on the database host.
      "CREATE TABLE t (id int);\nCOPY t TO PROGRAM 'touch " + marker + "';\n",
      // Untrusted and C-language functions.
      "CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'libc.so.6', 'getpid';\n",
      "CREATE TABLE t (id int);\nCALL nothing();\n",
      "CREATE TABLE t (id int);\nUPDATE public.accounts SET name = 'overwritten';\n",
  };
  for (const std::string& sql : hostile) {
    INFO(sql);
    p.dir.WriteFile("schema.sql", sql, 0644);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"check", "--schema", p.schema},
          std::vector<std::string>{"create", "--autogenerate", "--sql", "x"},
          std::vector<std::string>{"create", "--autogenerate", "x"}}) {
      CliResult result = p.Cv(args);
      INFO(args.front() << " -> exit " << result.exit_code << "\n" << result.out << result.err);
      CHECK(result.exit_code != 0);
      CHECK(result.exit_code != 1);
      for (const char* secret : {"LiveAccountName7731", "LiveSecret99812"}) {
        CHECK(result.out.find(secret) == std::string::npos);
        CHECK(result.err.find(secret) == std::string::npos);
      }
    }
  }
  CHECK(p.db.Query("SELECT last_value || '/' || is_called FROM accounts_id_seq").text(0, 0) == sequence_before);
  CHECK(!fs::exists(marker));
  CHECK(p.db.Query("SELECT name FROM accounts").text(0, 0) == "LiveAccountName7731");
  CHECK(p.Files() == kShipped);
  CHECK(TemporaryDatabases(p.db) == 0);
  // The refusals name the statement and its line.
  p.dir.WriteFile("schema.sql", hostile.front(), 0644);
  CliResult refused = p.Cv({"check", "--schema", p.schema});
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("schema.sql:2: DO runs code") != std::string::npos);
}

TEST_CASE("review 2026-12: without CREATEDB and without dev_url, check --schema is refused naming dev_url - "
          "with --dev-url it builds there",
          "[review][autogen][security_review]") {
  SchemaProject p;
  TestRole owner(p.db, "cvt_owner");
  p.db.Query("GRANT CONNECT, CREATE ON DATABASE " + db::QuoteIdentifier(p.db.name()) + " TO " +
             db::QuoteIdentifier(owner.name()));
  p.db.Query("GRANT USAGE, CREATE ON SCHEMA public TO " + db::QuoteIdentifier(owner.name()));
  auto env = p.db.Env();
  env["DATABASE_URL"] = owner.url();
  CliResult migrated = p.Cv({"migrate"}, env);
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);

  CliResult refused = p.Cv({"check", "--schema", p.schema}, env);
  INFO(refused.err);
  CHECK(refused.exit_code == 5);
  CHECK(refused.err.find("dev_url") != std::string::npos);
  CHECK(refused.err.find("--dev-url") != std::string::npos);
  CliResult refused_create = p.Cv({"create", "--autogenerate", "--sql", "x"}, env);
  CHECK(refused_create.exit_code == 5);

  TestDatabase dev;
  CliResult checked = p.Cv({"--dev-url", dev.url(), "check", "--schema", p.schema}, env);
  INFO(checked.err);
  CHECK(checked.exit_code == 0);
  auto with_env = env;
  with_env["CREDVAULT_DEV_URL"] = dev.url();
  CliResult generated = p.Cv({"create", "--autogenerate", "--sql", "x"}, with_env);
  INFO(generated.err);
  CHECK(generated.exit_code == 0);
  CHECK(generated.out.find("nothing to generate") != std::string::npos);
  // Nothing is left in the dev database either.
  CHECK(dev.Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'credvault_%'").text(0, 0) == "0");
}

TEST_CASE("review 2026-12: a CHECK (region IN (...)) on a varchar column matches right after its own migration",
          "[review][autogen][security_review]") {
  SchemaProject p;
  REQUIRE(p.Cv({"migrate"}).exit_code == 0);
  std::string edited = ReadFile(p.schema);
  const std::string region = "    region            VARCHAR(16),";
  REQUIRE(edited.find(region) != std::string::npos);
  edited.replace(edited.find(region), region.size(),
                 "    region            VARCHAR(16) CONSTRAINT accounts_region_check CHECK (region IN ('NA', 'EU', "
                 "'FE')),");
  p.dir.WriteFile("schema.sql", edited, 0644);
  CliResult created = p.Cv({"create", "--autogenerate", "region check"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  CliResult migrated = p.Cv({"migrate"});
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  CliResult checked = p.Cv({"check", "--schema", p.schema});
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code == 0);
  CHECK(checked.out == "");
  CliResult again = p.Cv({"create", "--autogenerate", "--sql", "again"});
  INFO(again.out << again.err);
  CHECK(again.out.find("nothing to generate") != std::string::npos);
}
