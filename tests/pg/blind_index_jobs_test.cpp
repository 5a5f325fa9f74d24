// The blind index of client_id (credentials.client_id_bidx) in the row jobs:
// encrypt and rotate write it beside every client_id they encrypt, encrypt
// fills it for client_ids encrypted before the column existed (the step of
// migration 20261207_0006), decrypt clears it, verify checks it, and all of
// them still work on a schema without the column.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "credvault/keyring.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/stored_value.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

std::string Migrations() { return SourceDir() + "/migrations"; }

// Populates `rows` plaintext rows (every 50th client_id NULL, in originals
// too) and migrates to `target` ("" for head) with `key`.
void PopulateAndMigrate(const TestDatabase& db, int rows, const std::string& key, const std::string& target = "") {
  Populate(db, rows);
  db.Query("UPDATE credentials SET client_id = NULL WHERE id % 50 = 0");
  db.Query("UPDATE originals SET client_id = NULL WHERE id % 50 = 0");
  std::vector<std::string> args = {"--migrations-dir", Migrations(), "migrate"};
  if (!target.empty()) args.insert(args.end(), {"--to", target});
  auto migrated = RunCli(args, KeyEnv(db, key));
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
}

// Every row's client_id_bidx is the index of its original client_id under
// the kid of its client_id ciphertext (`kid` when given), NULL where
// client_id is NULL. Returns the rows with an index.
int ExpectIndexed(const TestDatabase& db, const Keyring& ring, const std::string& kid = "") {
  db::Rows rows = db.Query(
      "SELECT c.id::text, c.client_id, o.client_id, c.client_id_bidx FROM credentials c JOIN originals o USING (id) "
      "ORDER BY c.id");
  int indexed = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("credentials.id " << rows.text(i, 0));
    if (!rows.at(i, 1)) {
      CHECK(!rows.at(i, 3));
      continue;
    }
    REQUIRE(crypto::ClassifyValue(*rows.at(i, 1)) == crypto::ValueKind::kCiphertext);
    const std::string value_kid(crypto::PeekKid(*rows.at(i, 1)));
    if (!kid.empty()) CHECK(value_kid == kid);
    REQUIRE(rows.at(i, 3));
    auto expected = crypto::ClientIdIndex(ring, value_kid, *rows.at(i, 2));
    REQUIRE(expected.ok());
    CHECK(*rows.at(i, 3) == *expected);
    CHECK(crypto::ClientIdIndexKid(*rows.at(i, 3)) == value_kid);
    ++indexed;
  }
  return indexed;
}

std::string Count(const TestDatabase& db, const std::string& where) {
  return db.Query("SELECT count(*) FROM credentials WHERE " + where).text(0, 0);
}

// md5 of every row's (id, updated_at, client_secret_changed_at).
std::string Stamps(const TestDatabase& db) {
  return db.Query("SELECT md5(string_agg(id || ':' || updated_at::text || ':' || "
                  "coalesce(client_secret_changed_at::text, '-'), ',' ORDER BY id)) FROM credentials")
      .text(0, 0);
}

}  // namespace

TEST_CASE("migrate from plaintext to head encrypts without the index, then 20261207_0006 indexes every client_id",
          "[jobs][blind_index][migrate]") {
  TestDatabase db;
  const std::string key = NewBase64Key();
  PopulateAndMigrate(db, 3000, key);
  CHECK(RunCli({"--migrations-dir", Migrations(), "current"}, KeyEnv(db, key)).out == "20261207_0006 (head)\n");
  ExpectAllEncryptedAndEqual(db, Ring(key));
  CHECK(ExpectIndexed(db, Ring(key), Ring(key).primary_kid()) == 3000 - 60);
  CHECK(Count(db, "client_id IS NOT NULL AND client_id_bidx IS NULL") == "0");
  auto verify = RunCli({"verify"}, KeyEnv(db, key));
  INFO(verify.out);
  CHECK(verify.exit_code == 0);
}

TEST_CASE("encrypt indexes client_ids encrypted before the column existed, and only once",
          "[jobs][blind_index][encrypt]") {
  TestDatabase db;
  const std::string a = NewBase64Key(), b = NewBase64Key();
  // 0002's encrypt step runs before 0004 adds the column: every client_id is
  // ciphertext without an index.
  PopulateAndMigrate(db, 2000, a, "20261207_0005");
  CHECK(Count(db, "client_id_bidx IS NOT NULL") == "0");
  // Without key A its client_ids cannot be indexed: refused before any write, naming the kid.
  auto without_a = RunCli({"encrypt"}, KeyEnv(db, b));
  CHECK(without_a.exit_code == 3);
  CHECK(without_a.err.find(Ring(a).primary_kid() + " (" + std::to_string(2000 - 40) + " values)") != std::string::npos);
  CHECK(Count(db, "client_id_bidx IS NOT NULL") == "0");
  // Rows under an older key (A) keep it: the index is under the client_id's own kid.
  const std::string values = "SELECT md5(string_agg(coalesce(client_id, '-') || client_secret || coalesce(refresh_token, '-'), "
                             "',' ORDER BY id)) FROM credentials";
  const std::string before = db.Query(values).text(0, 0);
  auto encrypt = RunCli({"encrypt"}, KeyEnv(db, b, a));
  INFO(encrypt.err);
  REQUIRE(encrypt.exit_code == 0);
  CHECK(ExpectIndexed(db, Ring(b, {a}), Ring(a).primary_kid()) == 2000 - 40);
  // The values themselves are unchanged: only the index was written.
  CHECK(db.Query(values).text(0, 0) == before);
  const std::string xmins = Xmins(db);
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, b, a)).exit_code == 0);
  CHECK(Xmins(db) == xmins);  // nothing left to do
  CHECK(RunCli({"verify"}, KeyEnv(db, b, a)).exit_code == 0);
}

TEST_CASE("encrypt, rotate and decrypt write, move and clear the index in the same write",
          "[jobs][blind_index][rotate]") {
  TestDatabase db;
  const std::string a = NewBase64Key(), b = NewBase64Key();
  PopulateAndMigrate(db, 2000, a);
  const std::string stamps = Stamps(db);

  REQUIRE(RunCli({"decrypt", "--yes"}, KeyEnv(db, a)).exit_code == 0);
  CHECK(Count(db, "client_id_bidx IS NOT NULL") == "0");
  CHECK(Count(db, "client_id LIKE 'cv1:%'") == "0");

  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  CHECK(ExpectIndexed(db, Ring(a), Ring(a).primary_kid()) == 2000 - 40);

  auto rotate = RunCli({"rotate"}, KeyEnv(db, b, a));
  INFO(rotate.err);
  REQUIRE(rotate.exit_code == 0);
  const std::string kid_b = Ring(b).primary_kid();
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", kid_b);
  CHECK(ExpectIndexed(db, Ring(b), kid_b) == 2000 - 40);
  CHECK(Count(db, "split_part(client_id, ':', 3) <> split_part(client_id_bidx, ':', 1)") == "0");
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);

  // Row jobs change neither updated_at nor client_secret_changed_at...
  CHECK(Stamps(db) == stamps);
  // ...an application's write of a new client_secret stamps it.
  const std::string changed_before = db.Query("SELECT client_secret_changed_at::text FROM credentials WHERE id = 3").text(0, 0);
  REQUIRE(!changed_before.empty());
  db.Query("UPDATE credentials SET client_secret = 'amzn1.oa2-cs.v1.new' WHERE id = 3");
  CHECK(db.Query("SELECT client_secret_changed_at > $1::timestamptz FROM credentials WHERE id = 3", {changed_before})
            .text(0, 0) == "t");
  CHECK(Stamps(db) != stamps);
}

TEST_CASE("verify fails a tampered, foreign, malformed, missing or stray index naming bad_blind_index",
          "[jobs][blind_index][verify]") {
  TestDatabase db;
  const std::string a = NewBase64Key(), b = NewBase64Key();
  PopulateAndMigrate(db, 500, a);
  REQUIRE(RunCli({"verify"}, KeyEnv(db, a)).exit_code == 0);
  const std::string original = Count(db, "true");
  const std::string plaintext_of_12 = db.Query("SELECT client_id FROM originals WHERE id = 12").text(0, 0);
  auto under_b = crypto::ClientIdIndex(Ring(b), Ring(b).primary_kid(), plaintext_of_12);
  REQUIRE(under_b.ok());
  auto conn = db.Connect();
  REQUIRE(conn->ExecScript("UPDATE credentials SET client_id_bidx = (SELECT client_id_bidx FROM credentials WHERE id = 8) "
                           "WHERE id = 7;"
                           "UPDATE credentials SET client_id_bidx = NULL WHERE id = 9;"
                           "UPDATE credentials SET client_id_bidx = 'garbage' WHERE id = 10;"
                           "UPDATE credentials SET client_id_bidx = (SELECT client_id_bidx FROM credentials WHERE id = 1) "
                           "WHERE id = 50;").ok());  // id 50: a NULL client_id
  REQUIRE(conn->Exec("UPDATE credentials SET client_id_bidx = $1 WHERE id = 12", {*under_b}).ok());
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, a));
  CHECK(verify.exit_code == 6);
  auto report = nlohmann::json::parse(verify.out);
  std::set<int> failed;
  for (const auto& f : report["failures"]) {
    CHECK(f["reason"] == "bad_blind_index");
    CHECK(f["column"] == "client_id_bidx");
    CHECK(f["account_id"] == f["row_id"]);
    failed.insert(f["row_id"].get<int>());
  }
  CHECK(failed == std::set<int>{7, 9, 10, 12, 50});
  CHECK(report["failures_by_reason"] == nlohmann::json{{"bad_blind_index", 5}});
  auto text = RunCli({"verify"}, KeyEnv(db, a));
  CHECK(text.exit_code == 6);
  CHECK(text.out.find("FAILED account 7 client_id_bidx: bad_blind_index") != std::string::npos);
  CHECK(text.out.find("failed, bad_blind_index: 5") != std::string::npos);
  // encrypt fills the missing one (row 9) and leaves the others to the operator.
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  auto again = nlohmann::json::parse(RunCli({"verify", "--json"}, KeyEnv(db, a)).out);
  CHECK(again["failures_by_reason"] == nlohmann::json{{"bad_blind_index", 4}});
  CHECK(Count(db, "true") == original);
}

TEST_CASE("every row job works on a schema without the index column", "[jobs][blind_index][old_schema]") {
  TestDatabase db;
  Populate(db, 1000);  // at 20260215_0001: no client_id_bidx
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(a));
  CHECK(RunCli({"verify"}, KeyEnv(db, a)).exit_code == 0);
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid());
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
  REQUIRE(RunCli({"decrypt", "--yes"}, KeyEnv(db, b)).exit_code == 0);
  CHECK(CountCiphertext(db) == 0);
  // The same on a head schema whose column was dropped.
  TestDatabase dropped;
  PopulateAndMigrate(dropped, 500, a);
  dropped.Query("ALTER TABLE credentials DROP COLUMN client_id_bidx");
  REQUIRE(RunCli({"rotate"}, KeyEnv(dropped, b, a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(dropped, Ring(b), "originals", Ring(b).primary_kid());
  CHECK(RunCli({"verify"}, KeyEnv(dropped, b)).exit_code == 0);
}

TEST_CASE("encrypt indexes rows while an application writes them: no index beside another client_id",
          "[jobs][blind_index][concurrency]") {
  TestDatabase db;
  const std::string a = NewBase64Key();
  PopulateAndMigrate(db, 5000, a, "20261207_0005");
  {
    ApplicationWriter app(db, 5000, 7, Ring(a));
    REQUIRE(RunCli({"encrypt", "--batch-size", "200"}, KeyEnv(db, a)).exit_code == 0);
    CHECK(app.writes() > 0);
  }
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  CHECK(ExpectIndexed(db, Ring(a), Ring(a).primary_kid()) == 5000 - 100);
  CHECK(RunCli({"verify"}, KeyEnv(db, a)).exit_code == 0);
}
