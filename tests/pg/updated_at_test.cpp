// Row jobs leave the data's meaning alone (migration 20260215_0003):
// encrypt, rotate and decrypt keep every row's updated_at, while put (and
// any application write) still stamps it; an application's own trigger can
// tell a row job's write by credvault.row_job.
#include <catch2/catch.hpp>

#include <string>

#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

// md5 of every (id, updated_at), to compare the whole table at once.
std::string UpdatedAts(const TestDatabase& db) {
  return db.Query("SELECT md5(string_agg(id || '=' || updated_at, ',' ORDER BY id)) FROM credentials").text(0, 0);
}

std::string UpdatedAt(const TestDatabase& db, int account) {
  return db.Query("SELECT updated_at::text FROM credentials WHERE account_id = $1::int", {std::to_string(account)})
      .text(0, 0);
}

}  // namespace

TEST_CASE("encrypt, rotate and decrypt keep updated_at - put stamps it", "[jobs][updated_at]") {
  TestDatabase db;
  Populate(db, 3000);
  const std::string migrations = SourceDir() + "/migrations";
  const std::string key_a = NewBase64Key(), key_b = NewBase64Key();
  // To head (its encrypt step runs before 20260215_0003 and still stamps),
  // then back-date every row so that any later stamp is unmistakable.
  REQUIRE(RunCli({"--migrations-dir", migrations, "migrate"}, KeyEnv(db, key_a)).exit_code == 0);
  REQUIRE(db.Query("SELECT count(*) FROM credvault_schema_history WHERE revision = '20260215_0003'").text(0, 0) == "1");
  db.Query("ALTER TABLE credentials DISABLE TRIGGER credentials_updated_at");
  db.Query("UPDATE credentials SET updated_at = timestamp '2025-01-01' + id * interval '1 second'");
  db.Query("ALTER TABLE credentials ENABLE TRIGGER credentials_updated_at");
  const std::string before = UpdatedAts(db);

  auto rotated = RunCli({"rotate", "--batch-size", "700"}, KeyEnv(db, key_b, key_a));
  INFO(rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK(UpdatedAts(db) == before);
  auto decrypted = RunCli({"decrypt", "--yes"}, KeyEnv(db, key_b));
  REQUIRE(decrypted.exit_code == 0);
  CHECK(UpdatedAts(db) == before);
  auto encrypted = RunCli({"encrypt", "--max-rate", "50000"}, KeyEnv(db, key_b));  // the serial (throttled) path too
  REQUIRE(encrypted.exit_code == 0);
  CHECK(UpdatedAts(db) == before);
  ExpectAllEncryptedAndEqual(db, Ring(key_b));

  // put is a change of the credentials: it stamps, that row only.
  const std::string stamped_before = UpdatedAt(db, 5);
  auto put = RunCli({"put", "--account", "5"}, KeyEnv(db, key_b), R"({"client_secret": "amzn1.oa2-cs.v1.new-5555"})");
  INFO(put.err);
  REQUIRE(put.exit_code == 0);
  CHECK(UpdatedAt(db, 5) != stamped_before);
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE updated_at >= now() - interval '1 hour'").text(0, 0) == "1");
  // So does an application's plain UPDATE.
  db.Query("UPDATE credentials SET refresh_token = refresh_token WHERE account_id = 6");
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE updated_at >= now() - interval '1 hour'").text(0, 0) == "2");
}

TEST_CASE("an application's trigger sees credvault.row_job during a row job and not otherwise", "[jobs][updated_at]") {
  TestDatabase db;
  Populate(db, 500);
  const std::string key = NewBase64Key();
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "migrate"}, KeyEnv(db, key)).exit_code == 0);
  db.Query("CREATE TABLE seen (job text)");
  db.Query(
      "CREATE FUNCTION note_job() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "INSERT INTO seen VALUES (coalesce(current_setting('credvault.row_job', true), '')); RETURN NEW; END $$");
  db.Query("CREATE TRIGGER note_job AFTER UPDATE ON credentials FOR EACH ROW EXECUTE FUNCTION note_job()");
  const std::string other = NewBase64Key();
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, other, key)).exit_code == 0);
  CHECK(db.Query("SELECT string_agg(DISTINCT job, ',') FROM seen").text(0, 0) == "rotate");
  db.Query("DELETE FROM seen");
  REQUIRE(RunCli({"put", "--account", "3"}, KeyEnv(db, other), R"({"client_id": "amzn1.application-oa2-client.x"})")
              .exit_code == 0);
  CHECK(db.Query("SELECT string_agg(DISTINCT job, ',') FROM seen").text(0, 0) == "");
  CHECK(db.Query("SELECT count(*) FROM seen").text(0, 0) == "1");
}
