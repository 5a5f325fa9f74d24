// Key sources end to end (exec:, wrapped: through SoftHSM2), key retirement
// and the audit trail of put, get --reveal, rotate, retire and rewrap.
#include <catch2/catch.hpp>

#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "credvault/credvault.h"
#include "credvault/vault.hpp"
#include "jobs_fixture.hpp"
#include "support/softhsm.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::map<std::string, std::optional<std::string>> With(std::map<std::string, std::optional<std::string>> env,
                                                       const std::map<std::string, std::optional<std::string>>& more) {
  for (const auto& [name, value] : more) env[name] = value;
  return env;
}

std::set<std::tuple<int, std::string, std::string>> Failures(const CliResult& verify) {
  std::set<std::tuple<int, std::string, std::string>> out;
  const auto report = nlohmann::json::parse(verify.out);
  for (const auto& f : report["failures"]) {
    out.insert(std::make_tuple(f["row_id"].get<int>(), f["column"].get<std::string>(), f["reason"].get<std::string>()));
  }
  return out;
}

std::string NTupUpd(const TestDatabase& db) {
  db.Query("SELECT pg_stat_force_next_flush()");
  return db.Query("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'credentials'").text(0, 0);
}

}  // namespace

TEST_CASE("retire: refused while used then every reader refuses a restored old value", "[keylife]") {
  TestDatabase db;
  Populate(db, 40);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  const std::string kid_a = Ring(a).primary_kid(), kid_b = Ring(b).primary_kid();
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);
  const std::string old_value = db.Query("SELECT client_secret FROM credentials WHERE account_id = 5").text(0, 0);
  REQUIRE(Contains(old_value, ":" + kid_a + ":"));

  auto in_use = RunCli({"keys", "retire", kid_a, "--yes"}, KeyEnv(db, b, a));
  CHECK(in_use.exit_code == 5);
  CHECK(Contains(in_use.err, "client_id "));
  CHECK(Contains(in_use.err, "client_secret"));
  CHECK(db.Query("SELECT count(*) FROM credvault_keys WHERE state = 'retired'").text(0, 0) == "0");

  REQUIRE(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  CHECK(RunCli({"keys", "retire", kid_a}, KeyEnv(db, b, a)).exit_code == 5);           // no --yes, no terminal
  CHECK(RunCli({"keys", "retire", kid_b, "--yes"}, KeyEnv(db, b, a)).exit_code == 5);  // the primary
  CHECK(RunCli({"keys", "retire", "NOTAKID", "--yes"}, KeyEnv(db, b, a)).exit_code == 2);
  CHECK(db.Query("SELECT count(*) FROM credvault_keys WHERE state = 'retired'").text(0, 0) == "0");
  auto retired = RunCli({"keys", "retire", kid_a, "--yes"}, KeyEnv(db, b, a));
  REQUIRE(retired.exit_code == 0);
  CHECK(db.Query("SELECT state, retired_by = current_user, retired_at IS NOT NULL FROM credvault_keys WHERE kid = $1",
                 {kid_a})
            .rows[0] == std::vector<db::Value>{"retired", "t", "t"});
  CHECK(RunCli({"keys", "retire", kid_a, "--yes"}, KeyEnv(db, b, a)).exit_code == 5);  // already retired

  // A backup from before the rotation restores one old value under A.
  db.Query("UPDATE credentials SET client_secret = $1 WHERE account_id = 5", {old_value});
  const std::string before = TableChecksum(db);

  // A is still in the keyring as a fallback: refused all the same.
  auto get = RunCli({"get", "--account", "5", "--reveal"}, KeyEnv(db, b, a));
  CHECK(get.exit_code == 6);
  CHECK(Contains(get.err, "retired"));
  CHECK(get.out.empty());
  CHECK(RunCli({"get", "--account", "6"}, KeyEnv(db, b, a)).exit_code == 0);

  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, b, a));
  INFO(verify.out + verify.err);
  CHECK(verify.exit_code == 6);
  const std::set<std::tuple<int, std::string, std::string>> expected = {std::make_tuple(5, "client_secret", "retired_kid")};
  CHECK(Failures(verify) == expected);
  TempDir dir;
  const std::string metrics = dir.path() + "/credvault.prom";
  // A removed from the ring: the same finding, and the metrics file counts it.
  auto verify_text = RunCli({"verify", "--metrics-file", metrics}, KeyEnv(db, b));
  CHECK(verify_text.exit_code == 6);
  CHECK(Contains(verify_text.out, "account 5 client_secret: retired_kid"));
  CHECK(Contains(ReadFile(metrics), "credvault_verify_failed_values{reason=\"retired_kid\"} 1\n"));

  // Rotation never launders it into a value under B.
  auto rotate = RunCli({"rotate"}, KeyEnv(db, b, a));
  CHECK(rotate.exit_code == 6);
  CHECK(Contains(rotate.err, "retired_kid"));
  CHECK(TableChecksum(db) == before);

  // The runtimes: C++ Vault and the C ABI, a clear error and no plaintext.
  VaultOptions options;
  options.database_url = db.url();
  options.keyring = Ring(b, {a});
  options.environment = credvault::Environment::kDevelopment;
  options.migrations_dir = SourceDir() + "/migrations";
  auto vault = Vault::Open(std::move(options));
  REQUIRE(vault.ok());
  auto refused = vault->GetCredentials(5);
  CHECK(refused.status().code() == StatusCode::kDataLoss);
  CHECK(refused.status().reason() == "retired_kid");
  CHECK(vault->GetCredentials(6).ok());
  credvault_vault* c_vault = nullptr;
  const char* fallbacks[] = {a.c_str()};
  credvault_options_t* c_options = credvault_options_create();
  REQUIRE(c_options != nullptr);
  CHECK(credvault_options_set_database_url(c_options, db.url().c_str()) == CREDVAULT_OK);
  CHECK(credvault_options_set_primary_key(c_options, b.c_str()) == CREDVAULT_OK);
  CHECK(credvault_options_set_fallback_keys(c_options, fallbacks, 1) == CREDVAULT_OK);
  CHECK(credvault_options_set_environment(c_options, "development") == CREDVAULT_OK);
  CHECK(credvault_options_set_migrations_dir(c_options, (SourceDir() + "/migrations").c_str()) == CREDVAULT_OK);
  REQUIRE(credvault_open_with_options(c_options, &c_vault) == CREDVAULT_OK);
  credvault_options_destroy(c_options);
  credvault_credentials* creds = nullptr;
  CHECK(credvault_get(c_vault, 5, &creds) == CREDVAULT_DATA_LOSS);
  CHECK(creds == nullptr);
  CHECK(Contains(credvault_last_error(), "retired"));
  CHECK(std::string(credvault_last_error_reason()) == "retired_kid");
  REQUIRE(credvault_get(c_vault, 6, &creds) == CREDVAULT_OK);
  CHECK(std::string(credvault_last_error_reason()).empty());
  credvault_credentials_free(creds);
  credvault_close(c_vault);

  // keys --json: the lifecycle of each kid, the retired one included.
  auto keys = RunCli({"keys", "--json"}, KeyEnv(db, b));
  REQUIRE(keys.exit_code == 0);
  auto inventory = nlohmann::json::parse(keys.out);
  CHECK(inventory["keys"][0]["state"] == "active");
  CHECK(inventory["keys"][0]["first_seen"].is_string());
  REQUIRE(inventory["retired"].size() == 1);
  CHECK(inventory["retired"][0]["kid"] == kid_a);
  CHECK(inventory["retired"][0]["values"] == 1);
  CHECK(inventory["retired"][0]["retired_at"].is_string());

  // keys --max-age for cron: the primary's age since first seen.
  CHECK(RunCli({"keys", "--max-age", "30"}, KeyEnv(db, b)).exit_code == 0);
  db.Query("UPDATE credvault_keys SET first_seen = now() - interval '40 days' WHERE kid = $1", {kid_b});
  auto too_old = RunCli({"keys", "--max-age", "30"}, KeyEnv(db, b));
  CHECK(too_old.exit_code == 5);
  CHECK(Contains(too_old.err, kid_b));
  // A new primary that is retired encrypts nothing.
  CHECK(RunCli({"rotate"}, KeyEnv(db, a, b)).exit_code == 5);
  CHECK(TableChecksum(db) == before);
}

TEST_CASE("audit: put and get --reveal and rotate and retire record role and OS user and host but no value", "[keylife][audit]") {
  TestDatabase db;
  Populate(db, 10);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);
  REQUIRE(RunCli({"put", "--account", "3"}, KeyEnv(db, a), R"({"client_secret": "AUDITSECRET-put-value"})").exit_code == 0);
  REQUIRE(RunCli({"get", "--account", "3", "--reveal"}, KeyEnv(db, a)).exit_code == 0);
  REQUIRE(RunCli({"get", "--account", "4"}, KeyEnv(db, a)).exit_code == 0);  // masked: no event
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  REQUIRE(RunCli({"keys", "retire", Ring(a).primary_kid(), "--yes"}, KeyEnv(db, b)).exit_code == 0);
  auto events = db.Query(
      "SELECT kind, actor = current_user, details ->> 'os_user' <> '', details ->> 'host' <> '' FROM credvault_events "
      "WHERE kind IN ('put', 'get_reveal', 'rotate', 'key_retired') ORDER BY id");
  std::vector<std::string> kinds;
  for (const auto& row : events.rows) {
    kinds.push_back(*row[0]);
    CHECK(row[1] == db::Value("t"));
    CHECK(row[2] == db::Value("t"));
    CHECK(row[3] == db::Value("t"));
  }
  CHECK(kinds == std::vector<std::string>{"put", "get_reveal", "rotate", "key_retired"});
  CHECK(db.Query("SELECT details ->> 'account' FROM credvault_events WHERE kind = 'get_reveal'").text(0, 0) == "3");
  CHECK(db.Query("SELECT count(*) FROM credvault_events WHERE details::text LIKE '%AUDITSECRET%' OR details::text LIKE "
                 "'%amzn1%' OR details::text LIKE '%Atzr%'")
            .text(0, 0) == "0");
}

TEST_CASE("exec: key sources work end to end and a failing command writes nothing", "[keysource]") {
  TestDatabase db;
  Populate(db, 30);
  TempDir dir;
  const std::string a = NewBase64Key(), b = NewBase64Key();
  const std::string file_a = dir.WriteFile("a.key", a + "\n"), file_b = dir.WriteFile("b.key", b + "\n");
  const std::string exec_a = "exec:cat '" + file_a + "'", exec_b = "exec:cat '" + file_b + "'";
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, exec_a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(a), "originals", Ring(a).primary_kid());
  auto keys = RunCli({"--key-file", exec_a, "keys", "--json"}, KeyEnv(db, b));  // the flag wins over SECRET_KEY
  REQUIRE(keys.exit_code == 0);
  CHECK(nlohmann::json::parse(keys.out)["keys"][0]["kid"] == Ring(a).primary_kid());
  CHECK(nlohmann::json::parse(keys.out)["keys"][0]["source"] == "exec: command");

  const std::string before = TableChecksum(db);
  auto failing = RunCli({"rotate"}, KeyEnv(db, "exec:echo LEAKED-STDOUT-0123456789abcdef0123; echo 'secretsmanager: "
                                                "AccessDenied' >&2; exit 254",
                                           exec_a));
  CHECK(failing.exit_code == 3);
  CHECK(Contains(failing.err, "secretsmanager: AccessDenied"));
  CHECK_FALSE(Contains(failing.err + failing.out, "LEAKED-STDOUT"));
  CHECK(TableChecksum(db) == before);

  // SECRET_KEY_FALLBACKS entries are sources too.
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, exec_b, exec_a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  CHECK(RunCli({"get", "--account", "2"}, KeyEnv(db, exec_b)).exit_code == 0);
  // The C ABI takes them too.
  credvault_vault* c_vault = nullptr;
  REQUIRE(credvault_open(db.url().c_str(), exec_b.c_str(), nullptr, 0, "development",
                         (SourceDir() + "/migrations").c_str(), &c_vault) == CREDVAULT_OK);
  credvault_credentials* creds = nullptr;
  CHECK(credvault_get(c_vault, 2, &creds) == CREDVAULT_OK);
  credvault_credentials_free(creds);
  credvault_close(c_vault);
  CHECK(credvault_open(db.url().c_str(), "exec:echo no-such-vault-path >&2; exit 2", nullptr, 0, "development",
                       (SourceDir() + "/migrations").c_str(), &c_vault) == CREDVAULT_INVALID_ARGUMENT);
  CHECK(Contains(credvault_last_error(), "no-such-vault-path"));
  // The config file takes them as well (an exec: command is not made relative).
  const std::string config = dir.WriteFile("credvault.toml", "[keys]\nprimary_file = \"" + exec_b + "\"\n");
  CHECK(RunCli({"--config", config, "verify"}, KeyEnv(db, "")).exit_code == 0);
}

TEST_CASE("wrapped: keys in SoftHSM encrypt and rotate and verify and rewrap without touching a row", "[keysource][hsm]") {
  const SoftHsm& hsm = SharedSoftHsm();
  TestDatabase db;
  Populate(db, 30);
  TempDir dir;
  const std::string file_a = dir.path() + "/a.wrapped", file_b = dir.path() + "/b.wrapped";
  REQUIRE(RunCli({"keygen", "--wrap-with", hsm.Uri("kek-a"), "--out", file_a}, hsm.Env()).exit_code == 0);
  REQUIRE(RunCli({"keygen", "--wrap-with", hsm.Uri("kek-a"), "--out", file_b}, hsm.Env()).exit_code == 0);
  CHECK(RunCli({"keygen", "--wrap-with", hsm.Uri("kek-a")}, hsm.Env()).exit_code == 2);  // needs --out
  const std::string wrapped_a = "wrapped:" + file_a, wrapped_b = "wrapped:" + file_b;

  REQUIRE(RunCli({"migrate"}, With(KeyEnv(db, wrapped_a), hsm.Env())).exit_code == 0);
  REQUIRE(RunCli({"rotate"}, With(KeyEnv(db, wrapped_b, wrapped_a), hsm.Env())).exit_code == 0);
  REQUIRE(RunCli({"verify"}, With(KeyEnv(db, wrapped_b), hsm.Env())).exit_code == 0);
  REQUIRE(RunCli({"get", "--account", "2"}, With(KeyEnv(db, wrapped_b), hsm.Env())).exit_code == 0);

  const std::string checksum = TableChecksum(db), xmins = Xmins(db);
  auto wrong_pin = RunCli({"rotate"}, With(KeyEnv(db, wrapped_a, wrapped_b), {{"CREDVAULT_PKCS11_MODULE", hsm.module},
                                                                              {"CREDVAULT_PKCS11_PIN", "0000-wrong"}}));
  CHECK(wrong_pin.exit_code == 3);
  CHECK(Contains(wrong_pin.err, "refused the PIN"));
  CHECK_FALSE(Contains(wrong_pin.err, "0000-wrong"));
  CHECK(Xmins(db) == xmins);

  // KEK rotation: both files under kek-b; no row is written.
  const std::string updates = NTupUpd(db);
  auto rewrap = RunCli({"keys", "rewrap", "--to", hsm.Uri("kek-b"), file_a, file_b}, With(db.Env(), hsm.Env()));
  REQUIRE(rewrap.exit_code == 0);
  CHECK(Contains(ReadFile(file_a), "object=kek-b"));
  REQUIRE(RunCli({"verify"}, With(KeyEnv(db, wrapped_b, wrapped_a), hsm.Env())).exit_code == 0);
  CHECK(NTupUpd(db) == updates);
  CHECK(Xmins(db) == xmins);
  CHECK(TableChecksum(db) == checksum);
  CHECK(db.Query("SELECT count(*) FROM credvault_events WHERE kind = 'key_rewrapped' AND details ->> 'os_user' <> ''")
            .text(0, 0) == "2");
}
