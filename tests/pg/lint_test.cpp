// credvault lint and migrate --strict against a real PostgreSQL: one fixture
// per finding (tests/data/lint/), checked against live rows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include "support/test_support.hpp"

using credvault::testing::CliResult;
using credvault::testing::ReadFile;
using credvault::testing::RunCli;
using credvault::testing::SourceDir;
using credvault::testing::TempDir;
using credvault::testing::TestDatabase;

namespace {

const std::string kInitial = "20260215_0001_initial_schema.sql";

std::string Fixture(const std::string& name) { return credvault::testing::TestDataDir() + "/lint/" + name; }

// The shipped initial schema, with rows: a 200-character account name, a
// 300-byte plaintext refresh token, three accounts (large_table_rows = 2).
struct LintDatabase {
  TestDatabase db;
  TempDir dir;
  std::string migrations, config;
  LintDatabase() {
    migrations = dir.path() + "/migrations";
    std::filesystem::create_directory(migrations);
    dir.WriteFile("migrations/" + kInitial, ReadFile(SourceDir() + "/migrations/" + kInitial), 0644);
    config = dir.WriteFile("credvault.toml", "[lint]\nlarge_table_rows = 2\n", 0644);
    REQUIRE(Cv({"migrate"}).exit_code == 0);
    db.Query("INSERT INTO accounts (amazon_account_id, name, region) VALUES "
             "('a1', repeat('n', 200), 'eu'), ('a2', 'b', 'na'), ('a3', 'c', 'fe')");
    db.Query("INSERT INTO credentials (account_id, refresh_token) SELECT id, 'Atzr|' || repeat('x', 295) FROM accounts "
             "WHERE amazon_account_id = 'a1'");
  }
  CliResult Cv(std::vector<std::string> args) const {
    std::vector<std::string> full = {"--config", config, "--migrations-dir", migrations, "--env", "development"};
    full.insert(full.end(), args.begin(), args.end());
    return RunCli(full, db.Env());
  }
  // Adds a fixture to the migrations folder (as a pending migration).
  void AddPending(const std::string& name) const { dir.WriteFile("migrations/" + name, ReadFile(Fixture(name)), 0644); }
};

}  // namespace

TEST_CASE("lint - one fixture per finding, with file, line, what, why and the alternative", "[lint]") {
  LintDatabase ldb;
  struct Case {
    std::string file;
    int exit_code;
    std::vector<std::string> expected;  // substrings of stdout
  };
  const std::vector<Case> cases = {
      {"20300101_0001_drop_table.sql", 5, {"20300101_0001_drop_table.sql:3: destructive: DROP TABLE profiles", "Instead:"}},
      {"20300101_0002_drop_column.sql", 5, {"20300101_0002_drop_column.sql:3: destructive: DROP COLUMN accounts.status"}},
      {"20300101_0003_drop_column_allowed.sql", 0, {}},
      {"20300101_0004_narrow_type.sql", 5, {"20300101_0004_narrow_type.sql:2: destructive: ALTER COLUMN accounts.region TYPE narrows it"}},
      {"20300101_0005_narrow_below_data.sql", 5,
       {"20300101_0005_narrow_below_data.sql:3: narrowing: accounts.name narrowed to 100 characters, but its longest value "
        "has 200 (3 rows)"}},
      {"20300101_0006_narrow_encrypted.sql", 5,
       {"20300101_0006_narrow_encrypted.sql:3: narrowing: credentials.refresh_token (encrypted) narrowed to 400 characters, "
        "but its longest plaintext has 300 bytes, 469 characters once encrypted (1 rows)",
        "at least 469 characters"}},
      {"20300101_0007_set_not_null.sql", 5, {"20300101_0007_set_not_null.sql:2: not_null: SET NOT NULL on accounts.region", "NOT VALID"}},
      {"20300101_0008_add_not_null.sql", 5,
       {"20300101_0008_add_not_null.sql:2: not_null: ADD COLUMN accounts.tier NOT NULL without a default"}},
      {"20300101_0009_blocking_index.sql", 5,
       {"20300101_0009_blocking_index.sql:3: blocking_index: CREATE INDEX accounts_region_idx without CONCURRENTLY on accounts, "
        "more than 2 rows", "transaction:false"}},
      {"20300101_0010_no_down.sql", 5, {"20300101_0010_no_down.sql:1: no_down: no -- migrate:down section"}},
      {"20300101_0011_clean.sql", 0, {}},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    CliResult result = ldb.Cv({"lint", Fixture(c.file)});
    INFO(result.out << result.err);
    CHECK(result.exit_code == c.exit_code);
    for (const auto& text : c.expected) CHECK(result.out.find(text) != std::string::npos);
    if (c.exit_code == 0) CHECK(result.out.empty());
    // One finding per fixture.
    if (c.exit_code == 5) CHECK(std::count(result.out.begin(), result.out.end(), '\n') == 1);
  }
  // Nothing was applied or changed by linting.
  CHECK(ldb.db.Query("SELECT count(*) FROM credvault_schema_history").text(0, 0) == "1");
  CHECK(ldb.db.Query("SELECT max(char_length(name)) FROM accounts").text(0, 0) == "200");
}

TEST_CASE("lint of the pending migrations, migrate warns and migrate --strict refuses", "[lint]") {
  LintDatabase ldb;
  {
    // create --up lints the SQL it is given (a warning; the file is written).
    CliResult created = ldb.Cv({"create", "drop regions", "--up", "ALTER TABLE accounts DROP COLUMN region;", "--down",
                                "ALTER TABLE accounts ADD COLUMN region varchar(16);"});
    INFO(created.err);
    CHECK(created.exit_code == 0);
    CHECK(created.err.find("destructive: DROP COLUMN accounts.region") != std::string::npos);
    REQUIRE(created.out.size() > 1);
    std::filesystem::remove(created.out.substr(0, created.out.size() - 1));
  }
  ldb.AddPending("20300101_0011_clean.sql");
  CHECK(ldb.Cv({"lint"}).exit_code == 0);
  ldb.AddPending("20300101_0001_drop_table.sql");
  CliResult lint = ldb.Cv({"lint"});
  CHECK(lint.exit_code == 5);
  CHECK(lint.out.find("20300101_0001_drop_table.sql:3: destructive") != std::string::npos);

  CliResult strict = ldb.Cv({"migrate", "--strict"});
  INFO(strict.err);
  CHECK(strict.exit_code == 5);
  CHECK(strict.err.find("nothing applied") != std::string::npos);
  CHECK(ldb.db.Query("SELECT count(*) FROM credvault_schema_history").text(0, 0) == "1");
  CHECK(ldb.db.Query("SELECT to_regclass('profiles') IS NOT NULL").text(0, 0) == "t");

  CliResult plain = ldb.Cv({"migrate"});
  INFO(plain.err);
  CHECK(plain.exit_code == 0);
  CHECK(plain.err.find("lint: ") != std::string::npos);
  CHECK(ldb.db.Query("SELECT to_regclass('profiles') IS NULL").text(0, 0) == "t");
}
