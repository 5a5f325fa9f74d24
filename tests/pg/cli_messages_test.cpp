// What the CLI tells a person about one account and one database: failures
// name the account (the id put and get take) as well as credentials.id,
// get and put use the same words for a missing account, and status shows
// where it is connected.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "jobs_fixture.hpp"

using namespace credvault::testing;

namespace {

// At 20260215_0001: accounts 1..10 whose credentials rows were created in
// reverse order, so credentials.id and account_id differ for every account.
void PopulateReversed(const TestDatabase& db, const std::string& key) {
  REQUIRE(RunCli({"migrate", "--to", "20260215_0001"}, KeyEnv(db, key)).exit_code == 0);
  auto conn = db.Connect();
  REQUIRE(conn->ExecScript("INSERT INTO accounts (id, amazon_account_id, name) "
                           "SELECT g, 'AMZ' || g, 'account ' || g FROM generate_series(1, 10) g;"
                           "SELECT setval('accounts_id_seq', 10);"
                           "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) "
                           "SELECT id, 'amzn1.application-oa2-client.' || id, 'amzn1.oa2-cs.v1.' || md5(id::text), "
                           "'Atzr|IwEB' || md5(id::text) FROM accounts ORDER BY id DESC")
              .ok());
}

std::string CredentialsIdOf(const TestDatabase& db, int account) {
  return db.Query("SELECT id::text FROM credentials WHERE account_id = $1::int", {std::to_string(account)}).text(0, 0);
}

}  // namespace

TEST_CASE("verify, rotate and encrypt name the account of a bad value, then its credentials.id", "[cli][jobs]") {
  TestDatabase db;
  const std::string a = NewBase64Key(), b = NewBase64Key();
  PopulateReversed(db, a);
  const std::string row = CredentialsIdOf(db, 6);
  REQUIRE(row != "6");

  // encrypt refuses a cv1: value that is not ciphertext, naming its account.
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_id = 'cv1:x:zz:broken' WHERE account_id = 6").ok());
  auto refused = RunCli({"encrypt"}, KeyEnv(db, a));
  CHECK(refused.exit_code == 6);
  CHECK(refused.err.find("account 6 client_id (credentials.id " + row + ")") != std::string::npos);
  CHECK(refused.err.find("credvault put --account ID") != std::string::npos);
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_id = 'amzn1.application-oa2-client.6' WHERE account_id = 6").ok());
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);  // the encrypt step, to head

  // Account 7's client_secret copied over account 6's: it fails to authenticate there.
  REQUIRE(db.Connect()
              ->Exec("UPDATE credentials SET client_secret = (SELECT client_secret FROM credentials WHERE account_id = 7) "
                     "WHERE account_id = 6")
              .ok());
  auto text = RunCli({"verify"}, KeyEnv(db, a));
  CHECK(text.exit_code == 6);
  CHECK(text.out.find("FAILED account 6 client_secret: auth_failed (key " + Ring(a).primary_kid() + ") [credentials.id " +
                      row + "]") != std::string::npos);
  CHECK(text.out.find("FAILED row") == std::string::npos);
  CHECK(text.err.find("credvault put --account ID") != std::string::npos);
  auto json = RunCli({"verify", "--json"}, KeyEnv(db, a));
  CHECK(json.exit_code == 6);
  auto report = nlohmann::json::parse(json.out);
  REQUIRE(report["failures"].size() == 1);
  CHECK(report["failures"][0]["account_id"] == 6);
  CHECK(report["failures"][0]["row_id"] == std::stoi(row));

  auto rotated = RunCli({"rotate"}, KeyEnv(db, b, a));
  CHECK(rotated.exit_code == 6);
  CHECK(rotated.err.find("account 6 client_secret (auth_failed, credentials.id " + row + ")") != std::string::npos);

  // The RUNBOOK's remedy, with the account verify printed, clears it.
  auto put = RunCli({"put", "--account", "6"}, KeyEnv(db, b, a), "{\"client_secret\": \"amzn1.oa2-cs.v1.new\"}");
  CHECK(put.exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
}

TEST_CASE("get and put: a missing account, an account without credentials, and values that do not decrypt",
          "[cli][vault]") {
  TestDatabase db;
  const std::string a = NewBase64Key(), b = NewBase64Key();
  PopulateReversed(db, a);
  REQUIRE(RunCli({"migrate"}, KeyEnv(db, a)).exit_code == 0);
  REQUIRE(db.Connect()->Exec("INSERT INTO accounts (id, amazon_account_id, name) VALUES (11, 'AMZ11', 'no credentials')").ok());

  // The same words from get and put for an id that names no account.
  auto get_missing = RunCli({"get", "--account", "999"}, KeyEnv(db, a));
  auto put_missing = RunCli({"put", "--account", "999"}, KeyEnv(db, a), "{\"client_id\": \"x\"}");
  for (const auto* result : {&get_missing, &put_missing}) {
    CHECK(result->exit_code == 3);
    CHECK(result->err.find("account 999 does not exist (no accounts row with id 999)") != std::string::npos);
    CHECK(result->out.empty());
  }
  // An account that exists but has no credentials row yet: get says so, and how to add them.
  auto empty = RunCli({"get", "--account", "11"}, KeyEnv(db, a));
  CHECK(empty.exit_code == 3);
  CHECK(empty.err.find("account 11 exists but has no credentials yet") != std::string::npos);
  CHECK(empty.err.find("credvault put --account 11") != std::string::npos);
  CHECK(empty.err.find("does not exist") == std::string::npos);

  // A value that does not authenticate: exit 6, and what to do about it.
  REQUIRE(db.Connect()
              ->Exec("UPDATE credentials SET client_secret = (SELECT client_secret FROM credentials WHERE account_id = 2) "
                     "WHERE account_id = 1")
              .ok());
  auto tampered = RunCli({"get", "--account", "1"}, KeyEnv(db, a));
  CHECK(tampered.exit_code == 6);
  CHECK(tampered.out.empty());
  CHECK(tampered.err.find("credentials.client_secret of account 1 cannot be decrypted") != std::string::npos);
  CHECK(tampered.err.find("Restore the value from a backup") != std::string::npos);
  CHECK(tampered.err.find("credvault put --account 1") != std::string::npos);
  CHECK(tampered.err.find("credvault verify") != std::string::npos);

  // A value under a key that is not loaded: a key problem (exit 3, as rotate says), with the fix.
  auto unknown = RunCli({"get", "--account", "2"}, KeyEnv(db, b));
  CHECK(unknown.exit_code == 3);
  CHECK(unknown.err.find("not in the keyring") != std::string::npos);
  CHECK(unknown.err.find("--fallback-key-file") != std::string::npos);
  CHECK(RunCli({"get", "--account", "2"}, KeyEnv(db, b, a)).exit_code == 0);
}

TEST_CASE("status shows the host, port, database and user it is connected to", "[cli]") {
  TestDatabase db;
  auto status = RunCli({"status"}, KeyEnv(db, NewBase64Key()));
  REQUIRE(status.exit_code == 0);
  const auto line = status.out.substr(0, status.out.find('\n'));
  CHECK(line.rfind("database:", 0) == 0);
  CHECK(line.find("host=") != std::string::npos);
  CHECK(line.find("port=") != std::string::npos);
  CHECK(line.find("dbname=" + db.name() + " ") != std::string::npos);
  CHECK(line.find("user=") != std::string::npos);
  CHECK(line.find("libpq defaults") == std::string::npos);
}
