// Least-privilege roles (docs/ROLES.md): the grants there, run as they are
// written (this test reads the file), are enough for each kind of work and
// no more. Roles are cluster-wide: every role here has a unique name and is
// dropped at the end (TestRole).
#include <catch2/catch.hpp>

#include <iostream>
#include <regex>

#include "credvault/credvault.h"
#include "credvault/vault.hpp"
#include "endpoints.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// The ```sql block after "<!-- roles-test: NAME -->" in docs/ROLES.md, with
// the documented names replaced by this test's.
std::string GrantsFromDocs(const std::string& name, const TestDatabase& db, const std::map<std::string, std::string>& roles) {
  const std::string doc = ReadFile(SourceDir() + "/docs/ROLES.md");
  const std::string marker = "<!-- roles-test: " + name + " -->";
  auto at = doc.find(marker);
  REQUIRE(at != std::string::npos);
  auto open = doc.find("```sql\n", at);
  REQUIRE(open != std::string::npos);
  open += 7;
  auto close = doc.find("```", open);
  REQUIRE(close != std::string::npos);
  std::string sql = doc.substr(open, close - open);
  sql = std::regex_replace(sql, std::regex("DATABASE ads\\b"), "DATABASE " + db::QuoteIdentifier(db.name()));
  for (const auto& [documented, actual] : roles) {
    sql = std::regex_replace(sql, std::regex("\\b" + documented + "\\b"), db::QuoteIdentifier(actual));
  }
  return sql;
}

// Runs a block of docs/ROLES.md; on a database not yet at 20261207_0004 (no
// client_id_bidx) without the statements that grant its new columns, which
// the docs say to run after the migrate that adds them.
void Grant(const TestDatabase& db, const std::string& block, const std::map<std::string, std::string>& roles) {
  std::string sql = GrantsFromDocs(block, db, roles);
  if (db.Query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'credentials' AND "
               "column_name = 'client_id_bidx'").text(0, 0) == "0") {
    sql = std::regex_replace(sql, std::regex("GRANT[^;]*client_id_bidx[^;]*;"), "");
  }
  Status status = db.Connect()->ExecScript(sql);
  INFO(sql);
  REQUIRE(status.ok());
}

std::map<std::string, std::optional<std::string>> EnvAs(const TestDatabase& db, const TestRole& role,
                                                       const std::string& primary, const std::string& fallbacks = "") {
  auto env = KeyEnv(db, primary, fallbacks);
  env["DATABASE_URL"] = role.url();
  return env;
}

// `sql` run as `role` fails, and PostgreSQL's message contains `expected`.
void ExpectRefused(const TestRole& role, const std::string& sql, const std::string& expected) {
  auto conn = db::Connection::Open(role.url(), "credvault-tests");
  REQUIRE(conn.ok());
  Status status = (*conn)->ExecScript(sql);
  INFO(sql << " -> " << status.ToString());
  CHECK(!status.ok());
  CHECK(status.message().find(expected) != std::string::npos);
}

int Count(const TestDatabase& db, const std::string& sql, const db::Params& params = {}) {
  return std::stoi(db.Query(sql, params).text(0, 0));
}

}  // namespace

TEST_CASE("roles - the migration owner of docs/ROLES.md migrates, checks, rolls back and owns every table",
          "[roles][migrate]") {
  TestDatabase db;
  TestRole owner(db, "cvt_owner");
  Grant(db, "hardening", {});
  Grant(db, "owner", {{"credvault_owner", owner.name()}});
  const std::string key = NewBase64Key();
  auto env = EnvAs(db, owner, key);
  auto migrated = RunCli({"migrate"}, env);
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  CHECK(HistoryStates(db) == "6:20260215_0001=applied,20260215_0002=applied,20260215_0003=applied,20261207_0004=applied,20261207_0005=applied,20261207_0006=applied");
  CHECK(Count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S') AND pg_get_userbyid(c.relowner) = $1",
              {owner.name()}) >= 9);  // 6 tables, 3+ sequences
  CHECK(Count(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'i') AND pg_get_userbyid(c.relowner) <> $1",
              {owner.name()}) == 0);
  auto checked = RunCli({"check"}, env);
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code == 0);
  auto rolled_back = RunCli({"rollback", "--to", "20260215_0001", "--yes"}, env);
  INFO(rolled_back.err);
  CHECK(rolled_back.exit_code == 0);
  CHECK(RunCli({"migrate"}, env).exit_code == 0);
}

TEST_CASE("roles - the application role of docs/ROLES.md - Vault and the C ABI get and put, nothing else",
          "[roles][vault]") {
  TestDatabase db;
  TestRole owner(db, "cvt_owner");
  TestRole app(db, "cvt_app");
  const std::map<std::string, std::string> names{{"credvault_owner", owner.name()}, {"credvault_app", app.name()}};
  Grant(db, "hardening", names);
  Grant(db, "owner", names);
  const std::string key = NewBase64Key();
  REQUIRE(RunCli({"migrate"}, EnvAs(db, owner, key)).exit_code == 0);
  REQUIRE(db.Connect()->Exec("INSERT INTO accounts (amazon_account_id) SELECT 'A' || g FROM generate_series(1, 4) g").ok());
  Grant(db, "app", names);

  VaultOptions options;
  options.database_url = app.url();
  options.keyring = Ring(key);
  options.environment = credvault::Environment::kDevelopment;
  options.migrations_dir = SourceDir() + "/migrations";
  auto vault = Vault::Open(std::move(options));
  INFO((vault.ok() ? std::string() : vault.status().ToString()));
  REQUIRE(vault.ok());
  // Account 1 has no credentials row yet: put inserts it.
  Status inserted = vault->PutCredentials(1, {std::string_view("amzn1.application-oa2-client.app"),
                                               std::string_view("amzn1.oa2-cs.v1.app-1111"), std::nullopt});
  INFO(inserted.ToString());
  REQUIRE(inserted.ok());
  // find: through the blind index put wrote.
  auto found = vault->FindAccountsByClientId("amzn1.application-oa2-client.app");
  INFO((found.ok() ? std::string() : found.status().ToString()));
  REQUIRE(found.ok());
  REQUIRE(found->size() == 1);
  CHECK(found->front().account_id == 1);
  CredentialsUpdate only_secret;
  only_secret.client_secret = std::string_view("amzn1.oa2-cs.v1.app-2222");
  Status updated = vault->PutCredentials(1, only_secret);
  INFO(updated.ToString());
  REQUIRE(updated.ok());
  auto got = vault->GetCredentials(1);
  INFO((got.ok() ? std::string() : got.status().ToString()));
  REQUIRE(got.ok());
  CHECK(got->client_id->Equals("amzn1.application-oa2-client.app"));
  CHECK(got->client_secret->Equals("amzn1.oa2-cs.v1.app-2222"));
  CHECK(!got->refresh_token);
  CHECK(vault->GetCredentials(3).status().code() == StatusCode::kNotFound);

  credvault_vault* c_vault = nullptr;
  const std::string url = app.url(), migrations = SourceDir() + "/migrations";
  INFO(credvault_last_error());
  REQUIRE(credvault_open(url.c_str(), key.c_str(), nullptr, 0, "development", migrations.c_str(), &c_vault) ==
          CREDVAULT_OK);
  CHECK(credvault_put(c_vault, 2, "cid-2", "amzn1.oa2-cs.v1.c-abi-3333", "Atzr|c-abi") == CREDVAULT_OK);
  credvault_credentials* c_creds = nullptr;
  REQUIRE(credvault_get(c_vault, 2, &c_creds) == CREDVAULT_OK);
  CHECK(std::string(c_creds->client_secret) == "amzn1.oa2-cs.v1.c-abi-3333");
  credvault_credentials_free(c_creds);
  REQUIRE(credvault_get(c_vault, 1, &c_creds) == CREDVAULT_OK);
  CHECK(std::string(c_creds->client_secret) == "amzn1.oa2-cs.v1.app-2222");
  credvault_credentials_free(c_creds);
  credvault_close(c_vault);

  // The CLI's get/put as the application role.
  auto env = EnvAs(db, app, key);
  auto cli_put = RunCli({"put", "--account", "4"}, env, R"({"client_secret": "amzn1.oa2-cs.v1.cli-4444"})");
  INFO(cli_put.err);
  CHECK(cli_put.exit_code == 0);
  auto cli_get = RunCli({"get", "--account", "4", "--reveal"}, env);
  INFO(cli_get.err);
  CHECK(cli_get.exit_code == 0);
  CHECK(cli_get.out.find("amzn1.oa2-cs.v1.cli-4444") != std::string::npos);

  // Nothing else.
  ExpectRefused(app, "ALTER TABLE credentials ADD COLUMN note text", "must be owner of table credentials");
  ExpectRefused(app, "DROP TABLE accounts", "must be owner of table accounts");
  ExpectRefused(app, "TRUNCATE credentials", "permission denied for table credentials");
  ExpectRefused(app, "DELETE FROM credentials", "permission denied for table credentials");
  ExpectRefused(app, "UPDATE credentials SET account_id = account_id", "permission denied for table credentials");
  ExpectRefused(app, "SELECT * FROM profiles", "permission denied for table profiles");
  ExpectRefused(app, "SELECT * FROM credvault_events", "permission denied for table credvault_events");
  ExpectRefused(app, "INSERT INTO credvault_events (kind) VALUES ('forged')",
                "permission denied for table credvault_events");
  ExpectRefused(app, "SELECT * FROM credvault_settings", "permission denied for table credvault_settings");
  ExpectRefused(app, "DELETE FROM credvault_schema_history", "permission denied for table credvault_schema_history");
  ExpectRefused(app, "CREATE TABLE app_owned (id int)", "permission denied for schema public");
  ExpectRefused(app, "DELETE FROM accounts", "permission denied for table accounts");

  // Why the sequence grant is there: without it, put of a new row fails, naming it.
  REQUIRE(db.Connect()->Exec("REVOKE USAGE ON SEQUENCE credentials_id_seq FROM " + db::QuoteIdentifier(app.name())).ok());
  auto without_sequence = RunCli({"put", "--account", "3"}, env, R"({"client_secret": "amzn1.oa2-cs.v1.x-5555"})");
  INFO(without_sequence.err);
  CHECK(without_sequence.exit_code != 0);
  CHECK(without_sequence.err.find("permission denied for sequence credentials_id_seq") != std::string::npos);
  // Even for a row that exists: INSERT ... ON CONFLICT computes the id default first.
  auto existing_without_sequence = RunCli({"put", "--account", "1"}, env, R"({"client_secret": "amzn1.oa2-cs.v1.x-6666"})");
  INFO(existing_without_sequence.err);
  CHECK(existing_without_sequence.exit_code != 0);
  CHECK(existing_without_sequence.err.find("permission denied for sequence credentials_id_seq") != std::string::npos);
  // And without the INSERT grant every put fails, even an update.
  REQUIRE(db.Connect()->Exec("GRANT USAGE ON SEQUENCE credentials_id_seq TO " + db::QuoteIdentifier(app.name())).ok());
  REQUIRE(db.Connect()->Exec("REVOKE INSERT (account_id, client_id, client_secret, refresh_token) ON credentials FROM " +
                             db::QuoteIdentifier(app.name())).ok());
  auto without_insert = RunCli({"put", "--account", "1"}, env, R"({"client_secret": "amzn1.oa2-cs.v1.x-7777"})");
  INFO(without_insert.err);
  CHECK(without_insert.exit_code != 0);
  CHECK(without_insert.err.find("permission denied for table credentials") != std::string::npos);
  std::cout << "[roles] put without privileges: exit " << without_sequence.exit_code << " / "
            << without_insert.exit_code << "\n";
}

TEST_CASE("roles - the row-job role of docs/ROLES.md - encrypt, rotate, verify, keys, and no DDL",
          "[roles][rotate]") {
  TestDatabase db;
  TestRole owner(db, "cvt_owner");
  TestRole jobs(db, "cvt_jobs");
  const std::map<std::string, std::string> names{{"credvault_owner", owner.name()}, {"credvault_jobs", jobs.name()}};
  Grant(db, "hardening", names);
  Grant(db, "owner", names);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"migrate", "--to", "20260215_0001"}, EnvAs(db, owner, a)).exit_code == 0);
  Populate(db, 3000);  // plaintext rows (as the superuser) and a copy in `originals`
  Grant(db, "jobs", names);

  auto encrypted = RunCli({"encrypt", "--batch-size", "700"}, EnvAs(db, jobs, a));
  INFO(encrypted.err);
  REQUIRE(encrypted.exit_code == 0);
  CHECK(encrypted.err.find("could not record") == std::string::npos);
  ExpectAllEncryptedAndEqual(db, Ring(a), "originals", Ring(a).primary_kid());
  auto verified = RunCli({"verify"}, EnvAs(db, jobs, a));
  INFO(verified.err);
  CHECK(verified.exit_code == 0);
  auto rotated = RunCli({"rotate", "--batch-size", "700"}, EnvAs(db, jobs, b, a));
  INFO(rotated.err);
  REQUIRE(rotated.exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  CHECK(RunCli({"verify"}, EnvAs(db, jobs, b)).exit_code == 0);
  auto keys = RunCli({"keys"}, EnvAs(db, jobs, b, a));
  INFO(keys.err);
  CHECK(keys.exit_code == 0);
  CHECK(keys.out.find("safe to remove") != std::string::npos);
  // The jobs' audit rows, written as this role.
  CHECK(db.Query("SELECT string_agg(kind, ',' ORDER BY id) FROM credvault_events WHERE actor = $1", {jobs.name()})
            .text(0, 0) == "encrypt,rotate");
  // The owner's migrate runs 0002 (nothing left to encrypt) and 0006 (the
  // blind index of every client_id) as the owner.
  auto migrated = RunCli({"migrate"}, EnvAs(db, owner, b));
  INFO(migrated.err);
  CHECK(migrated.exit_code == 0);
  // Without the grant of the new column a job writes nothing; with it, the
  // jobs write the index.
  const std::string c = NewBase64Key();
  const std::string before = TableChecksum(db);
  auto refused = RunCli({"rotate"}, EnvAs(db, jobs, c, b));
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("permission denied for table credentials") != std::string::npos);
  CHECK(TableChecksum(db) == before);
  Grant(db, "jobs", names);
  auto indexed = RunCli({"rotate", "--batch-size", "700"}, EnvAs(db, jobs, c, b));
  INFO(indexed.err);
  REQUIRE(indexed.exit_code == 0);
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE split_part(client_id_bidx, ':', 1) = $1",
                 {Ring(c).primary_kid()}).text(0, 0) == "3000");
  CHECK(RunCli({"verify"}, EnvAs(db, jobs, c)).exit_code == 0);

  ExpectRefused(jobs, "CREATE TABLE jobs_owned (id int)", "permission denied for schema public");
  ExpectRefused(jobs, "ALTER TABLE credentials ADD COLUMN note text", "must be owner of table credentials");
  ExpectRefused(jobs, "DROP TABLE credentials", "must be owner of table credentials");
  ExpectRefused(jobs, "TRUNCATE credentials", "permission denied for table credentials");
  ExpectRefused(jobs, "DELETE FROM credentials", "permission denied for table credentials");
  ExpectRefused(jobs, "SELECT * FROM accounts", "permission denied for table accounts");
  ExpectRefused(jobs, "CREATE TEMP TABLE jobs_temp (id int)", "permission denied to create temporary tables");
}

TEST_CASE("roles - a row job whose role lacks UPDATE on credentials stops naming the privilege and the table, "
          "nothing written",
          "[roles][rotate]") {
  TestDatabase db;
  TestRole jobs(db, "cvt_jobs");
  Populate(db, 1500);
  Grant(db, "hardening", {});
  Grant(db, "jobs", {{"credvault_jobs", jobs.name()}});
  REQUIRE(db.Connect()->Exec("REVOKE UPDATE (client_id, client_secret, refresh_token) ON credentials FROM " +
                             db::QuoteIdentifier(jobs.name())).ok());
  const std::string before = TableChecksum(db);
  const std::string key = NewBase64Key();
  auto encrypted = RunCli({"encrypt"}, EnvAs(db, jobs, key));
  INFO(encrypted.err);
  CHECK(encrypted.exit_code == 1);  // docs/CLI.md's exit codes: a statement PostgreSQL rejected
  CHECK(encrypted.err.find("permission denied for table credentials") != std::string::npos);
  CHECK(TableChecksum(db) == before);
  CHECK(CountCiphertext(db) == 0);

  // Without SELECT the job cannot even count the work: the same kind of message.
  REQUIRE(db.Connect()->Exec("REVOKE SELECT ON credentials FROM " + db::QuoteIdentifier(jobs.name())).ok());
  auto verified = RunCli({"verify"}, EnvAs(db, jobs, key));
  INFO(verified.err);
  CHECK(verified.exit_code == 1);
  CHECK(verified.err.find("permission denied for table credentials") != std::string::npos);
}

// libpqxx 6.4 throws some SQL errors (insufficient_privilege among them)
// without their SQLSTATE; the db layer names it from the error's class, so
// callers can tell a missing privilege from other errors by reason().
TEST_CASE("roles - a missing privilege is reported with SQLSTATE 42501", "[roles]") {
  TestDatabase db;
  TestRole app(db, "cvt_app");
  REQUIRE(db.Connect()->Exec("CREATE TABLE private_table (id int)").ok());
  auto conn = db::Connection::Open(app.url(), "credvault-tests");
  REQUIRE(conn.ok());
  Status status = (*conn)->Exec("SELECT * FROM private_table");
  INFO(status.ToString());
  REQUIRE(!status.ok());
  CHECK(status.message().find("permission denied for table private_table") != std::string::npos);
  CHECK(status.reason() == "42501");
  CHECK(status.message().find("[SQLSTATE 42501]") != std::string::npos);
}

// Security review 2026-12, item 4: audit rows cannot be forged. Whatever a
// role may insert, the trigger stamps actor := session_user and at := now();
// details are capped; the jobs role retires a key only through
// credvault_retire_key (it has no UPDATE on credvault_keys).
TEST_CASE("roles - events: a forged actor and date are overwritten, oversize details refused, retirement only "
          "through the definer function",
          "[roles][events][security_review]") {
  TestDatabase db;
  TestRole owner(db, "cvt_owner");
  TestRole jobs(db, "cvt_jobs");
  const std::map<std::string, std::string> names{{"credvault_owner", owner.name()}, {"credvault_jobs", jobs.name()}};
  Grant(db, "hardening", names);
  Grant(db, "owner", names);
  const std::string a = NewBase64Key(), b = NewBase64Key(), c = NewBase64Key();
  REQUIRE(RunCli({"migrate", "--to", "20260215_0001"}, EnvAs(db, owner, a)).exit_code == 0);
  Populate(db, 20);
  REQUIRE(RunCli({"migrate"}, EnvAs(db, owner, a)).exit_code == 0);  // encrypted under a
  Grant(db, "jobs", names);

  // With the documented grants the jobs role cannot even name actor or at.
  ExpectRefused(jobs,
                "INSERT INTO credvault_events (actor, at, kind, details) VALUES ('" + owner.name() +
                    "', '2020-01-01', 'key_retired', '{\"kid\": \"00000000\"}')",
                "permission denied for table credvault_events");
  // A database upgraded without its grants being changed (table-level INSERT,
  // as docs/ROLES.md used to say): the row is written, but as what it is.
  REQUIRE(db.Connect()->Exec("GRANT INSERT ON credvault_events TO " + db::QuoteIdentifier(jobs.name())).ok());
  {
    auto conn = db::Connection::Open(jobs.url(), "credvault-tests");
    REQUIRE(conn.ok());
    Status forged = (*conn)->Exec("INSERT INTO credvault_events (actor, at, kind, details) VALUES ($1, "
                                  "'2020-01-01', 'key_retired', '{\"kid\": \"00000000\"}')",
                                  {owner.name()});
    INFO(forged.ToString());
    CHECK(forged.ok());
    Status huge = (*conn)->Exec("INSERT INTO credvault_events (kind, details) VALUES ('rotate', "
                                "jsonb_build_object('padding', repeat('x', 1000000)))");
    INFO(huge.ToString());
    CHECK(!huge.ok());
    CHECK(huge.message().find("details") != std::string::npos);
  }
  auto stamped = db.Query("SELECT actor, at > now() - interval '1 hour' FROM credvault_events WHERE kind = 'key_retired'");
  REQUIRE(stamped.size() == 1);
  CHECK(stamped.text(0, 0) == jobs.name());
  CHECK(stamped.text(0, 1) == "t");
  CHECK(Count(db, "SELECT count(*) FROM credvault_events WHERE octet_length(details::text) > 100000") == 0);

  // Retirement: no UPDATE on credvault_keys, yet `keys retire` works as the jobs role.
  ExpectRefused(jobs, "UPDATE credvault_keys SET state = 'retired'", "permission denied for table credvault_keys");
  REQUIRE(RunCli({"rotate"}, EnvAs(db, jobs, b, a)).exit_code == 0);
  const std::string kid_a = Ring(a).primary_kid();
  auto retired = RunCli({"keys", "retire", kid_a, "--yes"}, EnvAs(db, jobs, b));
  INFO(retired.err);
  CHECK(retired.exit_code == 0);
  CHECK(db.Query("SELECT state, retired_by FROM credvault_keys WHERE kid = $1", {kid_a}).text(0, 1) == jobs.name());
  CHECK(db.Query("SELECT actor FROM credvault_events WHERE kind = 'key_retired' ORDER BY id DESC LIMIT 1").text(0, 0) ==
        jobs.name());
  // The definer function keeps the rule `keys retire` checks: a kid still in use stays active.
  const std::string kid_b = Ring(b).primary_kid();
  auto in_use = RunCli({"keys", "retire", kid_b, "--yes"}, EnvAs(db, jobs, c));
  CHECK(in_use.exit_code == 5);
  CHECK(in_use.err.find("still used by") != std::string::npos);
  CHECK(Count(db, "SELECT count(*) FROM credvault_keys WHERE kid = $1 AND state = 'retired'", {kid_b}) == 0);
}

TEST_CASE("roles - upgrading: the first migrate of this version narrows the jobs grants docs/ROLES.md gave before "
          "2026-12",
          "[roles][events][security_review]") {
  TestDatabase db;
  TestRole owner(db, "cvt_owner");
  TestRole jobs(db, "cvt_jobs");
  const std::map<std::string, std::string> names{{"credvault_owner", owner.name()}, {"credvault_jobs", jobs.name()}};
  Grant(db, "hardening", names);
  Grant(db, "owner", names);
  const std::string a = NewBase64Key();
  REQUIRE(RunCli({"migrate"}, EnvAs(db, owner, a)).exit_code == 0);
  // The jobs block as it was written before 2026-12.
  const std::string role = db::QuoteIdentifier(jobs.name());
  REQUIRE(db.Connect()
              ->ExecScript("GRANT CONNECT ON DATABASE " + db::QuoteIdentifier(db.name()) + " TO " + role +
                           "; GRANT USAGE ON SCHEMA public TO " + role + "; GRANT SELECT ON credentials TO " + role +
                           "; GRANT UPDATE (client_id, client_secret, refresh_token) ON credentials TO " + role +
                           "; GRANT INSERT ON credvault_events TO " + role +
                           "; GRANT USAGE ON SEQUENCE credvault_events_id_seq TO " + role +
                           "; GRANT SELECT, INSERT, UPDATE ON credvault_keys TO " + role + ";")
              .ok());
  auto privilege = [&](const std::string& check) {
    return db.Query("SELECT " + check, {jobs.name()}).text(0, 0);
  };
  CHECK(privilege("has_table_privilege($1, 'credvault_keys', 'UPDATE')") == "t");

  auto migrated = RunCli({"migrate"}, EnvAs(db, owner, a));  // nothing pending: the bookkeeping is upgraded
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  CHECK(privilege("has_table_privilege($1, 'credvault_events', 'INSERT')") == "f");
  CHECK(privilege("has_column_privilege($1, 'credvault_events', 'kind', 'INSERT')") == "t");
  CHECK(privilege("has_column_privilege($1, 'credvault_events', 'actor', 'INSERT')") == "f");
  CHECK(privilege("has_table_privilege($1, 'credvault_keys', 'UPDATE')") == "f");
  CHECK(privilege("has_table_privilege($1, 'credvault_keys', 'INSERT')") == "f");
  CHECK(privilege("has_column_privilege($1, 'credvault_keys', 'kid', 'INSERT')") == "t");
  CHECK(privilege("has_column_privilege($1, 'credvault_keys', 'state', 'INSERT')") == "f");
  CHECK(privilege("has_function_privilege($1, 'credvault_retire_key(text, jsonb)', 'EXECUTE')") == "t");
  // The owner's own privileges are untouched.
  CHECK(db.Query("SELECT has_table_privilege($1, 'credvault_events', 'INSERT')", {owner.name()}).text(0, 0) == "t");
  ExpectRefused(jobs, "UPDATE credvault_keys SET state = 'retired'", "permission denied for table credvault_keys");
}
