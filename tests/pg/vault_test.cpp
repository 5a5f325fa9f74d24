// The runtime API applications use: Vault::Open, GetCredentials,
// PutCredentials; and the CLI's put/get built on it.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "credvault/vault.hpp"
#include "crypto/stored_value.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using credvault::testing::RunCli;
using credvault::testing::SourceDir;
using credvault::testing::TestDatabase;

namespace {

Keyring Ring(const std::string& primary, const std::vector<std::string>& fallbacks = {}) {
  return credvault::testing::MakeKeyring(primary, fallbacks);
}

VaultOptions Options(const TestDatabase& db, Keyring ring, credvault::Environment environment = credvault::Environment::kProduction,
                     bool auto_migrate = false) {
  VaultOptions options;
  options.database_url = db.url();
  options.keyring = std::move(ring);
  options.environment = environment;
  options.migrations_dir = SourceDir() + "/migrations";
  options.allow_auto_migrate = auto_migrate;
  return options;
}

// A database at head with accounts 1..n and no credentials.
void AtHead(const TestDatabase& db, const std::string& key, int accounts) {
  auto env = db.Env();
  env["SECRET_KEY"] = key;
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "--env", "staging", "migrate"}, env).exit_code == 0);
  REQUIRE(db.Connect()->Exec("INSERT INTO accounts (amazon_account_id) SELECT 'A' || g FROM generate_series(1, $1::int) g",
                             {std::to_string(accounts)}).ok());
}

}  // namespace

TEST_CASE("Open refuses a database behind head in production, naming the pending revisions", "[vault]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  auto vault = Vault::Open(Options(db, Ring(key)));
  REQUIRE(!vault.ok());
  CHECK(vault.status().code() == StatusCode::kFailedPrecondition);
  CHECK(vault.status().message().find("20260215_0001, 20260215_0002, 20260215_0003") != std::string::npos);
  CHECK(db.Query("SELECT to_regclass('accounts') IS NULL").text(0, 0) == "t");  // nothing changed
  // development without permission to migrate: refused too.
  CHECK(!Vault::Open(Options(db, Ring(key), credvault::Environment::kDevelopment)).ok());
}

TEST_CASE("Open in development with auto-migrate brings the schema to head", "[vault]") {
  TestDatabase db;
  std::vector<std::string> lines;
  auto options = Options(db, Ring(credvault::testing::NewBase64Key()), credvault::Environment::kDevelopment, true);
  options.log = [&lines](LogLevel, std::string_view line) { lines.emplace_back(line); };
  auto vault = Vault::Open(std::move(options));
  REQUIRE(vault.ok());
  CHECK(db.Query("SELECT count(*) FROM credvault_schema_history WHERE state = 'applied'").text(0, 0) == "6");
  bool warned = false;
  for (const auto& line : lines) warned = warned || line.find("applying pending migrations") != std::string::npos;
  CHECK(warned);
}

TEST_CASE("put then get - partial updates - missing account - tampered row", "[vault]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  AtHead(db, key, 5);
  auto vault = Vault::Open(Options(db, Ring(key), credvault::Environment::kStaging));
  REQUIRE(vault.ok());

  CHECK(vault->GetCredentials(1).status().code() == StatusCode::kNotFound);
  REQUIRE(vault->PutCredentials(1, {std::string_view("amzn1.application-oa2-client.abc"),
                                     std::string_view("amzn1.oa2-cs.v1.secret"), std::string_view("Atzr|token")}).ok());
  auto got = vault->GetCredentials(1);
  REQUIRE(got.ok());
  CHECK(got->client_id->Equals("amzn1.application-oa2-client.abc"));
  CHECK(got->client_secret->Equals("amzn1.oa2-cs.v1.secret"));
  CHECK(got->refresh_token->Equals("Atzr|token"));
  // The stored values are ciphertext bound to their place.
  auto stored = db.Query("SELECT client_secret FROM credentials WHERE account_id = 1");
  CHECK(crypto::ClassifyValue(stored.text(0, 0)) == crypto::ValueKind::kCiphertext);

  // The every-180-days case: only client_secret changes.
  CredentialsUpdate rotate_secret;
  rotate_secret.client_secret = std::string_view("amzn1.oa2-cs.v1.new-secret");
  REQUIRE(vault->PutCredentials(1, rotate_secret).ok());
  got = vault->GetCredentials(1);
  CHECK(got->client_secret->Equals("amzn1.oa2-cs.v1.new-secret"));
  CHECK(got->refresh_token->Equals("Atzr|token"));

  CHECK(vault->PutCredentials(999, rotate_secret).code() == StatusCode::kNotFound);
  CredentialsUpdate too_long;
  const std::string long_token = "Atzr|" + std::string(400, 'x');
  too_long.refresh_token = std::string_view(long_token);
  CHECK(vault->PutCredentials(1, too_long).code() == StatusCode::kFailedPrecondition);

  // A value moved to another account is an integrity error, not garbage.
  REQUIRE(vault->PutCredentials(2, {std::string_view("id2"), std::string_view("secret2"), std::nullopt}).ok());
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_secret = (SELECT client_secret FROM credentials WHERE "
                             "account_id = 1) WHERE account_id = 2").ok());
  auto tampered = vault->GetCredentials(2);
  CHECK(tampered.status().code() == StatusCode::kDataLoss);
  CHECK(tampered.status().message().find("client_secret") != std::string::npos);
  CHECK(tampered.status().message().find("new-secret") == std::string::npos);
}

TEST_CASE("get works mid-rotation (old and new kids mixed) and from many threads", "[vault]") {
  TestDatabase db;
  const std::string a = credvault::testing::NewBase64Key(), b = credvault::testing::NewBase64Key();
  AtHead(db, a, 40);
  {
    auto old_vault = Vault::Open(Options(db, Ring(a), credvault::Environment::kStaging));
    REQUIRE(old_vault.ok());
    for (int id = 1; id <= 20; ++id) {
      const std::string secret = "secret-" + std::to_string(id);
      REQUIRE(old_vault->PutCredentials(id, {std::string_view("cid"), std::string_view(secret), std::nullopt}).ok());
    }
  }
  auto vault = Vault::Open(Options(db, Ring(b, {a}), credvault::Environment::kStaging));
  REQUIRE(vault.ok());
  for (int id = 21; id <= 40; ++id) {
    const std::string secret = "secret-" + std::to_string(id);
    REQUIRE(vault->PutCredentials(id, {std::string_view("cid"), std::string_view(secret), std::nullopt}).ok());
  }
  CHECK(db.Query("SELECT count(DISTINCT split_part(client_secret, ':', 3)) FROM credentials").text(0, 0) == "2");
  std::atomic<int> wrong{0}, calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const int id = 1 + (i * 7 + t) % 40;
        auto got = vault->GetCredentials(id);
        ++calls;
        if (!got.ok() || !got->client_secret->Equals("secret-" + std::to_string(id)) || got->refresh_token) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(calls.load() == 400);
  CHECK(wrong.load() == 0);
  // With B alone the old values are an integrity error naming the unknown key.
  auto b_only = Vault::Open(Options(db, Ring(b), credvault::Environment::kStaging));
  REQUIRE(b_only.ok());
  CHECK(b_only->GetCredentials(1).status().reason() == "unknown_kid");
}

TEST_CASE("CLI put reads JSON from stdin - get masks unless --reveal", "[vault][cli]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  AtHead(db, key, 3);
  auto env = db.Env();
  env["SECRET_KEY"] = key;
  env["CREDVAULT_ENV"] = "staging";
  env["CREDVAULT_MIGRATIONS_DIR"] = SourceDir() + "/migrations";
  const std::string json =
      R"({"client_id": "amzn1.application-oa2-client.0123", "client_secret": "amzn1.oa2-cs.v1.s3cr3tvalue9876", "refresh_token": "Atzr|IwEBtoken-with-\"quote\"-5555"})";
  auto put = RunCli({"put", "--account", "2"}, env, json);
  REQUIRE(put.exit_code == 0);
  CHECK(put.err.find("s3cr3tvalue") == std::string::npos);

  auto masked = RunCli({"get", "--account", "2"}, env);
  REQUIRE(masked.exit_code == 0);
  CHECK(masked.out.find("s3cr3tvalue") == std::string::npos);
  CHECK(masked.out.find("\"…9876\"") != std::string::npos);
  CHECK(masked.out.find("\"…5555\"") != std::string::npos);
  auto revealed = RunCli({"get", "--account", "2", "--reveal"}, env);
  REQUIRE(revealed.exit_code == 0);
  CHECK(revealed.out.find("\"client_secret\": \"amzn1.oa2-cs.v1.s3cr3tvalue9876\"") != std::string::npos);
  CHECK(revealed.out.find(R"(Atzr|IwEBtoken-with-\"quote\"-5555)") != std::string::npos);

  CHECK(RunCli({"get", "--account", "3"}, env).exit_code == 3);  // no credentials
  CHECK(RunCli({"put", "--account", "2"}, env, R"({"client_sekret": "x"})").exit_code == 2);
  CHECK(RunCli({"put", "--account", "2"}, env, "not json").exit_code == 2);
  CHECK(RunCli({"put", "--account", "2"}, env, R"({"client_secret": null})").exit_code == 2);
  CHECK(RunCli({"put", "--account", "99"}, env, R"({"client_secret": "x"})").exit_code == 3);
  auto partial = RunCli({"put", "--account", "2"}, env, R"({"client_secret": "amzn1.oa2-cs.v1.rotated-1111"})");
  REQUIRE(partial.exit_code == 0);
  auto after = RunCli({"get", "--account", "2", "--reveal"}, env);
  CHECK(after.out.find("rotated-1111") != std::string::npos);
  CHECK(after.out.find("amzn1.application-oa2-client.0123") != std::string::npos);

  // The masked tail is escaped and never cuts a UTF-8 character: still valid JSON.
  REQUIRE(RunCli({"put", "--account", "2"}, env,
                 R"({"client_id": "amzn1.application-oa2-client.ab\\\"", "client_secret": "amzn1.oa2-cs.v1.café€"})")
              .exit_code == 0);
  auto tails = RunCli({"get", "--account", "2"}, env);
  REQUIRE(tails.exit_code == 0);
  nlohmann::json parsed;
  REQUIRE_NOTHROW(parsed = nlohmann::json::parse(tails.out));
  CHECK(parsed["client_id"] == "\u2026ab\\\"");  // "…" + the last 4 bytes: a, b, backslash, quote
  CHECK(parsed["client_secret"] == "\u2026\u20ac");  // "…€": 4 bytes would cut the é
}

TEST_CASE("Open takes the SQLAlchemy form of DATABASE_URL and refuses one libpq cannot parse", "[vault]") {
  TestDatabase db;
  const std::string key = credvault::testing::NewBase64Key();
  AtHead(db, key, 1);
  auto options = Options(db, Ring(key), credvault::Environment::kStaging);
  // The test server's host, port and user come from libpq's PG* variables
  // (or the URL's own form is kept when DATABASE_URL is one).
  options.database_url = db.url().rfind("postgresql://", 0) == 0
                             ? "postgresql+psycopg2://" + db.url().substr(std::string("postgresql://").size())
                             : "postgresql+psycopg2:///" + db.name();
  auto vault = Vault::Open(std::move(options));
  REQUIRE(vault.ok());
  CredentialsUpdate update;
  update.client_id = "amzn1.application-oa2-client.sqlalchemy";
  REQUIRE(vault->PutCredentials(1, update).ok());
  auto got = vault->GetCredentials(1);
  REQUIRE(got.ok());
  REQUIRE(got->client_id.has_value());

  auto bad = Options(db, Ring(key), credvault::Environment::kStaging);
  bad.database_url = "postgresql://u:hunter2%zz@localhost/x";
  auto refused = Vault::Open(std::move(bad));
  REQUIRE(!refused.ok());
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(refused.status().message().find("hunter2") == std::string::npos);
}
