// create --autogenerate and check --schema against a real PostgreSQL: the
// corpus of schema changes in tests/data/autogen/, the CLI end to end, and
// the shipped schema.sql.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "migrate/autogenerate.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/sql_parser.hpp"
#include "support/test_support.hpp"

using namespace credvault::migrate;
using credvault::testing::CliResult;
using credvault::testing::ReadFile;
using credvault::testing::RunCli;
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
// schemas of transactions that are rolled back, on one connection.
TEST_CASE("every corpus pair - autogenerate, up matches after.sql, down matches before.sql", "[autogen]") {
  TestDatabase db;
  auto conn = db.Connect();
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

    auto generated = Autogenerate(*conn, *set, after_path, after_sql);
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
    auto expected = ReadSchemaFileCatalog(**tx, after_path, after_sql);
    REQUIRE(expected.ok());
    CHECK(Lines(CompareCatalogs(*expected, *found)) == "");

    use_live();
    for (auto it = migrations.rbegin(); it != migrations.rend(); ++it) Run(**tx, it->down);
    found = ReadCatalog(**tx, live);
    REQUIRE(found.ok());
    expected = ReadSchemaFileCatalog(**tx, before_path, before_sql);
    REQUIRE(expected.ok());
    CHECK(Lines(CompareCatalogs(*expected, *found)) == "");
    (*tx)->Abort();

    // With the generated files in the folder, there is nothing left to generate.
    auto again_set = MigrationSet::Load(dir.path());
    REQUIRE(again_set.ok());
    auto again = Autogenerate(*conn, *again_set, after_path, after_sql);
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
