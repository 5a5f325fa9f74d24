// The exit codes are a contract other programs rely on (docs/CLI.md, "Exit
// codes"). One table: for every failure class of that table, every command
// that can hit it, run through the built CLI against a real PostgreSQL, with
// the exit code docs/CLI.md promises.
#include <catch2/catch.hpp>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>

#include "credvault/keyring.hpp"
#include "endpoints.hpp"
#include "jobs_fixture.hpp"

using namespace credvault::testing;

namespace {

using Env = std::map<std::string, std::optional<std::string>>;

struct Row {
  int expected;
  std::string failure;  // the class of docs/CLI.md's table, in words
  std::string command;
  std::function<CliResult()> run;
};

const std::string kPut = "{\"client_secret\": \"amzn1.oa2-cs.v1.0123456789abcdef\"}";
const std::string kMigrationLockKey = "427071263094";  // src/migrate/migration_lock.cpp
const std::string kHiddenPassword = "Pw0rdHidden";

// The codes of docs/CLI.md's "Exit codes" table.
std::set<int> DocumentedExitCodes() {
  const std::string doc = ReadFile(SourceDir() + "/docs/CLI.md");
  const auto start = doc.find("## Exit codes");
  REQUIRE(start != std::string::npos);
  const std::string section = doc.substr(start, doc.find("\n## ", start + 1) - start);
  std::set<int> codes;
  const std::regex row(R"(\n\| (\d+) \|)");
  for (std::sregex_iterator it(section.begin(), section.end(), row), end; it != end; ++it) {
    codes.insert(std::stoi((*it)[1].str()));
  }
  return codes;
}

Env With(Env env, const Env& more) {
  for (const auto& [name, value] : more) env[name] = value;
  return env;
}

int Count(const TestDatabase& db, const std::string& sql, const credvault::db::Params& params = {}) {
  return std::stoi(db.Query(sql, params).text(0, 0));
}

// Whether process `pid` catches SIGTERM (its SigCgt mask in /proc): the CLI
// installs its stop handler first thing in main.
bool CatchesSigterm(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigCgt:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (SIGTERM - 1)) & 1;
  }
  return false;
}

// Runs the CLI, sends SIGTERM once `started()` is true and the process has
// its stop handler (a session of an earlier process of the same name can
// linger in pg_stat_activity for a moment, and under ASan the process starts
// slowly: the signal must not beat the handler), returns the result.
CliResult Interrupt(const std::vector<std::string>& args, const Env& env, const std::function<bool()>& started) {
  CliProcess job(args, env);
  REQUIRE(WaitFor([&] { return CatchesSigterm(job.pid()) && started(); }, std::chrono::seconds(10)));
  return job.Kill(SIGTERM);
}

// Runs the CLI while another session holds the migration lock.
CliResult WhileMigrationLockHeld(const TestDatabase& db, const std::vector<std::string>& args, const Env& env) {
  auto holder = db.Connect();
  REQUIRE(holder->Exec("SELECT pg_advisory_lock($1::bigint)", {kMigrationLockKey}).ok());
  return RunCli(args, env);
}

// Runs the CLI while another transaction holds credentials row 1.
CliResult WhileRowLocked(const TestDatabase& db, const std::vector<std::string>& args, const Env& env) {
  auto holder = db.Connect();
  auto tx = holder->Begin();
  REQUIRE(tx.ok());
  REQUIRE((*tx)->Exec("UPDATE credentials SET client_id = client_id WHERE id = 1").ok());
  return RunCli(args, env);
}

// A database at head with `rows` accounts whose values are encrypted under `key`.
void EncryptedAtHead(const TestDatabase& db, int rows, const std::string& key) {
  Populate(db, rows);
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, key)).exit_code == 0);
}

// Swaps the client_secret of accounts 1 and 2: both fail to authenticate.
void MoveValues(const TestDatabase& db) {
  REQUIRE(db.Connect()
              ->ExecScript("UPDATE credentials a SET client_secret = b.client_secret FROM credentials b "
                           "WHERE (a.account_id, b.account_id) IN ((1, 2), (2, 1))")
              .ok());
}

// A database at head whose accounts 1-3 share kClientId, put through `put`
// (indexed), then `sql` run on it.
const std::string kClientId = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";
void OneClientAtHead(const TestDatabase& db, const std::string& key, const std::string& sql = "") {
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, key)).exit_code == 0);
  REQUIRE(db.Connect()->Exec("INSERT INTO accounts (id, amazon_account_id) SELECT g, 'AMZ' || g FROM generate_series(1, 3) g").ok());
  for (const std::string account : {"1", "2", "3"}) {
    REQUIRE(RunCli({"put", "--account", account}, KeyEnv(db, key),
                   "{\"client_id\": \"" + kClientId + "\", \"client_secret\": \"amzn1.oa2-cs.v1.s\"}")
                .exit_code == 0);
  }
  if (!sql.empty()) REQUIRE(db.Connect()->ExecScript(sql).ok());
}

// The shipped migrations, copied so that a test may edit them.
struct MigrationsCopy {
  TempDir dir;
  MigrationsCopy() {
    for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/migrations")) {
      dir.WriteFile(entry.path().filename().string(), ReadFile(entry.path().string()), 0644);
    }
  }
  std::string path(const std::string& name = "") const { return dir.path() + (name.empty() ? "" : "/" + name); }
};

}  // namespace

TEST_CASE("every exit code of the documented table, for every command that can hit it", "[cli][exit_codes]") {
  const std::string a = NewBase64Key(), b = NewBase64Key();
  const std::string kid_b = Ring(b).primary_kid();
  TempDir files;
  const std::string broken_config = files.WriteFile("broken.toml", "environment = \"staging\"\n[keys\n");
  const std::string no_lock_wait = files.WriteFile("no_wait.toml", "[migrate]\nlock_timeout = 0\n[jobs]\nlock_wait = 0\n");
  // Small batches: a job is still running when the test sees its first batch and signals it.
  const std::string small_batches = files.WriteFile("small.toml", "[jobs]\nbatch_size = 20\n");
  const std::string one_row_batches = files.WriteFile("one.toml", "[jobs]\nbatch_size = 1\n");
  const std::string loose_key = files.WriteFile("loose.key", a + "\n", 0644);
  const std::string existing_key = files.WriteFile("existing.key", a + "\n", 0600);

  // Databases, each in the state its rows need.
  TestDatabase head;  // at head, 30 accounts encrypted under a, account 50000 without credentials
  EncryptedAtHead(head, 30, a);
  REQUIRE(head.Connect()->Exec("INSERT INTO accounts (id, amazon_account_id, name) VALUES (50000, 'AMZ50000', 'x')").ok());
  TestRole no_createdb(head, "cvt_nocreatedb");  // may log in to head, may not create databases
  TestDatabase plain;  // at 20260215_0001, plaintext
  Populate(plain, 30);
  TestDatabase moved;  // at head, accounts 1 and 2 with each other's client_secret
  EncryptedAtHead(moved, 30, a);
  MoveValues(moved);
  TestDatabase moved_for_rollback;
  EncryptedAtHead(moved_for_rollback, 30, a);
  MoveValues(moved_for_rollback);
  TestDatabase malformed;  // at 20260215_0001, one value that starts with cv1: but is not ciphertext
  Populate(malformed, 30);
  REQUIRE(malformed.Connect()->Exec("UPDATE credentials SET client_id = 'cv1:x:zz:broken' WHERE id = 5").ok());
  TestDatabase too_long;  // at 20260215_0001, a refresh token that cannot fit once encrypted
  Populate(too_long, 30);
  REQUIRE(too_long.Connect()->Exec("UPDATE credentials SET refresh_token = repeat('t', 400) WHERE id = 3").ok());
  TestDatabase gcm;  // at head, one AES-GCM value that fits under g but not once rotated to x
  EncryptedAtHead(gcm, 5, a);
  {
    auto sealed = MakeKeyring(a, {}, credvault::Algorithm::kAes256Gcm)
                      .Encrypt(std::string(340, 't'), credvault::ValueContext{"credentials", "refresh_token", "1"});
    REQUIRE(sealed.ok());
    REQUIRE(gcm.Connect()->Exec("UPDATE credentials SET refresh_token = $1 WHERE account_id = 1", {*sealed}).ok());
  }
  TestDatabase production;  // at head, recorded as production
  REQUIRE(RunCli({"--env", "production", "migrate"}, KeyEnv(production, a)).exit_code == 0);
  TestDatabase behind;  // at 20260215_0001
  Populate(behind, 3);
  MigrationsCopy edited;  // applied, then edited (and later deleted)
  TestDatabase checksum;
  const Env checksum_env = With(KeyEnv(checksum, a), {{"CREDVAULT_MIGRATIONS_DIR", edited.path()}});
  REQUIRE(RunCli({"migrate"}, checksum_env).exit_code == 0);
  const std::string initial = edited.path("20260215_0001_initial_schema.sql");
  edited.dir.WriteFile("20260215_0001_initial_schema.sql", ReadFile(initial) + "-- an edit after it was applied\n", 0644);
  TestDatabase drift;  // at 20260215_0001 with a column no migration made, and an Alembic version table
  REQUIRE(RunCli({"migrate", "--to", "20260215_0001"}, KeyEnv(drift, a)).exit_code == 0);
  REQUIRE(drift.Connect()
              ->ExecScript("ALTER TABLE accounts ADD COLUMN legacy_note text;"
                           "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL);"
                           "INSERT INTO alembic_version VALUES ('20260215_0001')")
              .ok());
  MigrationsCopy failing;  // a migration whose down PostgreSQL rejects, applied
  failing.dir.WriteFile("20270301_0001_bad_down.sql",
                        "-- migrate:up\nCREATE TABLE extra (id int);\n-- migrate:down\nDROP TABLE no_such_table;\n", 0644);
  TestDatabase internal;
  const Env internal_env = With(KeyEnv(internal, a), {{"CREDVAULT_MIGRATIONS_DIR", failing.path()}});
  REQUIRE(RunCli({"migrate"}, internal_env).exit_code == 0);
  TestDatabase client;  // at head, accounts 1-3 of kClientId, indexed
  OneClientAtHead(client, a);
  TestDatabase unindexed;  // the same with one row not indexed
  OneClientAtHead(unindexed, a, "UPDATE credentials SET client_id_bidx = NULL WHERE account_id = 2");
  TestDatabase moved_client_id;  // the same with account 2's client_id moved to account 3
  OneClientAtHead(moved_client_id, a,
                  "UPDATE credentials SET client_id = (SELECT client_id FROM credentials WHERE account_id = 2) "
                  "WHERE account_id = 3");
  TestDatabase big;  // at 20260215_0001, enough rows for a job to be stopped halfway
  Populate(big, 20000);

  const Env unreachable = {{"DATABASE_URL", "postgresql://ops:" + kHiddenPassword + "@127.0.0.1:1/ads"},
                           {"SECRET_KEY", a},
                           {"CREDVAULT_ENV", "development"},
                           {"CREDVAULT_MIGRATIONS_DIR", SourceDir() + "/migrations"}};

  // What each command needs to get past parsing, and the stdin of put.
  const std::map<std::string, std::vector<std::string>> minimal = {
      {"migrate", {}},         {"rollback", {"--to", "20260215_0001", "--yes"}}, {"current", {}},   {"history", {}},
      {"status", {}},          {"create", {"widen"}},   {"stamp", {"20260215_0001"}},
      {"reset", {"--yes"}},    {"check", {}},           {"keygen", {}},    {"keys", {}},
      {"encrypt", {}},         {"decrypt", {"--yes"}},  {"rotate", {}},    {"verify", {}},
      {"put", {"--account", "1"}},                      {"get", {"--account", "1"}},
      {"lint", {}},            {"find", {"--client-id", kClientId}},         {"client-secret", {"status"}}};
  auto args_of = [&](const std::string& command, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {command};
    const auto& more = minimal.at(command);
    args.insert(args.end(), more.begin(), more.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto stdin_of = [&](const std::string& command) { return command == "put" ? kPut : std::string(); };

  std::vector<Row> rows;
  auto add = [&](int expected, const std::string& failure, const std::string& command, std::function<CliResult()> run) {
    rows.push_back({expected, failure, command, std::move(run)});
  };

  // 1: a migration statement PostgreSQL rejected.
  add(1, "a down statement PostgreSQL rejects", "rollback",
      [&] { return RunCli({"rollback", "--yes"}, internal_env); });
  add(1, "an up statement PostgreSQL rejects", "migrate", [&] {
    failing.dir.WriteFile("20270301_0002_bad_up.sql",
                          "-- migrate:up\nINSERT INTO no_such_table VALUES (1);\n-- migrate:down\nSELECT 1;\n", 0644);
    return RunCli({"migrate"}, internal_env);
  });

  // 2: usage.
  for (const auto& entry : minimal) {
    const std::string command = entry.first;
    add(2, "unknown flag", command, [&, command] { return RunCli(args_of(command, {"--no-such-flag"})); });
  }
  add(2, "--key-file given twice", "keys",
      [&] { return RunCli({"--key-file", existing_key, "--key-file", existing_key, "keys"}, head.Env()); });
  add(2, "stamp without REV", "stamp", [&] { return RunCli({"stamp"}, KeyEnv(head, a)); });
  add(2, "migrate --to an unknown revision", "migrate",
      [&] { return RunCli({"migrate", "--to", "20990101_0001"}, KeyEnv(head, a)); });
  add(2, "put with stdin that is not a JSON object of strings", "put",
      [&] { return RunCli({"put", "--account", "1"}, KeyEnv(head, a), "{\"client_secret\": 42}"); });
  add(2, "create with a message without letters or digits", "create", [&] { return RunCli({"create", "!!!"}); });
  add(2, "an empty new secret on stdin", "client-secret rotate",
      [&] { return RunCli({"client-secret", "rotate", "--client-id", kClientId}, KeyEnv(client, a), ""); });
  add(2, "a new secret of two lines", "client-secret rotate",
      [&] { return RunCli({"client-secret", "rotate", "--client-id", kClientId}, KeyEnv(client, a), "s1\ns2\n"); });

  // 3: configuration or key problem.
  for (const auto& entry : minimal) {
    const std::string command = entry.first;
    add(3, "bad config file", command, [&, command] {
      return RunCli(args_of(command), With(KeyEnv(head, a), {{"CREDVAULT_CONFIG", broken_config}}), stdin_of(command));
    });
  }
  const std::vector<std::pair<std::string, const TestDatabase*>> keyed = {
      {"keys", &head},    {"encrypt", &plain}, {"decrypt", &head}, {"rotate", &head}, {"verify", &head},
      {"put", &head},     {"get", &head},      {"migrate", &plain}, {"rollback", &head},
      {"find", &client},  {"client-secret", &client}};
  for (const auto& [command, db] : keyed) {
    add(3, "no key", command, [&, command = command, db = db] {
      return RunCli(args_of(command), With(KeyEnv(*db, a), {{"SECRET_KEY", std::nullopt}}), stdin_of(command));
    });
    add(3, "weak key", command, [&, command = command, db = db] {
      return RunCli(args_of(command), With(KeyEnv(*db, a), {{"SECRET_KEY", "only-31-bytes-long-secret-key!!"}}),
                    stdin_of(command));
    });
    add(3, "key file readable by others", command, [&, command = command, db = db] {
      std::vector<std::string> args = {"--key-file", loose_key};
      for (const auto& arg : args_of(command)) args.push_back(arg);
      return RunCli(args, With(KeyEnv(*db, a), {{"SECRET_KEY", std::nullopt}}), stdin_of(command));
    });
  }
  for (const std::string command : {"get", "verify", "rotate", "decrypt", "rollback", "client-secret"}) {
    add(3, "unknown kid (values under a key that is not loaded)", command,
        [&, command] { return RunCli(args_of(command), KeyEnv(head, b)); });
  }
  // keys is the inventory: listing values under unknown kids is its job (a warning, exit 0).
  add(0, "unknown kid, reported by the inventory", "keys", [&] { return RunCli({"keys"}, KeyEnv(head, b)); });
  add(3, "an account that does not exist", "get", [&] { return RunCli({"get", "--account", "99999"}, KeyEnv(head, a)); });
  add(3, "an account that does not exist", "put",
      [&] { return RunCli({"put", "--account", "99999"}, KeyEnv(head, a), kPut); });
  add(3, "an account without credentials", "get", [&] { return RunCli({"get", "--account", "50000"}, KeyEnv(head, a)); });
  add(3, "a client_id no account has", "find",
      [&] { return RunCli({"find", "--client-id", kClientId + "x"}, KeyEnv(client, a)); });
  add(3, "a client_id no account has", "client-secret rotate", [&] {
    return RunCli({"client-secret", "rotate", "--client-id", kClientId + "x"}, KeyEnv(client, a), "amzn1.oa2-cs.v1.t\n");
  });

  // 4: database unreachable (create and keygen never connect; migrate --sql
  // prints from base without a database, by design).
  for (const std::string command : {"migrate", "rollback", "current", "history", "status", "stamp", "reset", "check",
                                    "keys", "encrypt", "decrypt", "rotate", "verify", "put", "get", "lint", "find",
                                    "client-secret"}) {
    add(4, "database unreachable", command, [&, command] { return RunCli(args_of(command), unreachable, stdin_of(command)); });
  }
  add(4, "database unreachable", "client-secret rotate", [&] {
    return RunCli({"client-secret", "rotate", "--client-id", kClientId}, unreachable, "amzn1.oa2-cs.v1.t\n");
  });

  // 5: refused by a safety check.
  add(5, "production guard", "reset", [&] { return RunCli({"--env", "production", "reset", "--yes"}, KeyEnv(head, a)); });
  add(5, "production guard", "decrypt",
      [&] { return RunCli({"--env", "production", "decrypt", "--yes"}, KeyEnv(head, a)); });
  add(5, "production guard (the decrypt step)", "rollback",
      [&] { return RunCli({"--env", "production", "rollback", "--to", "20260215_0001", "--yes"}, KeyEnv(production, a)); });
  add(5, "production guard (database recorded as production)", "reset",
      [&] { return RunCli({"reset", "--yes"}, KeyEnv(production, a)); });
  add(5, "environment differs from the one recorded", "migrate", [&] { return RunCli({"migrate"}, KeyEnv(production, a)); });
  add(5, "a lint finding (a migration without a down section)", "lint", [&] {
    return RunCli({"lint", credvault::testing::TestDataDir() + "/lint/20300101_0010_no_down.sql"}, head.Env());
  });
  add(4, "database unreachable (create --autogenerate)", "create",
      [&] { return RunCli({"create", "--autogenerate", "--schema", SourceDir() + "/schema.sql", "x"}, unreachable); });
  // (The repository's migrations: the installed folder exists only while the package test has it installed.)
  const Env no_createdb_env = With(head.Env(), {{"DATABASE_URL", no_createdb.url()},
                                                {"CREDVAULT_MIGRATIONS_DIR", SourceDir() + "/migrations"}});
  add(5, "no scratch database for the schema file (no dev_url, a role without CREATEDB)", "create", [&] {
    return RunCli({"create", "--autogenerate", "--sql", "--schema", SourceDir() + "/schema.sql", "x"},
                  no_createdb_env);
  });
  add(5, "no scratch database for the schema file (no dev_url, a role without CREATEDB)", "check", [&] {
    return RunCli({"check", "--schema", SourceDir() + "/schema.sql"}, no_createdb_env);
  });
  add(5, "schema behind head in production", "get",
      [&] { return RunCli({"--env", "production", "get", "--account", "1"}, KeyEnv(behind, a)); });
  add(5, "schema behind head in production", "put",
      [&] { return RunCli({"--env", "production", "put", "--account", "1"}, KeyEnv(behind, a), kPut); });
  add(5, "capacity preflight", "encrypt", [&] { return RunCli({"encrypt"}, KeyEnv(too_long, a)); });
  add(5, "capacity preflight (the encrypt step)", "migrate", [&] { return RunCli({"migrate"}, KeyEnv(too_long, a)); });
  add(5, "capacity preflight (AES-GCM value rotated to XChaCha20)", "rotate",
      [&] { return RunCli({"rotate"}, KeyEnv(gcm, b, a)); });
  add(5, "capacity (a value too long for its column)", "put", [&] {
    return RunCli({"put", "--account", "1"}, KeyEnv(head, a), "{\"refresh_token\": \"" + std::string(400, 't') + "\"}");
  });
  add(5, "missing --yes", "reset", [&] { return RunCli({"reset"}, KeyEnv(head, a)); });
  add(5, "missing --yes", "rollback", [&] { return RunCli({"rollback"}, KeyEnv(head, a)); });
  add(5, "missing --yes", "decrypt", [&] { return RunCli({"decrypt"}, KeyEnv(head, a)); });
  add(5, "refusing to overwrite", "keygen", [&] { return RunCli({"keygen", "--out", existing_key}); });
  add(5, "unindexed rows (a lookup could miss accounts)", "find",
      [&] { return RunCli({"find", "--client-id", kClientId}, KeyEnv(unindexed, a)); });
  add(5, "unindexed rows (a lookup could miss accounts)", "client-secret rotate", [&] {
    return RunCli({"client-secret", "rotate", "--client-id", kClientId}, KeyEnv(unindexed, a), "amzn1.oa2-cs.v1.t\n");
  });
  add(5, "production guard (missing --yes)", "client-secret rotate", [&] {
    return RunCli({"--env", "production", "client-secret", "rotate", "--client-id", kClientId}, KeyEnv(client, a),
                  "amzn1.oa2-cs.v1.t\n");
  });
  add(5, "a client secret older than --max-age", "client-secret status",
      [&] { return RunCli({"client-secret", "status", "--max-age", "0"}, KeyEnv(client, a)); });

  // 6: integrity failure.
  add(6, "decryption (a value moved to another account)", "get",
      [&] { return RunCli({"get", "--account", "1"}, KeyEnv(moved, a)); });
  add(6, "decryption", "verify", [&] { return RunCli({"verify"}, KeyEnv(moved, a)); });
  add(6, "decryption (the job rotates the rest)", "rotate", [&] { return RunCli({"rotate"}, KeyEnv(moved, b, a)); });
  add(6, "decryption (the job decrypts the rest)", "decrypt",
      [&] { return RunCli({"decrypt", "--yes"}, KeyEnv(moved, b, a)); });
  add(6, "decryption (the decrypt step)", "rollback",
      [&] { return RunCli({"rollback", "--to", "20260215_0001", "--yes"}, KeyEnv(moved_for_rollback, a)); });
  add(6, "decryption (a matching client_id moved to another account)", "find",
      [&] { return RunCli({"find", "--client-id", kClientId}, KeyEnv(moved_client_id, a)); });
  add(6, "decryption (a matching client_id moved to another account)", "client-secret rotate", [&] {
    return RunCli({"client-secret", "rotate", "--client-id", kClientId}, KeyEnv(moved_client_id, a),
                  "amzn1.oa2-cs.v1.t\n");
  });
  add(6, "a cv1: value that is not ciphertext", "encrypt", [&] { return RunCli({"encrypt"}, KeyEnv(malformed, a)); });
  add(6, "a cv1: value that is not ciphertext (the encrypt step)", "migrate",
      [&] { return RunCli({"migrate"}, KeyEnv(malformed, a)); });
  add(6, "checksum (an applied file was edited)", "check", [&] { return RunCli({"check"}, checksum_env); });
  add(6, "checksum (an applied file was edited)", "migrate", [&] { return RunCli({"migrate"}, checksum_env); });
  add(6, "checksum (an applied file was edited)", "get",
      [&] { return RunCli({"get", "--account", "1"}, checksum_env); });
  add(6, "checksum (an applied file was edited)", "put",
      [&] { return RunCli({"put", "--account", "1"}, checksum_env, kPut); });
  // status and history describe the schema; they report the edit and succeed.
  add(0, "checksum, reported", "status", [&] { return RunCli({"status"}, checksum_env); });
  add(0, "checksum, reported", "history", [&] { return RunCli({"history"}, checksum_env); });
  add(6, "checksum (an applied file was deleted)", "check", [&] {
    std::filesystem::remove(initial);
    return RunCli({"check"}, checksum_env);
  });
  add(6, "checksum (an applied file was deleted)", "migrate", [&] { return RunCli({"migrate"}, checksum_env); });
  add(6, "drift", "check", [&] { return RunCli({"check"}, KeyEnv(drift, a)); });
  add(6, "drift", "stamp", [&] { return RunCli({"stamp", "--from-alembic"}, KeyEnv(drift, a)); });

  // 7: lock busy.
  const Env no_wait = With(KeyEnv(head, a), {{"CREDVAULT_CONFIG", no_lock_wait}});
  add(7, "migration lock held", "migrate", [&] { return WhileMigrationLockHeld(head, {"migrate"}, no_wait); });
  add(7, "migration lock held", "rollback", [&] { return WhileMigrationLockHeld(head, {"rollback", "--yes"}, no_wait); });
  add(7, "migration lock held", "stamp",
      [&] { return WhileMigrationLockHeld(head, {"stamp", "20260215_0002"}, no_wait); });
  add(7, "migration lock held", "reset", [&] { return WhileMigrationLockHeld(head, {"reset", "--yes"}, no_wait); });
  add(7, "a row held by a long transaction", "encrypt", [&] {
    return WhileRowLocked(plain, {"encrypt"}, With(KeyEnv(plain, a), {{"CREDVAULT_CONFIG", no_lock_wait}}));
  });
  add(7, "a row held by a long transaction", "rotate", [&] {
    return WhileRowLocked(head, {"rotate"}, With(KeyEnv(head, b, a), {{"CREDVAULT_CONFIG", no_lock_wait}}));
  });
  add(7, "a row held by a long transaction", "decrypt",
      [&] { return WhileRowLocked(head, {"decrypt", "--yes"}, no_wait); });

  // 130: SIGTERM, after the batch in flight.
  const Env big_env = With(KeyEnv(big, a), {{"CREDVAULT_CONFIG", small_batches}});
  const std::string ciphertext = "SELECT count(*) FROM credentials WHERE client_id LIKE 'cv1:%'";
  add(130, "SIGTERM (the encrypt step)", "migrate",
      [&] { return Interrupt({"migrate"}, big_env, [&] { return Count(big, ciphertext) > 0; }); });
  add(130, "SIGTERM", "encrypt", [&] {
    const int before = Count(big, ciphertext);
    return Interrupt({"encrypt"}, big_env, [&] { return Count(big, ciphertext) > before; });
  });
  add(130, "SIGTERM", "rotate", [&] {
    REQUIRE(RunCli({"migrate"}, KeyEnv(big, a)).exit_code == 0);  // everything under a
    return Interrupt({"rotate"}, With(KeyEnv(big, b, a), {{"CREDVAULT_CONFIG", small_batches}}), [&] {
      return Count(big, "SELECT count(*) FROM credentials WHERE split_part(client_id, ':', 3) = $1", {kid_b}) > 0;
    });
  });
  add(130, "SIGTERM", "verify", [&] {
    return Interrupt({"verify"}, With(KeyEnv(big, b, a), {{"CREDVAULT_CONFIG", one_row_batches}}), [&] {
      return Count(big, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'credvault verify'") > 0;
    });
  });
  add(130, "SIGTERM", "decrypt", [&] {
    return Interrupt({"decrypt", "--yes"}, With(KeyEnv(big, b, a), {{"CREDVAULT_CONFIG", small_batches}}),
                     [&] { return Count(big, "SELECT count(*) FROM credentials WHERE client_id NOT LIKE 'cv1:%'") > 0; });
  });

  std::set<int> covered;
  for (const Row& row : rows) {
    INFO(row.command << ": " << row.failure);
    const CliResult result = row.run();
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == row.expected);
    CHECK(result.err.find(kHiddenPassword) == std::string::npos);
    covered.insert(row.expected);
  }
  // The table above and docs/CLI.md's table name the same codes.
  std::set<int> documented = DocumentedExitCodes();
  CHECK(documented == covered);
}
