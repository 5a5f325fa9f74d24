// Row-job preflights and interruption against a real PostgreSQL: the
// server-side envelope check agrees with ClassifyValue, malformed values stop
// encrypt before it writes, a change of algorithm is capacity-checked before
// rotate writes, and SIGTERM stops a job between batches.
#include <catch2/catch.hpp>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "crypto/stored_value.hpp"
#include "jobs/preflight.hpp"
#include "jobs_fixture.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// Values near the edge of the v1 grammar: real ciphertexts of both
// algorithms and of plaintexts around the minimum length, each truncated,
// with its last char replaced by every base64url char (canonical or not), and
// with foreign characters, wrong fields and trailing newlines.
std::vector<std::string> EdgeValues() {
  std::vector<std::string> values = {"cv1:", "cv1:x:", "cv1:x:0123abcd:", "cv1:x:0123abcd:AAAA", "cv1:g:0123abcd:A",
                                     "cv1:y:0123abcd:AAAA", "cv1:x:0123ABCD:AAAA", "cv1:x:0123abc:AAAA",
                                     "cv1:x:0123abcd:AA:AA", "Atzr|IwEBIA", "amzn1.application-oa2-client.0f",
                                     "cv2:x:0123abcd:AAAA", ""};
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (Algorithm alg : {Algorithm::kXChaCha20Poly1305, Algorithm::kAes256Gcm}) {
    Keyring ring = MakeKeyring(NewBase64Key(), {}, alg);
    for (std::size_t n = 0; n < 6; ++n) {
      std::string sealed = *ring.Encrypt(std::string(n, 'p'), ValueContext{"credentials", "client_id", "1"});
      values.push_back(sealed);
      for (std::size_t cut = 1; cut <= 4; ++cut) values.push_back(sealed.substr(0, sealed.size() - cut));
      for (char c : alphabet) values.push_back(sealed.substr(0, sealed.size() - 1) + c);
      for (const char* bad : {"=", "+", "/", " ", "\n", ".", "é"}) {
        values.push_back(sealed + bad);
        values.push_back(sealed.substr(0, sealed.size() - 1) + bad);
      }
    }
  }
  return values;
}

}  // namespace

TEST_CASE("the server-side envelope check gives ClassifyValue's answer for every edge value", "[jobs][preflight]") {
  TestDatabase db;
  auto conn = db.Connect();
  REQUIRE(conn->Exec("CREATE TABLE edge (n integer PRIMARY KEY, val text)").ok());
  const std::vector<std::string> values = EdgeValues();
  for (std::size_t i = 0; i < values.size(); ++i) {
    REQUIRE(conn->Exec("INSERT INTO edge VALUES ($1::integer, $2)", {std::to_string(i), values[i]}).ok());
  }
  auto rows = db.Query(std::string("SELECT n, ") + jobs::kWellFormedValueSql + " FROM edge v ORDER BY n");
  REQUIRE(rows.size() == values.size());
  std::size_t well_formed = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("value #" << i << " (" << values[i].size() << " chars)");
    const bool sql = rows.text(i, 1) == "t";
    CHECK(sql == (crypto::ClassifyValue(values[i]) == crypto::ValueKind::kCiphertext));
    well_formed += sql;
  }
  // Both answers occur often enough for the comparison to mean something.
  CHECK(well_formed > 100);
  CHECK(values.size() - well_formed > 100);
}

TEST_CASE("a cv1: value that is not valid ciphertext stops encrypt before any write, naming row and column",
          "[jobs][preflight]") {
  TestDatabase db;
  Populate(db, 300);
  // Well-formed apart from its length: too short to hold nonce and tag.
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET client_secret = 'cv1:x:0123abcd:AAAA' WHERE id = 42").ok());
  const std::string before = TableChecksum(db);
  const std::string key = NewBase64Key();
  auto result = RunCli({"encrypt"}, KeyEnv(db, key));
  CHECK(result.exit_code == 6);
  CHECK(result.err.find("account 42 client_secret (credentials.id 42)") != std::string::npos);
  CHECK(result.err.find("cv1:x:0123abcd") == std::string::npos);
  CHECK(TableChecksum(db) == before);
  auto dry = RunCli({"encrypt", "--dry-run"}, KeyEnv(db, key));
  CHECK(dry.exit_code == 6);
}

TEST_CASE("rotate to another algorithm checks capacity before any write", "[jobs][preflight][rotate]") {
  TestDatabase db;
  Populate(db, 500);
  // Key A writes AES-256-GCM values (as a library user may); the CLI's
  // primary B uses XChaCha20-Poly1305, whose nonce is 12 bytes longer.
  const std::string a = NewBase64Key(), b = NewBase64Key();
  Keyring ring_a = MakeKeyring(a, {}, Algorithm::kAes256Gcm);
  auto conn = db.Connect();
  {
    auto rows = db.Query("SELECT id::text, account_id::text, client_id, client_secret, refresh_token FROM originals");
    auto tx = conn->Begin();
    REQUIRE(tx.ok());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::vector<std::optional<std::string>> sealed(3);
      for (int c = 0; c < 3; ++c) {
        if (!rows.at(i, 2 + c)) continue;
        sealed[c] = *ring_a.Encrypt(*rows.at(i, 2 + c), ValueContext{"credentials", kJobColumns[c], rows.text(i, 1)});
      }
      REQUIRE((*tx)->Exec("UPDATE credentials SET client_id = $2, client_secret = $3, refresh_token = $4 WHERE id = $1::integer",
                          {rows.text(i, 0), sealed[0], sealed[1], sealed[2]})
                  .ok());
    }
    REQUIRE((*tx)->Commit().ok());
  }
  // 340 bytes fit varchar(512) under g (506 chars) but not under x (522).
  const std::string long_token = "Atzr|" + std::string(335, 't');
  const std::string sealed_long = *ring_a.Encrypt(long_token, ValueContext{"credentials", "refresh_token", "99"});
  REQUIRE(sealed_long.size() <= 512);
  REQUIRE(conn->Exec("UPDATE credentials SET refresh_token = $1 WHERE id = 99", {sealed_long}).ok());
  REQUIRE(conn->Exec("UPDATE originals SET refresh_token = $1 WHERE id = 99", {long_token}).ok());

  const std::string before = TableChecksum(db);
  for (const char* mode : {"--dry-run", ""}) {
    std::vector<std::string> args = {"rotate"};
    if (*mode) args.push_back(mode);
    auto refused = RunCli(args, KeyEnv(db, b, a));
    CHECK(refused.exit_code == 5);
    CHECK(refused.err.find("credentials.refresh_token: 1 value(s)") != std::string::npos);
    CHECK(refused.err.find("longest plaintext is 340 bytes, at most 332 fit") != std::string::npos);
    CHECK(refused.err.find("ALTER TABLE credentials ALTER COLUMN refresh_token TYPE varchar(768)") != std::string::npos);
    CHECK(TableChecksum(db) == before);
  }

  // After the widening migration the same rotation goes through.
  REQUIRE(conn->Exec("ALTER TABLE credentials ALTER COLUMN refresh_token TYPE varchar(768)").ok());
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", Ring(b).primary_kid(), 768);
}

TEST_CASE("SIGTERM stops encrypt after a whole batch with exit 130 - a rerun finishes", "[jobs][kill]") {
  TestDatabase db;
  Populate(db, 20000);
  const std::string key = NewBase64Key();
  CliProcess job({"encrypt", "--batch-size", "100"}, KeyEnv(db, key));
  (void)WaitFor([&] { return CountCiphertext(db) != 0; }, std::chrono::seconds(5));
  REQUIRE(CountCiphertext(db) > 0);
  auto stopped = job.Kill(SIGTERM);
  CHECK(stopped.exit_code == 130);
  CHECK(stopped.err.find("rerun to finish") != std::string::npos);
  const int partial = CountCiphertext(db);
  CHECK(partial < 20000);
  // Whole batches only: every encrypted row is encrypted in all its columns.
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_id LIKE 'cv1:%' AND client_secret NOT LIKE 'cv1:%'")
            .text(0, 0) == "0");
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, key)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key));
}

TEST_CASE("rotate leaves values that do not decrypt, rotates all the rest, then exits 6 naming them",
          "[jobs][rotate]") {
  TestDatabase db;
  Populate(db, 2000);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  const std::string kid_a = Ring(a).primary_kid();
  auto conn = db.Connect();
  // Row 7: a ciphertext moved to another column; row 8: a payload cut short
  // behind a well-formed header.
  REQUIRE(conn->ExecScript("UPDATE credentials SET client_id = client_secret WHERE id = 7;"
                           "UPDATE credentials SET refresh_token = 'cv1:x:" + kid_a + ":AAAA' WHERE id = 8;")
              .ok());
  const char* bad_values_sql =
      "SELECT (SELECT client_id FROM credentials WHERE id = 7) || (SELECT refresh_token FROM credentials WHERE id = 8)";
  const std::string bad_before = db.Query(bad_values_sql).text(0, 0);
  for (int run = 0; run < 2; ++run) {
    auto rotated = RunCli({"rotate", "--batch-size", "500"}, KeyEnv(db, b, a));
    CHECK(rotated.exit_code == 6);
    CHECK(rotated.err.find("account 7 client_id (auth_failed, credentials.id 7)") != std::string::npos);
    CHECK(rotated.err.find("account 8 refresh_token (malformed, credentials.id 8)") != std::string::npos);
    CHECK(rotated.err.find("left 2 ") != std::string::npos);
  }
  CHECK(db.Query(bad_values_sql).text(0, 0) == bad_before);
  // Everything else moved to B.
  const std::string kid_b = Ring(b).primary_kid();
  CHECK(db.Query("SELECT count(*) FROM credentials c CROSS JOIN LATERAL (VALUES (1, c.client_id), (2, c.client_secret), "
                 "(3, c.refresh_token)) v(n, val) WHERE v.val IS NOT NULL AND split_part(v.val, ':', 3) <> $1",
                 {kid_b})
            .text(0, 0) == "2");
  auto verify = RunCli({"verify"}, KeyEnv(db, b, a));
  CHECK(verify.exit_code == 6);
  CHECK(verify.out.find("FAILED account 7 client_id: auth_failed") != std::string::npos);
}

TEST_CASE("rotate's one preflight scan counts the rows it visits - mixed kids, other versions, plaintext",
          "[jobs][preflight][rotate]") {
  TestDatabase db;
  Populate(db, 300);
  const std::string a = NewBase64Key(), b = NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, b)).exit_code == 0);
  const Keyring ring_a = Ring(a);
  auto conn = db.Connect();
  // Rows 1-40: one value under the old key A (the others under B); rows
  // 41-45: a value in another format version; rows 46-50: a plaintext value
  // (rotate leaves plaintext alone); every other row is done already.
  auto rows = db.Query("SELECT id::text, account_id::text, client_id FROM originals WHERE id <= 40");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string sealed =
        *ring_a.Encrypt(rows.text(i, 2), ValueContext{"credentials", "client_id", rows.text(i, 1)});
    REQUIRE(conn->Exec("UPDATE credentials SET client_id = $2 WHERE id = $1::integer", {rows.text(i, 0), sealed}).ok());
  }
  REQUIRE(conn->ExecScript("UPDATE credentials SET refresh_token = 'cv2:x:0123abcd:AAAA' WHERE id BETWEEN 41 AND 45;"
                           "UPDATE credentials c SET client_secret = o.client_secret FROM originals o "
                           "WHERE o.id = c.id AND c.id BETWEEN 46 AND 50;")
              .ok());
  // The total comes from the preflight's scan, for a dry run too.
  auto dry = RunCli({"rotate", "--dry-run"}, KeyEnv(db, b, a));
  INFO(dry.err);
  CHECK(dry.err.find("rotate: 45 rows to go") != std::string::npos);
  auto rotated = RunCli({"rotate"}, KeyEnv(db, b, a));
  INFO(rotated.err);
  CHECK(rotated.exit_code == 6);  // the cv2: values are left and named
  CHECK(rotated.err.find("rotate: 45 rows to go") != std::string::npos);
  CHECK(rotated.err.find("rotate: 45/45 rows") != std::string::npos);
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE client_id LIKE 'cv1:_:" + ring_a.primary_kid() + ":%'")
            .text(0, 0) == "0");
}
