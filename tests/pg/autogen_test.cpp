// create --autogenerate and check --schema against a real PostgreSQL: the
// corpus of schema changes in tests/data/autogen/, the CLI end to end, and
// the shipped schema.sql.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "migrate/autogenerate.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/sql_parser.hpp"
#include "schema_project.hpp"
#include "support/test_support.hpp"

using namespace credvault::migrate;
using credvault::testing::CliResult;
using credvault::testing::ReadFile;
using credvault::testing::RunCli;
using credvault::testing::SchemaProject;
using credvault::testing::kShipped;
using credvault::testing::SourceDir;
using credvault::testing::TempDir;
using credvault::testing::TestDatabase;
namespace fs = std::filesystem;

namespace {

// A corpus "before" state as the one migration of a folder.
std::string BeforeMigration(const std::string& before_sql) {
  return "-- migrate:up\nSELECT 1;\n" + before_sql + "\n-- migrate:down\nSELECT 1;\n";
}

void Run(credvault::db::Transaction& tx, const Section& section) {
  for (const auto& statement : section.Statements()) {
    const std::string sql = WithoutConcurrently(statement.text);  // the same index, inside this transaction
    if (sql.empty()) continue;
    auto status = tx.Exec(sql);
    INFO("line " << statement.line << ": " << statement.text);
    REQUIRE(status.ok());
  }
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace

// For each pair: autogenerate, apply up, compare with after.sql, apply down,
// compare with before.sql; and autogenerating again once the new files are
// in the folder finds nothing. Everything of a pair happens in scratch
// schemas of transactions that are rolled back, on one connection (of a test
// database: the connections given to Autogenerate stand for the dev database).
TEST_CASE("every corpus pair - autogenerate, up matches after.sql, down matches before.sql", "[autogen]") {
  TestDatabase db;
  auto conn = db.Connect();
  auto second = db.Connect();  // the two scratch schemas of Autogenerate are built side by side
  const fs::path corpus = fs::path(credvault::testing::TestDataDir()) / "autogen";
  std::vector<fs::path> pairs;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.is_directory()) pairs.push_back(entry.path());
  }
  std::sort(pairs.begin(), pairs.end());
  REQUIRE(pairs.size() >= 40);
  const auto started = std::chrono::steady_clock::now();
  for (const fs::path& pair : pairs) {
    const std::string name = pair.filename().string();
    INFO("pair " << name);
    const std::string before_path = (pair / "before.sql").string(), after_path = (pair / "after.sql").string();
    const std::string before_sql = ReadFile(before_path), after_sql = ReadFile(after_path);
    TempDir dir;
    dir.WriteFile("20200101_0001_before.sql", BeforeMigration(before_sql), 0644);
    auto set = MigrationSet::Load(dir.path());
    REQUIRE(set.ok());

    auto generated = Autogenerate(*conn, *set, after_path, after_sql, second.get());
    INFO(generated.status().message());
    REQUIRE(generated.ok());
    REQUIRE(FilesNeeded(*generated) > 0);  // every pair is a change
    auto files = RenderGenerated(*generated, "change", "change", "after.sql", {"20990101_0001", "20990101_0002"});
    std::vector<Migration> migrations;
    for (const auto& file : files) {
      INFO(file.body);
      auto parsed = ParseMigration(dir.path() + "/" + file.file_name, file.body);
      REQUIRE(parsed.ok());
      migrations.push_back(*parsed);
      dir.WriteFile(file.file_name, file.body, 0644);
    }
    std::string all;
    for (const auto& file : files) all += file.body;
    INFO(all);

    auto tx = conn->Begin();
    REQUIRE(tx.ok());
    const std::string live = "corpus_live";
    REQUIRE((*tx)->Exec("CREATE SCHEMA " + live).ok());
    auto use_live = [&] { REQUIRE((*tx)->Exec("SELECT set_config('search_path', $1, true)", {live}).ok()); };
    use_live();
    Run(**tx, set->all().front().up);
    for (const auto& migration : migrations) Run(**tx, migration.up);
    auto found = ReadCatalog(**tx, live);
    REQUIRE(found.ok());
    // As check --schema compares: definitions after the same round trip.
    auto expected = ReadSchemaFileCatalog(**tx, after_path, after_sql);
    REQUIRE(expected.ok());
    auto tripped = ReadRoundTripped(**tx, *expected);
    REQUIRE(tripped.ok());
    CHECK(Lines(CompareCatalogs(AlignRoundTrip(*expected, *tripped, *found), *found)) == "");

    use_live();
    for (auto it = migrations.rbegin(); it != migrations.rend(); ++it) Run(**tx, it->down);
    found = ReadCatalog(**tx, live);
    REQUIRE(found.ok());
    expected = ReadSchemaFileCatalog(**tx, before_path, before_sql);
    REQUIRE(expected.ok());
    tripped = ReadRoundTripped(**tx, *expected);
    REQUIRE(tripped.ok());
    CHECK(Lines(CompareCatalogs(AlignRoundTrip(*expected, *tripped, *found), *found)) == "");
    (*tx)->Abort();

    // With the generated files in the folder, there is nothing left to generate.
    auto again_set = MigrationSet::Load(dir.path());
    REQUIRE(again_set.ok());
    auto again = Autogenerate(*conn, *again_set, after_path, after_sql, second.get());
    REQUIRE(again.ok());
    CHECK(Lines(again->up.statements) + Lines(again->up.concurrent) == "");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN(pairs.size() << " corpus pairs in " << seconds << " s");
  // No scratch schema outlives its transaction.
  CHECK(db.Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'credvault_%' OR nspname = 'corpus_live'")
            .text(0, 0) == "0");
}

TEST_CASE("the shipped schema.sql matches the shipped migrations", "[autogen]") {
  TestDatabase db;
  auto conn = db.Connect();
  auto set = MigrationSet::Load(SourceDir() + "/migrations");
  REQUIRE(set.ok());
  const std::string path = SourceDir() + "/schema.sql";
  auto generated = Autogenerate(*conn, *set, path, ReadFile(path));
  REQUIRE(generated.ok());
  CHECK(Lines(generated->up.statements) + Lines(generated->up.concurrent) == "");
}

TEST_CASE("the schema.sql workflow through the CLI - edit, check exits 6, create --autogenerate, migrate, rollback",
          "[autogen]") {
  SchemaProject p;
  CliResult nothing = p.Cv({"create", "--autogenerate", "nothing yet"});
  INFO(nothing.err);
  CHECK(nothing.exit_code == 0);
  CHECK(nothing.out.find("nothing to generate") != std::string::npos);
  CHECK(p.Files() == kShipped);
  REQUIRE(p.Cv({"migrate"}).exit_code == 0);
  CHECK(p.Cv({"check", "--schema", p.schema}).exit_code == 0);

  // Someone edits schema.sql and forgets to generate: check says what differs.
  const std::string original = ReadFile(p.schema);
  std::string edited = original;
  const std::string status_line = "    status            VARCHAR(32),";
  edited.replace(edited.find(status_line), status_line.size(), status_line + "\n    email             VARCHAR(320),");
  edited += "CREATE INDEX accounts_email_idx ON accounts (email);\n";
  p.dir.WriteFile("schema.sql", edited, 0644);
  CliResult forgot = p.Cv({"check", "--schema", p.schema});
  CHECK(forgot.exit_code == 6);
  CHECK(forgot.out == "schema: column accounts.email: missing\nschema: index accounts_email_idx: missing\n");

  CliResult printed = p.Cv({"create", "--autogenerate", "--sql", "add email to accounts"});
  INFO(printed.err);
  CHECK(printed.exit_code == 0);
  CHECK(printed.out.find("ALTER TABLE accounts ADD COLUMN email character varying(320);") != std::string::npos);
  CHECK(printed.out.find("CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts USING btree (email);") !=
        std::string::npos);
  CHECK(p.Files() == kShipped);  // --sql writes nothing

  CliResult created = p.Cv({"create", "--autogenerate", "add email to accounts"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  CHECK(p.Files() == kShipped + 2);
  CHECK(created.out.find("_add_email_to_accounts.sql\n") != std::string::npos);
  CHECK(created.out.find("_add_email_to_accounts_indexes.sql\n") != std::string::npos);

  CliResult migrated = p.Cv({"migrate", "--strict"});
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  CHECK(p.Cv({"check", "--schema", p.schema}).exit_code == 0);
  CHECK(p.db.Query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_idx'::regclass").text(0, 0) == "t");
  CHECK(p.Cv({"create", "--autogenerate", "again"}).out.find("nothing to generate") != std::string::npos);

  REQUIRE(p.Cv({"rollback", "--steps", "2", "--yes"}).exit_code == 0);
  p.dir.WriteFile("schema.sql", original, 0644);
  CHECK(p.Cv({"check", "--schema", p.schema}).exit_code == 0);
  CHECK(p.db.Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'credvault_%'").text(0, 0) == "0");
}

TEST_CASE("a bad schema file is refused with its line, exit 3, and nothing is written", "[autogen]") {
  SchemaProject p;
  struct Case {
    std::string sql, expected;
  };
  const std::vector<Case> cases = {
      {"CREATE TABLE t (id int);\n\nCREATE TABLE u (id int;\n", "schema.sql:3: syntax error"},
      {"CREATE TABLE public.t (id int);\n", "schema.sql:1: objects are named without a schema"},
      {"CREATE TABLE t (id int);\nCOMMIT;\n", "schema.sql:2: transaction control"},
      {"SET search_path TO public;\n", "schema.sql:1: SET search_path"},
      {"CREATE EXTENSION pgcrypto;\n", "schema.sql:1: CREATE EXTENSION"},
      {"CREATE TABLE t (id int);\nCREATE INDEX i ON missing_table (id);\n", "schema.sql:2: "},
  };
  for (const Case& c : cases) {
    INFO(c.sql);
    p.dir.WriteFile("schema.sql", c.sql, 0644);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"create", "--autogenerate", "x"}, std::vector<std::string>{"check", "--schema", p.schema}}) {
      CliResult result = p.Cv(args);
      INFO(result.err);
      CHECK(result.exit_code == 3);
      CHECK(result.err.find(c.expected) != std::string::npos);
    }
    CHECK(p.Files() == kShipped);
  }
  CliResult missing = p.Cv({"create", "--autogenerate", "--schema", p.dir.path() + "/nope.sql", "x"});
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("cannot read the schema file") != std::string::npos);
  CHECK(p.Cv({"create", "--sql", "x"}).exit_code == 2);  // --sql needs --autogenerate
  CHECK(p.db.Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'credvault_%'").text(0, 0) == "0");
}
