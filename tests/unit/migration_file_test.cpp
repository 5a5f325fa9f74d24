// Migration files: sections, options, steps, checksums and clear errors.
#include <catch2/catch.hpp>

#include "migrate/migration_file.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/sql_parser.hpp"
#include "migrate/sql_splitter.hpp"
#include "support/test_support.hpp"

using namespace credvault::migrate;

TEST_CASE("sections, options and steps are parsed", "[migration_file]") {
  auto m = ParseMigration("/m/20260301_0002_add_things.sql",
                          "-- header comment\n\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (c);\n"
                          "-- migrate:down\nDROP INDEX i;\n");
  REQUIRE(m.ok());
  CHECK(m->revision == "20260301_0002");
  CHECK(m->Description() == "add things");
  CHECK(!m->up.transactional);
  CHECK(m->down.RunsInTransaction());
  CHECK(m->up.Statements().size() == 1);
  CHECK(m->up.Statements()[0].line == 4);

  auto step = ParseMigration("/m/20260215_0002_encrypt.sql", "-- migrate:up\n-- migrate:step encrypt\n-- migrate:down\n-- migrate:step decrypt\n");
  REQUIRE(step.ok());
  CHECK(*step->up.step == "encrypt");
  CHECK(*step->down.step == "decrypt");
  CHECK(!step->up.RunsInTransaction());
}

TEST_CASE("malformed migration files are refused with file and line", "[migration_file]") {
  auto error = [](const std::string& name, const std::string& content) {
    auto m = ParseMigration("/m/" + name, content);
    REQUIRE(!m.ok());
    return m.status().message();
  };
  CHECK(error("20260301_0001_x.sql", "CREATE TABLE t (id int);\n").find("/m/20260301_0001_x.sql:1: SQL before") == 0);
  CHECK(error("20260301_0001_x.sql", "-- just a comment\n").find(":1: no -- migrate:up section") != std::string::npos);
  CHECK(error("20260301_0001_x.sql", "-- migrate:up\nSELECT 1;\n-- migrate:up\n").find(":3: second") != std::string::npos);
  CHECK(error("20260301_0001_x.sql", "-- migrate:up transaction:maybe\n").find(":1: unknown option") != std::string::npos);
  CHECK(error("20260301_0001_x.sql", "-- migrate:sideways\n").find(":1: unknown directive") != std::string::npos);
  CHECK(error("20260301_0001_x.sql", "-- migrate:up\n-- migrate:step encrypt\nSELECT 1;\n").find(":3: a section with") !=
        std::string::npos);
  CHECK(error("20260301_0001_x.sql", "-- migrate:up\nSELECT 1;\n\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (c);\n")
            .find(":4: CONCURRENTLY cannot run inside a transaction") != std::string::npos);
  CHECK(error("20260301_0001_x.sql", "-- migrate:up\nSELECT 'ok';\nSELECT '\xff';\n").find(":3: file is not valid UTF-8") !=
        std::string::npos);
  for (const char* bad : {"2026031_0001_x.sql", "20260301_001_x.sql", "20260301_0001_Add.sql", "20260301_0001.sql",
                          "20260301_0001_x.SQL", "x_20260301_0001.sql"}) {
    INFO(bad);
    CHECK(error(bad, "-- migrate:up\n").find("file names must look like") != std::string::npos);
  }
}

TEST_CASE("duplicate revision ids in a folder are refused naming both files", "[migration_file]") {
  credvault::testing::TempDir dir;
  auto a = dir.WriteFile("20260301_0001_one.sql", "-- migrate:up\nSELECT 1;\n", 0644);
  auto b = dir.WriteFile("20260301_0001_two.sql", "-- migrate:up\nSELECT 2;\n", 0644);
  auto set = MigrationSet::Load(dir.path());
  REQUIRE(!set.ok());
  CHECK(set.status().message().find("20260301_0001_one.sql") != std::string::npos);
  CHECK(set.status().message().find("20260301_0001_two.sql") != std::string::npos);
  CHECK(MigrationSet::Load(dir.path() + "/nope").status().code() == credvault::StatusCode::kNotFound);
}

TEST_CASE("checksums ignore CRLF versus LF and nothing else", "[migration_file]") {
  CHECK(MigrationChecksum("a\nb\n") == MigrationChecksum("a\r\nb\r\n"));
  CHECK(MigrationChecksum("a\nb\n") != MigrationChecksum("a\nb \n"));
  CHECK(MigrationChecksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("the SQL splitter respects quotes, dollar quotes and comments", "[migration_file]") {
  auto statements = SplitSqlStatements(
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
      "INSERT INTO t VALUES ('a;b', \"c;d\"); -- trailing; comment\n"
      "/* block; comment */ SELECT $tag$ ; $tag$;\n"
      "-- only a comment;\n");
  REQUIRE(statements.size() == 3);
  CHECK(statements[0].text.find("$$ SELECT 1; $$") != std::string::npos);
  CHECK(statements[1].text.find("'a;b'") != std::string::npos);
  CHECK(statements[1].line == 2);
  CHECK(statements[2].line == 3);
}

TEST_CASE("the splitter is PostgreSQL's parser - BEGIN ATOMIC bodies, nested comments, lines", "[migration_file]") {
  auto statements = SplitSqlStatements(
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\n"
      "/* outer /* nested; */ still comment; */\n-- lead\nSELECT 3;\n");
  REQUIRE(statements.size() == 2);
  CHECK(statements[0].text.find("SELECT 2;") != std::string::npos);
  CHECK(statements[0].line == 1);
  CHECK(statements[1].line == 8);  // the line of SELECT, not of the comments before it
  // Text that does not parse is still split (by the scanner) so the server
  // reports the bad statement with its own line.
  auto bad = SplitSqlStatements("SELECT 1;\nSELEC 2;\nSELECT 3;\n", 10);
  REQUIRE(bad.size() == 3);
  CHECK(bad[1].line == 11);
  CHECK(SplitSqlStatements("-- nothing;\n/* at all; */\n").empty());
  CHECK(SplitSqlStatements(std::string("SELECT 1;\0SELECT 2;", 19)).size() == 1);  // a NUL: one statement the server refuses
}

TEST_CASE("CONCURRENTLY is found from the parse tree, not from words", "[migration_file]") {
  auto refused = [](const std::string& sql) {
    auto m = ParseMigration("/m/20260301_0001_x.sql", "-- migrate:up\n" + sql + "\n");
    return !m.ok() && m.status().message().find("CONCURRENTLY cannot run inside a transaction") != std::string::npos;
  };
  CHECK(refused("CREATE INDEX CONCURRENTLY i ON t (c);"));
  CHECK(refused("create unique index concurrently if not exists i on t (c);"));
  CHECK(refused("DROP INDEX CONCURRENTLY i;"));
  CHECK(refused("REINDEX INDEX CONCURRENTLY i;"));
  CHECK(refused("REINDEX (CONCURRENTLY) TABLE t;"));
  CHECK(refused("ALTER TABLE p DETACH PARTITION c CONCURRENTLY;"));
  CHECK(refused("CREATE INDEX /* c */ CONCURRENTLY i ON t (c);"));
  // Words in names, strings and comments are not statements.
  CHECK(!refused("CREATE INDEX i ON t (\"concurrently\");"));
  CHECK(!refused("INSERT INTO notes VALUES ('create index concurrently x on y');"));
  CHECK(!refused("-- we could drop index concurrently here\nSELECT 1;"));
  CHECK(!refused("CREATE INDEX i ON t (c);"));

  CHECK(WithoutConcurrently("CREATE INDEX CONCURRENTLY i ON t (c)") == "CREATE INDEX  i ON t (c)");
  CHECK(WithoutConcurrently("REINDEX INDEX CONCURRENTLY i").empty());
  CHECK(WithoutConcurrently("INSERT INTO t VALUES ('concurrently')") == "INSERT INTO t VALUES ('concurrently')");
}

TEST_CASE("parse errors name the line, and scanning keeps comments", "[migration_file]") {
  auto parsed = ParseSql("SELECT 1;\n\nSELEC 2;", 5);
  REQUIRE(!parsed.ok());
  CHECK(parsed.status().message().rfind("line 7: syntax error", 0) == 0);
  auto tokens = ScanSql("SELECT 1 -- c\n");
  REQUIRE(tokens.ok());
  REQUIRE(tokens->size() == 3);
  CHECK(tokens->at(0).keyword);
  CHECK(tokens->at(2).comment);
  CHECK(!ScanSql("SELECT 'unterminated").ok());
}
