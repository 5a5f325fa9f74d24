// Known failures of peer tools (Fernet scripts, Rails encryption, ad hoc
// rotation jobs), each replayed against credvault; plus SQL injection through
// every place user text reaches the database.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "credvault/keyring.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

std::map<std::string, std::uint64_t> ValuesByKid(const TestDatabase& db, const std::string& primary,
                                                 const std::string& fallbacks) {
  auto keys = RunCli({"keys", "--json"}, KeyEnv(db, primary, fallbacks));
  REQUIRE(keys.exit_code == 0);
  auto inventory = nlohmann::json::parse(keys.out);
  std::map<std::string, std::uint64_t> out;
  for (const auto& key : inventory["keys"]) out[key["kid"]] = key["values"];
  for (const auto& key : inventory["unknown_kids"]) out[key["kid"]] = key["values"];
  return out;
}

std::set<std::pair<int, std::string>> VerifyFailures(const CliResult& verify, const std::string& reason = "") {
  std::set<std::pair<int, std::string>> out;
  const auto report = nlohmann::json::parse(verify.out);
  for (const auto& f : report["failures"]) {
    if (reason.empty() || f["reason"] == reason) out.insert({f["row_id"].get<int>(), f["column"].get<std::string>()});
  }
  return out;
}

}  // namespace

TEST_CASE("peer failure: a rotation that exits 0 having done nothing", "[review][rotate]") {
  TestDatabase db;
  Populate(db, 3000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  const std::string kid_a = Ring(a).primary_kid(), kid_b = Ring(b).primary_kid();
  const std::string before = TableChecksum(db);

  // New primary, old key forgotten: the values under A cannot be rotated. Not a quiet 0.
  auto forgot_fallback = RunCli({"rotate"}, KeyEnv(db, b));
  CHECK(forgot_fallback.exit_code == 3);
  CHECK(forgot_fallback.err.find(kid_a) != std::string::npos);
  CHECK(TableChecksum(db) == before);

  // Exit 0 means every value is now under the primary, and the report says how many were written.
  auto rotated = RunCli({"rotate"}, KeyEnv(db, b, a));
  REQUIRE(rotated.exit_code == 0);
  auto by_kid = ValuesByKid(db, b, a);
  CHECK(by_kid[kid_a] == 0);
  CHECK(by_kid[kid_b] > 8000);
  auto event = db.Query("SELECT details->>'values_written' FROM credvault_events WHERE kind = 'rotate' ORDER BY id DESC LIMIT 1");
  CHECK(std::stoull(event.text(0, 0)) == by_kid[kid_b]);

  // Nothing left: exit 0, but it says so in words, and no row version changes.
  const std::string xmins = Xmins(db);
  auto again = RunCli({"rotate"}, KeyEnv(db, b, a));
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("nothing to rotate") != std::string::npos);
  CHECK(again.err.find("no value was written") != std::string::npos);
  CHECK(Xmins(db) == xmins);
}

TEST_CASE("peer failure: a rotation that breaks when rerun, or when run again with the next key", "[review][rotate]") {
  TestDatabase db;
  Populate(db, 3000);
  const std::string a = NewBase64Key(), b = NewBase64Key(), c = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  for (int run = 0; run < 3; ++run) CHECK(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  // A rerun after a finished rotation never re-encrypts under a wrong key or twice.
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, c, b + "," + a)).exit_code == 0);
  CHECK(RunCli({"rotate"}, KeyEnv(db, c, b)).exit_code == 0);  // A no longer needed: nothing under it
  ExpectAllEncryptedAndEqual(db, Ring(c), "originals", Ring(c).primary_kid());
  CHECK(RunCli({"verify"}, KeyEnv(db, c)).exit_code == 0);
}

TEST_CASE("peer failure: a key removed while values still use it - keys warns, verify fails", "[review][keys]") {
  TestDatabase db;
  Populate(db, 2000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  // The application wrote some rows under B already; A was dropped from the ring too early.
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_secret = NULL WHERE id <= 10").ok());
  const std::string kid_a = Ring(a).primary_kid();

  auto keys = RunCli({"keys"}, KeyEnv(db, b));
  CHECK(keys.exit_code == 0);
  CHECK(keys.err.find("under key " + kid_a + ", which is NOT in the keyring") != std::string::npos);
  auto inventory = nlohmann::json::parse(RunCli({"keys", "--json"}, KeyEnv(db, b)).out);
  REQUIRE(inventory["unknown_kids"].size() == 1);
  CHECK(inventory["unknown_kids"][0]["kid"] == kid_a);

  // Only unknown kids: intact values, a missing key — a key problem (exit 3), not damage (6).
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, b));
  CHECK(verify.exit_code == 3);
  CHECK(verify.err.find(kid_a) != std::string::npos);
  CHECK(VerifyFailures(verify, "unknown_kid").size() == VerifyFailures(verify).size());
  CHECK(VerifyFailures(verify).size() == 1000);  // listed: the first 1000
  CHECK(nlohmann::json::parse(verify.out)["failure_count"].get<int>() > 5000);
  // And the safe-to-remove signal never shows for a key still in use.
  auto with_a = nlohmann::json::parse(RunCli({"keys", "--json"}, KeyEnv(db, b, a)).out);
  CHECK(with_a["keys"][1]["kid"] == kid_a);
  CHECK(with_a["keys"][1]["safe_to_remove"] == false);
}

TEST_CASE("peer failure: ciphertext truncated by a short column", "[review][capacity]") {
  TestDatabase db;
  Populate(db, 500);
  const std::string key = NewBase64Key();
  // A narrower column than credvault's: encrypt refuses before writing (the
  // database would otherwise reject, or a lax one truncate, the ciphertext).
  auto conn = db.Connect();
  REQUIRE(conn->Exec("ALTER TABLE credentials ALTER COLUMN client_secret TYPE varchar(120)").ok());
  const std::string before = TableChecksum(db);
  auto encrypt = RunCli({"encrypt"}, KeyEnv(db, key));
  CHECK(encrypt.exit_code == 5);
  CHECK(encrypt.err.find("credentials.client_secret") != std::string::npos);
  CHECK(encrypt.err.find("varchar(") != std::string::npos);
  CHECK(TableChecksum(db) == before);

  // A value that was cut short anyway (by a dump/restore into a narrower
  // column, or by hand): verify and get report it, never return garbage.
  REQUIRE(conn->Exec("ALTER TABLE credentials ALTER COLUMN client_secret TYPE varchar(512)").ok());
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "migrate"}, KeyEnv(db, key)).exit_code == 0);
  REQUIRE(conn->Exec("UPDATE credentials SET client_secret = left(client_secret, length(client_secret) - 10) WHERE id = 7")
              .ok());
  REQUIRE(conn->Exec("UPDATE credentials SET refresh_token = left(refresh_token, 40) WHERE id = 8").ok());
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, key));
  CHECK(verify.exit_code == 6);
  CHECK(VerifyFailures(verify) == std::set<std::pair<int, std::string>>{{7, "client_secret"}, {8, "refresh_token"}});
  auto get = RunCli({"get", "--account", "7", "--reveal"}, KeyEnv(db, key));
  CHECK(get.exit_code == 6);
  CHECK(get.out.empty());
}

TEST_CASE("peer failure: plaintext mistaken for ciphertext (and ciphertext for plaintext)", "[review][encrypt]") {
  TestDatabase db;
  Populate(db, 500);
  const std::string key = NewBase64Key();
  auto conn = db.Connect();
  // A Fernet token left over from the old stack is plaintext to credvault: it gets encrypted, not skipped.
  const std::string fernet_token = "gAAAAABmZ3R4ZXN0LXRva2VuLWZyb20tdGhlLW9sZC1zdGFjay1leGFtcGxlLXZhbHVl";
  REQUIRE(conn->Exec("UPDATE credentials SET client_secret = $1 WHERE id = 3", {fernet_token}).ok());
  REQUIRE(conn->Exec("UPDATE originals SET client_secret = $1 WHERE id = 3", {fernet_token}).ok());
  // A secret that merely starts like credvault ciphertext is not silently
  // treated as encrypted: encrypt stops before any write and names it.
  REQUIRE(conn->Exec("UPDATE credentials SET client_id = 'cv1:x:notakid:looks-encrypted-but-is-not' WHERE id = 4").ok());
  const std::string before = TableChecksum(db);
  auto refused = RunCli({"encrypt"}, KeyEnv(db, key));
  CHECK(refused.exit_code == 6);
  CHECK(refused.err.find("account 4 client_id (credentials.id 4)") != std::string::npos);
  CHECK(refused.err.find("client_id") != std::string::npos);
  CHECK(TableChecksum(db) == before);
  // verify calls a plaintext value a failure, never "ok".
  REQUIRE(conn->Exec("UPDATE credentials SET client_id = (SELECT client_id FROM originals WHERE id = 4) WHERE id = 4").ok());
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key));
  REQUIRE(conn->Exec("UPDATE credentials SET refresh_token = 'Atzr|plaintext-written-by-an-old-app' WHERE id = 9").ok());
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, key));
  CHECK(verify.exit_code == 6);
  CHECK(VerifyFailures(verify, "plaintext") == std::set<std::pair<int, std::string>>{{9, "refresh_token"}});
}

TEST_CASE("peer failure: a rewrap that drops the AAD - rotated values stay bound to their row and column",
          "[review][rotate]") {
  TestDatabase db;
  Populate(db, 500);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "migrate"}, KeyEnv(db, a)).exit_code == 0);
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  Keyring ring = Ring(b);
  auto row = db.Query("SELECT account_id::text, client_secret FROM credentials WHERE id = 20");
  const std::string account = row.text(0, 0), sealed = row.text(0, 1);
  CHECK(ring.Decrypt(sealed, ValueContext{"credentials", "client_secret", account}).ok());
  CHECK(ring.Decrypt(sealed, ValueContext{"credentials", "client_secret", "21"}).status().reason() == "auth_failed");
  CHECK(ring.Decrypt(sealed, ValueContext{"credentials", "client_id", account}).status().reason() == "auth_failed");
  CHECK(ring.Decrypt(sealed, ValueContext{"", "", ""}).status().reason() == "auth_failed");
  // Moving a rotated value to another account is caught by verify and by get.
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_secret = $1 WHERE id = 21", {sealed}).ok());
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, b));
  CHECK(verify.exit_code == 6);
  CHECK(VerifyFailures(verify, "auth_failed") == std::set<std::pair<int, std::string>>{{21, "client_secret"}});
  CHECK(RunCli({"get", "--account", "21", "--reveal"}, KeyEnv(db, b)).exit_code == 6);
}

TEST_CASE("SQL injection: account ids are integers, values are parameters, identifiers are quoted", "[review][sql]") {
  TestDatabase db;
  Populate(db, 50);
  const std::string key = NewBase64Key();
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "migrate"}, KeyEnv(db, key)).exit_code == 0);
  const std::string before = TableChecksum(db);
  for (const char* account : {"1 OR 1=1", "1; DROP TABLE credentials", "'1'", "1--", "-1"}) {
    INFO(account);
    auto get = RunCli({"get", "--account", account}, KeyEnv(db, key));
    CHECK(get.exit_code == 2);
    auto put = RunCli({"put", "--account", account}, KeyEnv(db, key), "{\"client_id\": \"x\"}");
    CHECK(put.exit_code == 2);
  }
  CHECK(TableChecksum(db) == before);

  // Hostile text as a value is stored and returned byte for byte.
  const std::string hostile = "'); DROP TABLE credentials; -- \\\" $$ \t\\n E'\\x00'";
  nlohmann::json input = {{"client_secret", hostile}};
  REQUIRE(RunCli({"put", "--account", "5"}, KeyEnv(db, key), input.dump()).exit_code == 0);
  auto get = RunCli({"get", "--account", "5", "--reveal"}, KeyEnv(db, key));
  REQUIRE(get.exit_code == 0);
  CHECK(nlohmann::json::parse(get.out)["client_secret"] == hostile);
  CHECK(db.Query("SELECT count(*) FROM credentials").text(0, 0) == "50");

  // Row jobs send a batch as array literals: a plaintext full of quotes,
  // backslashes, braces, commas and the word NULL survives decrypt and
  // encrypt byte for byte, and lands in its own row only.
  const std::string array_hostile = "{\"NULL\",\\\"}, NULL ,'\\\\'} \"";
  nlohmann::json second = {{"refresh_token", array_hostile}};
  REQUIRE(RunCli({"put", "--account", "6"}, KeyEnv(db, key), second.dump()).exit_code == 0);
  REQUIRE(RunCli({"decrypt", "--yes", "--batch-size", "7"}, KeyEnv(db, key)).exit_code == 0);
  CHECK(db.Query("SELECT client_secret FROM credentials WHERE account_id = 5").text(0, 0) == hostile);
  CHECK(db.Query("SELECT refresh_token FROM credentials WHERE account_id = 6").text(0, 0) == array_hostile);
  REQUIRE(RunCli({"encrypt", "--batch-size", "7"}, KeyEnv(db, key)).exit_code == 0);
  auto again = RunCli({"get", "--account", "6", "--reveal"}, KeyEnv(db, key));
  REQUIRE(again.exit_code == 0);
  CHECK(nlohmann::json::parse(again.out)["refresh_token"] == array_hostile);
  CHECK(db.Query("SELECT count(*) FROM credentials").text(0, 0) == "50");
}
