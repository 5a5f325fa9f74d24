// Lookups by client_id (Vault::FindAccountsByClientId, `credvault find`) and
// the LWA client-secret commands (`client-secret rotate`, `client-secret
// status`), against a real PostgreSQL: 3 clients x 200 accounts put through
// the Vault.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "credvault/credvault.h"
#include "credvault/vault.hpp"
#include "crypto/blind_index.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using credvault::testing::CliResult;
using credvault::testing::RunCli;
using credvault::testing::SourceDir;
using credvault::testing::TempDir;
using credvault::testing::TestDatabase;

namespace {

using Env = std::map<std::string, std::optional<std::string>>;

constexpr int kClients = 3;
constexpr int kPerClient = 200;

std::string ClientId(int client) {
  // As Amazon's: 32 hex after the prefix, so every mask starts "amzn1.applic"; the last 4 differ.
  return "amzn1.application-oa2-client.0123456789abcdef0123456789abc0d" + std::to_string(client);
}
std::string Masked(int client) {
  const std::string id = ClientId(client);
  return id.substr(0, 12) + "…" + id.substr(id.size() - 4);
}
std::string OldSecret(int client) { return "amzn1.oa2-cs.v1.old-secret-of-client-" + std::to_string(client); }
const std::string kNewSecret = "amzn1.oa2-cs.v1.NEW-secret-0f3c9e2d7b41a6580f3c9e2d7b41a658";

// Client of account a (1-based): accounts are interleaved, 1 → 0, 2 → 1, 3 → 2, 4 → 0, ...
int ClientOf(int account) { return (account - 1) % kClients; }
std::vector<std::int64_t> AccountsOf(int client, int accounts = kClients * kPerClient) {
  std::vector<std::int64_t> out;
  for (int a = 1; a <= accounts; ++a) {
    if (ClientOf(a) == client) out.push_back(a);
  }
  return out;
}

Env KeyEnv(const TestDatabase& db, const std::string& primary, const std::string& fallbacks = "") {
  auto env = db.Env();
  env["SECRET_KEY"] = primary;
  if (!fallbacks.empty()) env["SECRET_KEY_FALLBACKS"] = fallbacks;
  env["CREDVAULT_ENV"] = "development";
  env["CREDVAULT_MIGRATIONS_DIR"] = SourceDir() + "/migrations";
  return env;
}

VaultOptions Options(const TestDatabase& db, Keyring ring) {
  VaultOptions options;
  options.database_url = db.url();
  options.keyring = std::move(ring);
  options.environment = Environment::kDevelopment;
  options.migrations_dir = SourceDir() + "/migrations";
  return options;
}

// A database at head (recorded for `environment`) with `accounts` accounts,
// account a of client ClientOf(a), every value put through the Vault.
void Populate(const TestDatabase& db, const std::string& key, int accounts = kClients * kPerClient,
              const std::string& environment = "development") {
  auto env = KeyEnv(db, key);
  REQUIRE(RunCli({"--env", environment, "migrate"}, env).exit_code == 0);
  REQUIRE(db.Connect()
              ->Exec("INSERT INTO accounts (id, amazon_account_id) SELECT g, 'AMZ' || g FROM generate_series(1, $1::int) g",
                     {std::to_string(accounts)})
              .ok());
  auto vault = Vault::Open(Options(db, credvault::testing::MakeKeyring(key)));
  REQUIRE(vault.ok());
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int a = 1 + t; a <= accounts; a += 4) {
        const std::string client_id = ClientId(ClientOf(a)), secret = OldSecret(ClientOf(a));
        const std::string token = "Atzr|IwEBI-token-of-" + std::to_string(a);
        if (!vault->PutCredentials(a, CredentialsUpdate{client_id, secret, token}).ok()) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  REQUIRE(failures.load() == 0);
}

std::vector<std::int64_t> Ids(const std::vector<ClientAccount>& accounts) {
  std::vector<std::int64_t> out;
  for (const auto& account : accounts) out.push_back(account.account_id);
  return out;
}

std::vector<std::int64_t> CliIds(const CliResult& result) {
  std::vector<std::int64_t> out;
  for (const auto& item : nlohmann::json::parse(result.out)) out.push_back(item.at("account_id").get<std::int64_t>());
  return out;
}

// No CLI output names a whole client_id or the new secret.
void ExpectNothingSecret(const CliResult& result) {
  for (int c = 0; c < kClients; ++c) {
    CHECK(result.out.find(ClientId(c)) == std::string::npos);
    CHECK(result.err.find(ClientId(c)) == std::string::npos);
  }
  CHECK(result.out.find(kNewSecret) == std::string::npos);
  CHECK(result.err.find(kNewSecret) == std::string::npos);
}

// The raw client_secret of every row not of `client`, in id order.
std::string OthersRaw(const TestDatabase& db, int client) {
  return db
      .Query("SELECT md5(string_agg(account_id || '=' || client_secret, ',' ORDER BY account_id)) FROM credentials "
             "WHERE (account_id - 1) % 3 <> $1::int",
             {std::to_string(client)})
      .text(0, 0);
}

std::string TableChecksum(const TestDatabase& db) {
  return db.Query("SELECT md5(string_agg(c::text, '|' ORDER BY id)) FROM credentials c").text(0, 0);
}

// Every account of `client` holds `secret` (read through the Vault).
void ExpectSecret(const Vault& vault, int client, const std::string& secret) {
  for (std::int64_t account : AccountsOf(client)) {
    auto read = vault.GetCredentials(account);
    REQUIRE(read.ok());
    REQUIRE(read->client_secret->Equals(secret));
  }
}

}  // namespace

TEST_CASE("find returns exactly each client's accounts - unknown client - unindexed - tampered index",
          "[client_secret][find]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  Populate(db, key);
  auto vault = Vault::Open(Options(db, credvault::testing::MakeKeyring(key)));
  REQUIRE(vault.ok());
  const Env env = KeyEnv(db, key);

  for (int c = 0; c < kClients; ++c) {
    auto found = vault->FindAccountsByClientId(ClientId(c));
    REQUIRE(found.ok());
    CHECK(Ids(*found) == AccountsOf(c));
    CHECK(found->front().amazon_account_id == "AMZ" + std::to_string(found->front().account_id));
    auto cli = RunCli({"find", "--client-id", ClientId(c), "--json"}, env);
    REQUIRE(cli.exit_code == 0);
    CHECK(CliIds(cli) == AccountsOf(c));
    ExpectNothingSecret(CliResult{0, "", cli.err});
  }
  // --client-id - reads it from stdin; the text output is one account a line.
  auto from_stdin = RunCli({"find", "--client-id", "-"}, env, ClientId(1) + "\n");
  REQUIRE(from_stdin.exit_code == 0);
  CHECK(from_stdin.out.rfind("2\tAMZ2\n5\tAMZ5\n", 0) == 0);
  CHECK(std::count(from_stdin.out.begin(), from_stdin.out.end(), '\n') == kPerClient);

  // A client_id differing by case or a byte is another client.
  auto other = vault->FindAccountsByClientId(ClientId(0) + "x");
  REQUIRE(other.ok());
  CHECK(other->empty());
  auto unknown = RunCli({"find", "--client-id", ClientId(7)}, env);
  CHECK(unknown.exit_code == 3);
  CHECK(unknown.err.find(Masked(7)) != std::string::npos);
  CHECK(unknown.err.find(ClientId(7)) == std::string::npos);
  CHECK(RunCli({"find", "--client-id", "-"}, env, "").exit_code == 2);

  SECTION("a tampered index pointing a row to another client is not returned") {
    const std::string index_of_1 = crypto::PrimaryClientIdIndex(vault->keyring(), ClientId(1));
    REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_id_bidx = $1 WHERE account_id = 1", {index_of_1}).ok());
    auto found = vault->FindAccountsByClientId(ClientId(1));
    REQUIRE(found.ok());
    CHECK(Ids(*found) == AccountsOf(1));  // account 1 (client 0) matched the index, failed the decrypt-confirm
    auto of_0 = vault->FindAccountsByClientId(ClientId(0));
    REQUIRE(of_0.ok());
    CHECK(of_0->size() == kPerClient - 1);  // its own index no longer points at it
  }
  SECTION("unindexed rows: refused, naming credvault encrypt") {
    REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_id_bidx = NULL WHERE account_id = 4").ok());
    auto found = vault->FindAccountsByClientId(ClientId(2));
    REQUIRE(!found.ok());
    CHECK(found.status().code() == StatusCode::kFailedPrecondition);
    CHECK(found.status().reason() == "unindexed");
    auto cli = RunCli({"find", "--client-id", ClientId(2)}, env);
    CHECK(cli.exit_code == 5);
    CHECK(cli.err.find("credvault encrypt") != std::string::npos);
    CHECK(RunCli({"client-secret", "rotate", "--client-id", ClientId(2)}, env, kNewSecret + "\n").exit_code == 5);
  }
  SECTION("a match under a retired kid is refused, as get refuses it") {
    const std::string kid = vault->keyring().primary_kid();
    REQUIRE(db.Connect()
                ->Exec("INSERT INTO credvault_keys (kid, state, retired_at, retired_by) VALUES ($1, 'retired', now(), "
                       "'test') ON CONFLICT (kid) DO UPDATE SET state = 'retired'",
                       {kid})
                .ok());
    auto found = vault->FindAccountsByClientId(ClientId(1));
    REQUIRE(!found.ok());
    CHECK(found.status().code() == StatusCode::kDataLoss);
    CHECK(found.status().reason() == "retired_kid");
  }
  SECTION("a match whose client_id does not decrypt is an error, not dropped") {
    REQUIRE(db.Connect()
                ->Exec("UPDATE credentials SET client_id = (SELECT client_id FROM credentials WHERE account_id = 2) "
                       "WHERE account_id = 5")
                .ok());
    auto found = vault->FindAccountsByClientId(ClientId(1));
    REQUIRE(!found.ok());
    CHECK(found.status().code() == StatusCode::kDataLoss);
    CHECK(found.status().reason() == "auth_failed");
    CHECK(RunCli({"find", "--client-id", ClientId(1)}, env).exit_code == 6);
  }
}

TEST_CASE("find through the C ABI", "[client_secret][find][c_api]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  Populate(db, key, 30);
  const std::string migrations = SourceDir() + "/migrations";
  credvault_vault* vault = nullptr;
  REQUIRE(credvault_open(db.url().c_str(), key.c_str(), nullptr, 0, "development", migrations.c_str(), &vault) ==
          CREDVAULT_OK);
  credvault_account* accounts = nullptr;
  size_t n = 99;
  REQUIRE(credvault_find_accounts(vault, ClientId(2).c_str(), &accounts, &n) == CREDVAULT_OK);
  REQUIRE(n == 10);
  CHECK(accounts[0].account_id == 3);
  CHECK(std::string(accounts[0].amazon_account_id) == "AMZ3");
  CHECK(accounts[9].account_id == 30);
  credvault_accounts_free(accounts, n);
  REQUIRE(credvault_find_accounts(vault, "no such client", &accounts, &n) == CREDVAULT_OK);
  CHECK(n == 0);
  CHECK(accounts == nullptr);
  CHECK(credvault_find_accounts(vault, nullptr, &accounts, &n) == CREDVAULT_INVALID_ARGUMENT);
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_id_bidx = NULL WHERE account_id = 4").ok());
  CHECK(credvault_find_accounts(vault, ClientId(2).c_str(), &accounts, &n) == CREDVAULT_FAILED_PRECONDITION);
  CHECK(std::string(credvault_last_error()).find("credvault encrypt") != std::string::npos);
  credvault_close(vault);
}

TEST_CASE("client-secret rotate changes exactly one client's accounts, in one transaction",
          "[client_secret][rotate]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  Populate(db, key);
  auto vault = Vault::Open(Options(db, credvault::testing::MakeKeyring(key)));
  REQUIRE(vault.ok());
  const Env env = KeyEnv(db, key);
  const std::string before = TableChecksum(db);

  // Refusals write nothing.
  CHECK(RunCli({"client-secret", "rotate", "--client-id", ClientId(1)}, env, "").exit_code == 2);
  CHECK(RunCli({"client-secret", "rotate", "--client-id", ClientId(1)}, env, "a\nb\n").exit_code == 2);
  CHECK(RunCli({"client-secret", "rotate", "--client-id", "-"}, env, ClientId(1) + "\n").exit_code == 2);
  auto unknown = RunCli({"client-secret", "rotate", "--client-id", ClientId(7)}, env, kNewSecret + "\n");
  CHECK(unknown.exit_code == 3);
  ExpectNothingSecret(unknown);
  auto production = RunCli({"--env", "production", "client-secret", "rotate", "--client-id", ClientId(1)}, env,
                           kNewSecret + "\n");
  CHECK(production.exit_code == 5);
  CHECK(production.err.find("--yes") != std::string::npos);
  auto dry = RunCli({"client-secret", "rotate", "--client-id", ClientId(1), "--dry-run"}, env, kNewSecret + "\n");
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out.find("would change the client_secret of 200 account(s)") != std::string::npos);
  ExpectNothingSecret(dry);
  CHECK(TableChecksum(db) == before);

  SECTION("for real: that client's accounts decrypt to the new secret, the others are byte-identical") {
    const std::string others = OthersRaw(db, 1);
    const std::string last_change = db.Query("SELECT max(client_secret_changed_at)::text FROM credentials").text(0, 0);
    auto rotated = RunCli({"client-secret", "rotate", "--client-id", ClientId(1)}, env, kNewSecret + "\n");
    REQUIRE(rotated.exit_code == 0);
    CHECK(rotated.out.find("changed the client_secret of 200 account(s) of client " + Masked(1)) != std::string::npos);
    ExpectNothingSecret(rotated);
    ExpectSecret(*vault, 1, kNewSecret);
    ExpectSecret(*vault, 0, OldSecret(0));
    CHECK(OthersRaw(db, 1) == others);
    // The event: the client's index, the count, no secret, no client_id.
    auto event = db.Query("SELECT details::text FROM credvault_events WHERE kind = 'client_secret_rotated'");
    REQUIRE(event.size() == 1);
    const std::string details = event.text(0, 0);
    CHECK(details.find(crypto::PrimaryClientIdIndex(vault->keyring(), ClientId(1))) != std::string::npos);
    CHECK(details.find("\"accounts\": 200") != std::string::npos);
    CHECK(details.find(ClientId(1)) == std::string::npos);
    CHECK(details.find(kNewSecret) == std::string::npos);
    // The trigger stamped the change on that client's rows only.
    CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_secret_changed_at > $1::timestamptz "
                   "AND (account_id - 1) % 3 = 1",
                   {last_change})
              .text(0, 0) == "200");
    CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_secret_changed_at > $1::timestamptz",
                   {last_change})
              .text(0, 0) == "200");
  }
  SECTION("--secret-from file: and exec:, production with --yes") {
    TempDir dir;
    const std::string file = dir.WriteFile("secret", kNewSecret + "\n");
    auto from_file = RunCli({"--env", "production", "client-secret", "rotate", "--client-id", ClientId(2),
                             "--secret-from", "file:" + file, "--yes"},
                            env);
    REQUIRE(from_file.exit_code == 0);
    ExpectSecret(*vault, 2, kNewSecret);
    auto from_exec = RunCli(
        {"client-secret", "rotate", "--client-id", "-", "--secret-from", "exec:echo amzn1.oa2-cs.v1.from-exec"}, env,
        ClientId(0) + "\n");
    REQUIRE(from_exec.exit_code == 0);
    ExpectSecret(*vault, 0, "amzn1.oa2-cs.v1.from-exec");
    CHECK(RunCli({"client-secret", "rotate", "--client-id", ClientId(1), "--secret-from", "plain-secret"}, env)
              .exit_code == 2);
    // A source that cannot be used is named as the secret's, not as a key's; nothing is written.
    const std::string open_file = dir.WriteFile("readable", kNewSecret + "\n", 0644);
    auto readable = RunCli({"client-secret", "rotate", "--client-id", ClientId(1), "--secret-from", "file:" + open_file},
                           env);
    CHECK(readable.exit_code != 0);
    CHECK(readable.err.find("secret file " + open_file + " is accessible by group or other") != std::string::npos);
    auto failing = RunCli({"client-secret", "rotate", "--client-id", ClientId(1), "--secret-from", "exec:exit 3"}, env);
    CHECK(failing.exit_code != 0);
    CHECK(failing.err.find("exec: secret command exited with status 3") != std::string::npos);
    for (const auto* result : {&readable, &failing}) {
      INFO(result->err);
      CHECK(result->err.find("key file") == std::string::npos);
      CHECK(result->err.find("key command") == std::string::npos);
    }
    ExpectSecret(*vault, 1, OldSecret(1));
  }
  SECTION("all or nothing: a failure on one account leaves every account with the old secret") {
    auto conn = db.Connect();
    REQUIRE(conn->ExecScript(
                    "CREATE FUNCTION fail_on_account_101() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "IF NEW.account_id = 101 THEN RAISE EXCEPTION 'test: refused'; END IF; RETURN NEW; END $$;"
                    "CREATE TRIGGER fail_on_account_101 BEFORE UPDATE ON credentials FOR EACH ROW "
                    "EXECUTE FUNCTION fail_on_account_101();")
                .ok());
    REQUIRE(ClientOf(101) == 1);
    auto failed = RunCli({"client-secret", "rotate", "--client-id", ClientId(1)}, env, kNewSecret + "\n");
    CHECK(failed.exit_code != 0);
    ExpectNothingSecret(failed);
    ExpectSecret(*vault, 1, OldSecret(1));
    CHECK(TableChecksum(db) == before);
    CHECK(db.Query("SELECT count(*) FROM credvault_events WHERE kind = 'client_secret_rotated'").text(0, 0) == "0");
  }
}

TEST_CASE("client-secret status: ages per masked client - --max-age - --json - metrics", "[client_secret][status]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  Populate(db, key);
  const Env env = KeyEnv(db, key);
  // Client 1's secret changed 200 days ago (that column alone fires no trigger).
  REQUIRE(db.Connect()
              ->Exec("UPDATE credentials SET client_secret_changed_at = now() - interval '200 days' "
                     "WHERE (account_id - 1) % 3 = 1")
              .ok());
  TempDir dir;
  const std::string metrics = dir.path() + "/credvault.prom";
  auto status = RunCli({"--metrics-file", metrics, "client-secret", "status", "--json"}, env);
  REQUIRE(status.exit_code == 0);
  ExpectNothingSecret(status);
  auto clients = nlohmann::json::parse(status.out);
  REQUIRE(clients.size() == 3);
  CHECK(clients[0]["client"] == Masked(1));  // oldest first
  CHECK(clients[0]["accounts"] == 200);
  CHECK(clients[0]["age_days"] == 200);
  CHECK(clients[0]["days_left"] == -20);
  CHECK(clients[1]["age_days"] == 0);
  CHECK(clients[1]["days_left"] == 180);
  const std::string prom = credvault::testing::ReadFile(metrics);
  INFO(prom);
  CHECK(prom.find("credvault_client_secret_age_days{client=\"" + Masked(1) + "\"} 200") != std::string::npos);
  CHECK(prom.find(ClientId(1)) == std::string::npos);

  auto too_old = RunCli({"client-secret", "status", "--max-age", "90"}, env);
  CHECK(too_old.exit_code == 5);
  CHECK(too_old.err.find(Masked(1) + " (200 days)") != std::string::npos);
  CHECK(too_old.err.find(Masked(0)) == std::string::npos);
  ExpectNothingSecret(too_old);
  CHECK(RunCli({"client-secret", "status", "--max-age", "250"}, env).exit_code == 0);

  // An account with no recorded change: the client's age is unknown, and too old.
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_secret_changed_at = NULL WHERE account_id = 3").ok());
  auto unknown = RunCli({"client-secret", "status", "--json", "--max-age", "250"}, env);
  CHECK(unknown.exit_code == 5);
  CHECK(unknown.err.find(Masked(2) + " (unknown age)") != std::string::npos);
  auto with_unknown = nlohmann::json::parse(unknown.out);
  CHECK(with_unknown[0]["client"] == Masked(2));
  CHECK(with_unknown[0]["age_days"].is_null());
  CHECK(with_unknown[0]["accounts_unknown"] == 1);
  auto text = RunCli({"client-secret", "status"}, env);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("unknown") != std::string::npos);
  ExpectNothingSecret(text);
}

TEST_CASE("find during and after a key rotation returns exactly the accounts", "[client_secret][find][rotation]") {
  TestDatabase db;
  const std::string old_key = credvault::testing::NewBase64Key(), new_key = credvault::testing::NewBase64Key();
  const int accounts = 3000;
  Populate(db, old_key, accounts);
  auto vault = Vault::Open(Options(db, credvault::testing::MakeKeyring(new_key, {old_key})));
  REQUIRE(vault.ok());
  std::atomic<bool> done{false};
  std::atomic<int> lookups{0}, wrong{0};
  std::thread reader([&] {
    while (!done.load()) {
      for (int c = 0; c < kClients; ++c) {
        auto found = vault->FindAccountsByClientId(ClientId(c));
        if (!found.ok() || Ids(*found) != AccountsOf(c, accounts)) ++wrong;
        ++lookups;
      }
    }
  });
  auto rotated = RunCli({"rotate", "--batch-size", "100", "--max-rate", "1500"}, KeyEnv(db, new_key, old_key));
  done = true;
  reader.join();
  REQUIRE(rotated.exit_code == 0);
  CHECK(lookups.load() > 10);
  CHECK(wrong.load() == 0);
  // Every client_id is under the new key now, and still found.
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_id_bidx NOT LIKE $1 || ':%'",
                 {vault->keyring().primary_kid()})
            .text(0, 0) == "0");
  for (int c = 0; c < kClients; ++c) {
    auto found = vault->FindAccountsByClientId(ClientId(c));
    REQUIRE(found.ok());
    CHECK(Ids(*found) == AccountsOf(c, accounts));
  }
}
