// TLS to the server: the throwaway cluster of scripts/with-postgres.sh runs
// with ssl = on and a certificate for localhost signed by a test CA
// (CREDVAULT_TEST_TLS_CA). With an external DATABASE_URL these tests need
// that server to accept TLS with a certificate for its host name and
// CREDVAULT_TEST_TLS_CA naming its CA; without them they fail, loudly (never
// skipped). The `require`-against-PgBouncer test needs only the pooler.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "credvault/credvault.h"
#include "credvault/vault.hpp"
#include "endpoints.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// A database at head with account 1's credentials stored under `key`.
void AtHeadWithOneAccount(const TestDatabase& db, const std::string& key) {
  auto env = KeyEnv(db, key);
  REQUIRE(RunCli({"migrate"}, env).exit_code == 0);
  REQUIRE(db.Connect()->Exec("INSERT INTO accounts (amazon_account_id) VALUES ('A1')").ok());
  REQUIRE(RunCli({"put", "--account", "1"}, env,
                 R"({"client_id": "amzn1.application-oa2-client.tls", "client_secret": "amzn1.oa2-cs.v1.tls-secret-4242"})")
              .exit_code == 0);
}

std::map<std::string, std::optional<std::string>> EnvWithUrl(const TestDatabase& db, const std::string& key,
                                                             const std::string& url) {
  auto env = KeyEnv(db, key);
  env["DATABASE_URL"] = url;
  return env;
}

// The password libpq would send (from the conninfo or PGPASSWORD), to check
// that no message shows it.
std::string Password(const TestDatabase& db) {
  auto fields = ConninfoFields(db.url());
  if (fields.count("password")) return fields["password"];
  const char* env = std::getenv("PGPASSWORD");
  return env ? env : "";
}

}  // namespace

TEST_CASE("sslmode=verify-full with the server's CA - CLI current and get, Vault::Open and get, the C ABI",
          "[tls]") {
  TestDatabase db;
  const std::string key = NewBase64Key();
  AtHeadWithOneAccount(db, key);
  const std::string url = TlsUrl(db, "verify-full", TestCaFile());

  // The session really is TLS (not a silent fallback).
  auto conn = db::Connection::Open(url, "credvault-tests");
  INFO((conn.ok() ? std::string() : conn.status().ToString()));
  REQUIRE(conn.ok());
  auto ssl = (*conn)->Query("SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  REQUIRE(ssl.ok());
  CHECK(ssl->text(0, 0) == "true");
  CHECK(ssl->text(0, 1).rfind("TLSv1.", 0) == 0);

  auto current = RunCli({"current"}, EnvWithUrl(db, key, url));
  INFO(current.err);
  CHECK(current.exit_code == 0);
  CHECK(current.out.find("20261207_0006 (head)") != std::string::npos);
  auto got = RunCli({"get", "--account", "1", "--reveal"}, EnvWithUrl(db, key, url));
  INFO(got.err);
  REQUIRE(got.exit_code == 0);
  CHECK(nlohmann::json::parse(got.out)["client_secret"] == "amzn1.oa2-cs.v1.tls-secret-4242");

  // The SQLAlchemy/asyncpg spelling (ssl=verify-full) means the same.
  auto fields = ConninfoFields(url);
  const char* env_user = std::getenv("PGUSER");
  const char* env_port = std::getenv("PGPORT");
  const std::string user = fields.count("user") ? fields["user"] : (env_user ? env_user : "postgres");
  const std::string port = fields.count("port") ? fields["port"] : (env_port ? env_port : "5432");
  auto asyncpg_env = EnvWithUrl(db, key, "postgresql+asyncpg://" + user + "@localhost:" + port + "/" + db.name() +
                                             "?ssl=verify-full&sslrootcert=" + TestCaFile());
  if (!Password(db).empty()) asyncpg_env["PGPASSWORD"] = Password(db);
  auto asyncpg = RunCli({"get", "--account", "1", "--reveal"}, asyncpg_env);
  INFO(asyncpg.err);
  CHECK(asyncpg.exit_code == 0);
  CHECK(asyncpg.out.find("amzn1.oa2-cs.v1.tls-secret-4242") != std::string::npos);

  VaultOptions options;
  options.database_url = url;
  options.keyring = Ring(key);
  options.environment = credvault::Environment::kDevelopment;
  options.migrations_dir = SourceDir() + "/migrations";
  auto vault = Vault::Open(std::move(options));
  INFO((vault.ok() ? std::string() : vault.status().ToString()));
  REQUIRE(vault.ok());
  auto creds = vault->GetCredentials(1);
  REQUIRE(creds.ok());
  CHECK(creds->client_secret->Equals("amzn1.oa2-cs.v1.tls-secret-4242"));

  credvault_vault* c_vault = nullptr;
  const std::string migrations = SourceDir() + "/migrations";
  REQUIRE(credvault_open(url.c_str(), key.c_str(), nullptr, 0, "development", migrations.c_str(), &c_vault) ==
          CREDVAULT_OK);
  credvault_credentials* c_creds = nullptr;
  REQUIRE(credvault_get(c_vault, 1, &c_creds) == CREDVAULT_OK);
  CHECK(std::string(c_creds->client_id) == "amzn1.application-oa2-client.tls");
  credvault_credentials_free(c_creds);
  credvault_close(c_vault);
}

TEST_CASE("sslmode=verify-full with a CA that did not sign the server's certificate - exit 4 with libpq's reason, "
          "no password shown",
          "[tls]") {
  TestDatabase db;
  const std::string key = NewBase64Key();
  const std::string password = Password(db);
  // The password inside the conninfo, in both notations: it must be hidden.
  auto fields = ConninfoFields(TlsUrl(db, "verify-full", WrongCaFile()));
  if (!password.empty()) fields["password"] = password;
  for (const std::string& url : {ToConninfo(fields), std::string()}) {
    std::string used = url;
    if (used.empty()) {  // the URL form
      used = "postgresql://" + (fields.count("user") ? fields["user"] : std::string("postgres")) +
             (password.empty() ? "" : ":" + password) + "@localhost" +
             (fields.count("port") ? ":" + fields["port"] : std::string()) + "/" + db.name() +
             "?sslmode=verify-full&sslrootcert=" + WrongCaFile();
    }
    for (const std::string command : {"current", "get"}) {
      std::vector<std::string> args{command};
      if (command == "get") args = {"get", "--account", "1"};
      auto result = RunCli(args, EnvWithUrl(db, key, used));
      INFO(command << ": " << result.err);
      CHECK(result.exit_code == 4);
      CHECK(result.err.find("certificate verify failed") != std::string::npos);
      if (!password.empty()) CHECK(result.err.find(password) == std::string::npos);
      CHECK(result.out.find("certificate") == std::string::npos);
    }
  }
  // Vault::Open says the same, as kUnavailable.
  VaultOptions options;
  options.database_url = ToConninfo(fields);
  options.keyring = Ring(key);
  options.migrations_dir = SourceDir() + "/migrations";
  auto vault = Vault::Open(std::move(options));
  REQUIRE(!vault.ok());
  CHECK(vault.status().code() == StatusCode::kUnavailable);
  CHECK(vault.status().message().find("certificate verify failed") != std::string::npos);
  if (!password.empty()) CHECK(vault.status().message().find(password) == std::string::npos);
}

TEST_CASE("sslmode=require against a server without TLS (the test PgBouncer) - exit 4 naming the reason",
          "[tls][pooler]") {
  TestDatabase db;
  const std::string key = NewBase64Key();
  auto fields = ConninfoFields(PooledUrl(db));
  fields["sslmode"] = "require";
  auto result = RunCli({"current"}, EnvWithUrl(db, key, ToConninfo(fields)));
  INFO(result.err);
  CHECK(result.exit_code == 4);
  CHECK(result.err.find("server does not support SSL, but SSL was required") != std::string::npos);
  // The same pooler without sslmode=require answers: the refusal is TLS, not the pooler.
  // (Up to 20260215_0003: 20261207_0005 builds indexes CONCURRENTLY, which needs a direct connection.)
  fields["sslmode"] = "prefer";
  REQUIRE(RunCli({"migrate", "--to", "20260215_0003"}, EnvWithUrl(db, key, ToConninfo(fields))).exit_code == 0);
  CHECK(RunCli({"current"}, EnvWithUrl(db, key, ToConninfo(fields))).exit_code == 0);
}
