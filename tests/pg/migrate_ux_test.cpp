// What a newcomer meets first, against a real PostgreSQL through the CLI:
// the capacity preflight's printed fix followed literally (an out-of-order
// widening ahead of 20260215_0002), the recorded environment and
// `env set`, rollback's completion line and its --sql preview in
// production, and an unedited `create` template.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "jobs_fixture.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

const std::string kInitial = "20260215_0001_initial_schema.sql";
const std::string kEncrypt = "20260215_0002_encrypt_credentials.sql";

// A copy of the shipped migrations: `create` writes into it, never into the repository.
struct ShippedMigrations {
  TempDir dir;
  ShippedMigrations() {
    for (const std::string& name : {kInitial, kEncrypt}) {
      dir.WriteFile(name, ReadFile(SourceDir() + "/migrations/" + name), 0644);
    }
  }
  std::string path() const { return dir.path(); }
};

// The words of a shell command line as sh would split it: blanks separate
// words, double quotes group (the commands credvault prints use nothing else).
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, in_word = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  REQUIRE(!quoted);
  if (in_word) words.push_back(word);
  return words;
}

// Every line of `text` that is a credvault command, as its arguments (without "credvault").
std::vector<std::vector<std::string>> PrintedCommands(const std::string& text) {
  std::vector<std::vector<std::string>> commands;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string::npos || line.compare(start, 10, "credvault ") != 0) continue;
    auto words = ShellWords(line.substr(start));
    words.erase(words.begin());
    commands.push_back(words);
  }
  return commands;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

TEST_CASE("the capacity preflight's fix for a long refresh token works as printed, ahead of 20260215_0002",
          "[migrate][out-of-order]") {
  TestDatabase db;
  ShippedMigrations migrations;
  Populate(db, 40);  // at 20260215_0001, plaintext
  const std::string long_token = "Atzr|" + std::string(400, 't');  // 405 bytes: over 332, too long for varchar(512) once encrypted
  for (const char* table : {"credentials", "originals"}) {  // before originals moves, below
    REQUIRE(db.Connect()->Exec(std::string("UPDATE ") + table + " SET refresh_token = $1 WHERE id = 7", {long_token}).ok());
  }
  // The expected values live outside the migrated schema, which `check` compares with the migrations.
  REQUIRE(db.Connect()->ExecScript("CREATE SCHEMA expected; CREATE TABLE expected.originals AS TABLE originals; "
                                   "DROP TABLE originals").ok());
  const std::string key = NewBase64Key();
  auto env = KeyEnv(db, key);
  env["CREDVAULT_MIGRATIONS_DIR"] = migrations.path();
  const std::string before = TableChecksum(db);

  auto refused = RunCli({"migrate"}, env);
  REQUIRE(refused.exit_code == 5);
  CHECK(Contains(refused.err, "credentials.refresh_token: 1 value(s) too long"));
  CHECK(Contains(refused.err, "the longest plaintext is 405 bytes, at most 332 fit"));
  CHECK(TableChecksum(db) == before);
  CHECK(RunCli({"current"}, env).out == "20260215_0001\n");

  // Every command the message names, in order, exactly as printed.
  const auto commands = PrintedCommands(refused.err);
  REQUIRE(commands.size() == 3);
  CHECK(commands[0].at(0) == "create");
  CHECK(commands.back() == std::vector<std::string>{"migrate"});
  std::string created;
  for (const auto& command : commands) {
    INFO("credvault " << Joined(command));
    auto result = RunCli(command, env);
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    if (command.at(0) == "create") created = std::filesystem::path(result.out.substr(0, result.out.size() - 1)).filename().string();
    if (Joined(command) == "migrate --out-of-order") {
      // Between the two: the widening is applied, 0002 is the gap still pending.
      CHECK(Contains(result.err, "ahead of pending 20260215_0002"));
      CHECK(Contains(RunCli({"current"}, env).out, "pending before it: 20260215_0002"));
      CHECK(Contains(RunCli({"status"}, env).out, "pending:      1  20260215_0002"));
      auto check = RunCli({"check"}, env);
      INFO(check.out);
      CHECK(check.exit_code == 0);
    }
  }
  REQUIRE(created.size() > 13);
  const std::string widening = created.substr(0, 13);
  CHECK(widening > "20260215_0002");  // the revision id format is unchanged: it sorts after 0002

  auto again = RunCli({"migrate"}, env);
  CHECK(again.exit_code == 0);
  CHECK(Contains(again.err, "nothing to migrate"));
  auto verify = RunCli({"verify"}, env);
  INFO(verify.err);
  CHECK(verify.exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key), "expected.originals", "", 768);

  // Recorded as out of order, and every reader understands it.
  CHECK(db.Query("SELECT applied_ahead_of FROM credvault_schema_history WHERE revision = $1", {widening}).text(0, 0) ==
        "20260215_0002");
  CHECK(db.Query("SELECT details ->> 'ahead_of' FROM credvault_events WHERE kind = 'migrate_out_of_order' AND revision = $1",
                 {widening})
            .text(0, 0) == "[\"20260215_0002\"]");
  CHECK(RunCli({"current"}, env).out == widening + " (head)\n");
  CHECK(RunCli({"check"}, env).exit_code == 0);
  auto status = RunCli({"status"}, env);
  CHECK(Contains(status.out, "pending:      0\n"));
  CHECK(Contains(status.out, "applied ahead: " + widening + " was applied out of order, ahead of 20260215_0002"));
  CHECK(Contains(status.out, "drift:        none"));
  auto history = RunCli({"history"}, env);
  CHECK(Contains(history.out, "(applied out of order, ahead of 20260215_0002)"));
  CHECK(!Contains(history.out, "out-of-order"));

  // Rollback goes back the way it came: 0002 (decrypt) first, then the widening.
  auto down = RunCli({"rollback", "--to", "20260215_0001", "--yes"}, env);
  INFO(down.err);
  REQUIRE(down.exit_code == 0);
  CHECK(down.err.find("rolled back 20260215_0002") < down.err.find("rolled back " + widening));
  CHECK(db.Query("SELECT character_maximum_length FROM information_schema.columns WHERE table_name = 'credentials' "
                 "AND column_name = 'refresh_token'")
            .text(0, 0) == "512");
  CHECK(db.Query("SELECT count(*) FROM credentials c JOIN expected.originals o USING (id) WHERE c.refresh_token IS DISTINCT FROM "
                 "o.refresh_token OR c.client_secret IS DISTINCT FROM o.client_secret")
            .text(0, 0) == "0");
}

TEST_CASE("a widening created but then run through plain migrate is named, not asked for again",
          "[migrate][out-of-order]") {
  TestDatabase db;
  ShippedMigrations migrations;
  Populate(db, 10);
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET refresh_token = 'Atzr|' || repeat('t', 400) WHERE id = 3").ok());
  auto env = KeyEnv(db, NewBase64Key());
  env["CREDVAULT_MIGRATIONS_DIR"] = migrations.path();
  auto created = RunCli({"create", "widen refresh_token", "--up",
                         "ALTER TABLE credentials ALTER COLUMN refresh_token TYPE varchar(1024);"},
                        env);
  REQUIRE(created.exit_code == 0);
  const std::string revision = std::filesystem::path(created.out).filename().string().substr(0, 13);

  auto refused = RunCli({"migrate"}, env);  // sorts the widening after 0002: refused, nothing applied
  CHECK(refused.exit_code == 5);
  CHECK(Contains(refused.err, "If pending " + revision + " already widens the column, apply it ahead instead of "
                              "creating another: credvault migrate --out-of-order --to " + revision));
  CHECK(RunCli({"current"}, env).out == "20260215_0001\n");
  REQUIRE(RunCli({"migrate", "--out-of-order", "--to", revision}, env).exit_code == 0);
  REQUIRE(RunCli({"migrate"}, env).exit_code == 0);
  CHECK(RunCli({"verify"}, env).exit_code == 0);
}

TEST_CASE("migrate --out-of-order refuses a native step and a non-transactional migration", "[migrate][out-of-order]") {
  TestDatabase db;
  ShippedMigrations migrations;
  const std::vector<std::string> base = {"--migrations-dir", migrations.path(), "--env", "development"};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), base.begin(), base.end());
    return RunCli(args, db.Env());
  };
  REQUIRE(run({"migrate", "--to", "20260215_0001"}).exit_code == 0);
  migrations.dir.WriteFile("20261127_0001_concurrent.sql",
                           "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);\n",
                           0644);
  for (const char* revision : {"20260215_0002", "20261127_0001"}) {
    auto refused = run({"migrate", "--out-of-order", "--to", revision});
    CHECK(refused.exit_code == 5);
    CHECK(Contains(refused.err, "--out-of-order applies only a migration that runs in one transaction"));
  }
  CHECK(db.Query("SELECT string_agg(revision, ',') FROM credvault_schema_history").text(0, 0) == "20260215_0001");
  CHECK(run({"migrate", "--out-of-order", "--to", "20990101_0001"}).exit_code == 2);
}

TEST_CASE("the first migrate says which environment it records, and env set changes it with confirmation",
          "[migrate][env]") {
  TestDatabase db;
  TempDir dir;
  dir.WriteFile(kInitial, ReadFile(SourceDir() + "/migrations/" + kInitial), 0644);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--migrations-dir", dir.path()});
    return RunCli(args, db.Env());
  };
  auto recorded = [&] { return db.Query("SELECT value FROM credvault_settings WHERE key = 'environment'").text(0, 0); };
  auto changes = [&] { return db.Query("SELECT count(*) FROM credvault_events WHERE kind = 'environment_changed'").text(0, 0); };

  // No --env: production, said out loud with the way to change it.
  auto first = run({"migrate"});
  REQUIRE(first.exit_code == 0);
  CHECK(Contains(first.err, "recorded environment 'production' for this database"));
  CHECK(Contains(first.err, "`credvault env set NEW --from production --yes`"));
  CHECK(recorded() == "production");
  CHECK(!Contains(run({"migrate"}).err, "recorded environment"));  // only the first time

  auto mismatch = run({"--env", "staging", "migrate"});
  CHECK(mismatch.exit_code == 5);
  CHECK(Contains(mismatch.err, "`credvault env set staging --from production --yes`"));

  // Leaving production: refused without --yes, refused with the wrong --from, nothing changed.
  CHECK(run({"env", "set", "staging", "--from", "production"}).exit_code == 5);
  auto wrong_from = run({"env", "set", "staging", "--from", "development", "--yes"});
  CHECK(wrong_from.exit_code == 5);
  CHECK(Contains(wrong_from.err, "records 'production', not 'development'"));
  CHECK(run({"env", "set", "staging", "--yes"}).exit_code == 2);  // --from is required
  CHECK(run({"env", "set", "qa", "--from", "production", "--yes"}).exit_code == 2);
  CHECK(recorded() == "production");
  CHECK(changes() == "0");

  auto changed = run({"env", "set", "staging", "--from", "production", "--yes"});
  INFO(changed.err);
  REQUIRE(changed.exit_code == 0);
  CHECK(recorded() == "staging");
  CHECK(db.Query("SELECT details::text FROM credvault_events WHERE kind = 'environment_changed'").text(0, 0) ==
        "{\"to\": \"staging\", \"from\": \"production\"}");
  CHECK(run({"--env", "staging", "migrate"}).exit_code == 0);
  CHECK(run({"migrate"}).exit_code == 5);  // production runs are now the mismatch

  // Between non-production environments: a terminal confirmation or --yes.
  CHECK(run({"env", "set", "development", "--from", "staging"}).exit_code == 5);
  CHECK(recorded() == "staging");
  REQUIRE(run({"env", "set", "development", "--from", "staging", "--yes"}).exit_code == 0);
  CHECK(recorded() == "development");
  CHECK(changes() == "2");
}

TEST_CASE("rollback logs each completed migration and where the database is", "[migrate][rollback]") {
  TestDatabase db;
  TempDir dir;
  dir.WriteFile(kInitial, ReadFile(SourceDir() + "/migrations/" + kInitial), 0644);
  dir.WriteFile("20260301_0001_add_email_to_accounts.sql",
                "-- migrate:up\nALTER TABLE accounts ADD COLUMN email varchar(320);\n"
                "-- migrate:down\nALTER TABLE accounts DROP COLUMN email;\n",
                0644);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--migrations-dir", dir.path(), "--env", "development"});
    return RunCli(args, db.Env());
  };
  REQUIRE(run({"migrate"}).exit_code == 0);
  auto down = run({"rollback", "--yes"});
  REQUIRE(down.exit_code == 0);
  CHECK(Contains(down.err, "rolling back 20260301_0001"));
  CHECK(Contains(down.err, "rolled back 20260301_0001 in "));
  CHECK(Contains(down.err, "rolled back 1 migration(s): the database is at 20260215_0001\n"));
  auto all = run({"rollback", "--to", "base", "--yes"});
  REQUIRE(all.exit_code == 0);
  CHECK(Contains(all.err, "rolled back 1 migration(s): the database is at base"));
}

TEST_CASE("rollback --sql says, and exits 5, when rollback would refuse the plan", "[migrate][rollback]") {
  TestDatabase db;
  ShippedMigrations migrations;
  auto env = db.Env();
  env["SECRET_KEY"] = NewBase64Key();
  auto run = [&](const std::string& environment, std::vector<std::string> args) {
    args.insert(args.begin(), {"--migrations-dir", migrations.path(), "--env", environment});
    return RunCli(args, env);
  };
  REQUIRE(run("production", {"migrate"}).exit_code == 0);
  const std::string history = db.Query("SELECT string_agg(revision, ',' ORDER BY revision) FROM credvault_schema_history").text(0, 0);

  auto preview = run("production", {"rollback", "--sql"});
  CHECK(preview.exit_code == 5);
  CHECK(Contains(preview.out, "-- credvault rollback would REFUSE this plan: 20260215_0002 (step decrypt)"));
  CHECK(Contains(preview.out, "never run in production"));
  CHECK(Contains(preview.out, "native step 'decrypt'"));  // the plan is still shown
  CHECK(Contains(preview.err, "never run in production"));
  // The real rollback refuses for the same reason.
  auto real = run("production", {"rollback", "--yes"});
  CHECK(real.exit_code == 5);
  CHECK(Contains(real.err, "never run in production"));

  auto other_env = run("staging", {"rollback", "--sql"});
  CHECK(other_env.exit_code == 5);
  CHECK(Contains(other_env.out, "would REFUSE this plan: this database was migrated for 'production'"));
  CHECK(db.Query("SELECT string_agg(revision, ',' ORDER BY revision) FROM credvault_schema_history").text(0, 0) == history);

  // A plan rollback would run previews as before, exit 0.
  REQUIRE(run("production", {"env", "set", "staging", "--from", "production", "--yes"}).exit_code == 0);
  auto allowed = run("staging", {"rollback", "--sql"});
  CHECK(allowed.exit_code == 0);
  CHECK(!Contains(allowed.out, "REFUSE"));
}

TEST_CASE("an unedited create template is refused by migrate before anything is applied", "[migrate][create]") {
  TestDatabase db;
  TempDir dir;
  dir.WriteFile(kInitial, ReadFile(SourceDir() + "/migrations/" + kInitial), 0644);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--migrations-dir", dir.path(), "--env", "development"});
    return RunCli(args, db.Env());
  };
  auto created = run({"create", "add email to accounts"});
  REQUIRE(created.exit_code == 0);
  const std::string path = created.out.substr(0, created.out.size() - 1);

  auto refused = run({"migrate"});
  CHECK(refused.exit_code == 5);
  CHECK(Contains(refused.err, path + ": its -- migrate:up section has no SQL"));
  CHECK(db.Query("SELECT to_regclass('accounts') IS NULL").text(0, 0) == "t");  // not even 0001 ran
  CHECK(run({"migrate", "--out-of-order"}).exit_code == 5);

  // Once written, it applies; create --up writes it in one go (and checks it).
  dir.WriteFile(std::filesystem::path(path).filename().string(),
                "-- migrate:up\nALTER TABLE accounts ADD COLUMN email varchar(320);\n"
                "-- migrate:down\nALTER TABLE accounts DROP COLUMN email;\n",
                0644);
  REQUIRE(run({"migrate"}).exit_code == 0);
  auto bad_sql = run({"create", "bad", "--up", "CREATE INDEX CONCURRENTLY x ON accounts (name);"});
  CHECK(bad_sql.exit_code == 3);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 2);
  auto with_sql = run({"create", "add region index", "--up", "CREATE INDEX accounts_region_idx ON accounts (region);",
                       "--down", "DROP INDEX accounts_region_idx;"});
  REQUIRE(with_sql.exit_code == 0);
  REQUIRE(run({"migrate"}).exit_code == 0);
  CHECK(db.Query("SELECT to_regclass('accounts_region_idx') IS NOT NULL").text(0, 0) == "t");
  CHECK(run({"rollback", "--yes"}).exit_code == 0);
  CHECK(db.Query("SELECT to_regclass('accounts_region_idx') IS NULL").text(0, 0) == "t");
}
