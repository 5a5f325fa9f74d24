// Row jobs against a real PostgreSQL: encrypt, verify, decrypt, rotate — with
// kills, concurrent application writes and bad data.
#include <catch2/catch.hpp>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "credvault/keyring.hpp"
#include "jobs_fixture.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

TEST_CASE("encrypt 20k realistic rows - verify - decrypt equals the original - rerun changes nothing", "[jobs][encrypt]") {
  TestDatabase db;
  Populate(db, 20000);
  const std::string key = credvault::testing::NewBase64Key();
  auto dry = RunCli({"encrypt", "--dry-run"}, KeyEnv(db, key));
  REQUIRE(dry.exit_code == 0);
  CHECK(CountCiphertext(db) == 0);

  auto encrypted = RunCli({"encrypt"}, KeyEnv(db, key));
  REQUIRE(encrypted.exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key));
  CHECK(db.Query("SELECT count(*) FROM credentials WHERE refresh_token IS NULL").text(0, 0) ==
        db.Query("SELECT count(*) FROM originals WHERE refresh_token IS NULL").text(0, 0));

  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, key));
  CHECK(verify.exit_code == 0);
  auto report = nlohmann::json::parse(verify.out);
  CHECK(report["ok"] == true);
  CHECK(report["values"].get<int>() > 55000);

  const std::string before = Xmins(db);
  auto rerun = RunCli({"encrypt"}, KeyEnv(db, key));
  CHECK(rerun.exit_code == 0);
  CHECK(Xmins(db) == before);

  // The data migration's down: decrypt refused in production and without --yes.
  CHECK(RunCli({"--env", "production", "decrypt", "--yes"}, KeyEnv(db, key)).exit_code == 5);
  CHECK(RunCli({"decrypt"}, KeyEnv(db, key)).exit_code == 5);
  CHECK(Xmins(db) == before);
  REQUIRE(RunCli({"decrypt", "--yes"}, KeyEnv(db, key)).exit_code == 0);
  CHECK(db.Query("SELECT count(*) FROM credentials c JOIN originals o USING (id) WHERE "
                 "c.client_id IS DISTINCT FROM o.client_id OR c.client_secret IS DISTINCT FROM o.client_secret OR "
                 "c.refresh_token IS DISTINCT FROM o.refresh_token").text(0, 0) == "0");
}

TEST_CASE("a job whose event cannot be recorded fails - its writes stay and a rerun records it", "[jobs][events]") {
  TestDatabase db;
  Populate(db, 300);
  const std::string key = credvault::testing::NewBase64Key();
  db.Query("CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
           "$$BEGIN RAISE EXCEPTION 'events are read-only today'; END$$");
  db.Query("CREATE TRIGGER refuse_event BEFORE INSERT ON credvault_events FOR EACH ROW EXECUTE FUNCTION refuse_event()");
  auto refused = RunCli({"encrypt"}, KeyEnv(db, key));
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("event could not be recorded") != std::string::npos);
  ExpectAllEncryptedAndEqual(db, Ring(key));  // the work itself is done and committed
  CHECK(db.Query("SELECT count(*) FROM credvault_events WHERE kind = 'encrypt'").text(0, 0) == "0");

  db.Query("DROP TRIGGER refuse_event ON credvault_events");
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 0);
  CHECK(db.Query("SELECT count(*) FROM credvault_events WHERE kind = 'encrypt'").text(0, 0) == "1");
}

TEST_CASE("migrate runs the encrypt step of 20260215_0002 and refuses without a key", "[jobs][migrate]") {
  TestDatabase db;
  Populate(db, 3000);
  auto no_key = RunCli({"--migrations-dir", SourceDir() + "/migrations", "--env", "development", "migrate"}, db.Env());
  CHECK(no_key.exit_code == 3);
  CHECK(CountCiphertext(db) == 0);
  const std::string key = credvault::testing::NewBase64Key();
  auto env = KeyEnv(db, key);
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "migrate"}, env).exit_code == 0);
  CHECK(RunCli({"--migrations-dir", SourceDir() + "/migrations", "current"}, env).out == "20261207_0006 (head)\n");
  ExpectAllEncryptedAndEqual(db, Ring(key));
  // Rolling back past 20260215_0002 runs the decrypt step.
  REQUIRE(RunCli({"--migrations-dir", SourceDir() + "/migrations", "rollback", "--to", "20260215_0001", "--yes"}, env)
              .exit_code == 0);
  CHECK(CountCiphertext(db) == 0);
}

TEST_CASE("SIGKILL in the middle of encrypt loses nothing - a rerun finishes", "[jobs][kill]") {
  TestDatabase db;
  Populate(db, 20000);
  const std::string key = credvault::testing::NewBase64Key();
  for (int seed = 0; seed < 2; ++seed) {
    CliProcess job({"encrypt", "--batch-size", "100"}, KeyEnv(db, key));
    int done = 0;
    for (int i = 0; i < 400 && done < 1000 + seed * 3000; ++i) {
      usleep(10 * 1000);
      done = CountCiphertext(db);
    }
    auto killed = job.Kill(SIGKILL);
    CHECK(killed.exit_code == 128 + SIGKILL);
    INFO("killed after " << done << " rows");
  }
  const int partial = CountCiphertext(db);
  CHECK(partial > 0);
  CHECK(partial < 20000);
  // Each value is the whole original plaintext or a whole ciphertext of it.
  Keyring ring = Ring(key);
  CHECK(ExpectEveryValueWhole(db, ring) > 50000);
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, key)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, ring);
}

TEST_CASE("concurrent application writes during encrypt are never overwritten", "[jobs][concurrency]") {
  TestDatabase db;
  Populate(db, 20000);
  const std::string key = credvault::testing::NewBase64Key();
  // The application writes plaintext (it predates credvault).
  int writes = 0;
  CliResult first;
  {
    ApplicationWriter application(db, 20000, 42);
    first = RunCli({"encrypt", "--batch-size", "500"}, KeyEnv(db, key));
    writes = application.writes();
  }
  CHECK(first.exit_code == 0);
  CHECK(writes > 50);
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(key));
}

TEST_CASE("one over-long refresh token: exit 5, nothing written, the fix named", "[jobs][capacity]") {
  TestDatabase db;
  Populate(db, 20000);
  // varchar(512) holds the plaintext, but not its ciphertext.
  REQUIRE(db.Connect()->Exec("UPDATE credentials SET refresh_token = 'Atzr|' || repeat('x', 395) WHERE id = 777").ok());
  const std::string before = TableChecksum(db);
  auto result = RunCli({"encrypt"}, KeyEnv(db, credvault::testing::NewBase64Key()));
  CHECK(result.exit_code == 5);
  CHECK(TableChecksum(db) == before);
  CHECK(result.err.find("credentials.refresh_token: 1 value(s)") != std::string::npos);
  CHECK(result.err.find("longest plaintext is 400 bytes, at most 332 fit") != std::string::npos);
  CHECK(result.err.find("ALTER TABLE credentials ALTER COLUMN refresh_token TYPE varchar(") != std::string::npos);
  CHECK(result.err.find(std::string(395, 'x')) == std::string::npos);
}

TEST_CASE("swapped or moved ciphertexts fail verify naming exactly those rows", "[jobs][verify]") {
  TestDatabase db;
  Populate(db, 2000);
  const std::string key = credvault::testing::NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 0);
  auto conn = db.Connect();
  REQUIRE(conn->ExecScript("UPDATE credentials a SET refresh_token = b.refresh_token FROM credentials b "
                           "WHERE (a.id, b.id) IN ((10, 20), (20, 10));"
                           "UPDATE credentials SET client_id = client_secret WHERE id = 33;").ok());
  auto verify = RunCli({"verify", "--json"}, KeyEnv(db, key));
  CHECK(verify.exit_code == 6);
  auto report = nlohmann::json::parse(verify.out);
  std::set<std::pair<int, std::string>> failures;
  for (const auto& f : report["failures"]) {
    failures.insert({f["row_id"].get<int>(), f["column"].get<std::string>()});
    CHECK(f["reason"] == "auth_failed");
  }
  CHECK(failures == std::set<std::pair<int, std::string>>{{10, "refresh_token"}, {20, "refresh_token"}, {33, "client_id"}});
  CHECK(report["failure_count"] == 3);
  CHECK(report["failures_by_reason"] == nlohmann::json{{"auth_failed", 3}});
  auto text = RunCli({"verify"}, KeyEnv(db, key));
  CHECK(text.exit_code == 6);
  CHECK(text.out.find("FAILED account 33 client_id: auth_failed") != std::string::npos);
  const std::uint64_t values = report["values"].get<std::uint64_t>();
  CHECK(text.out.find(std::to_string(values - 3) + " ok, 3 failed") != std::string::npos);
  CHECK(text.out.find("failed, auth_failed: 3 — does not authenticate") != std::string::npos);
  CHECK(text.err.find("3 value(s) failed verification (auth_failed 3)") != std::string::npos);
  // A malformed cv1: value stops encrypt and rotate before they write.
  REQUIRE(conn->Exec("UPDATE credentials SET client_id = 'cv1:x:zz:broken' WHERE id = 5").ok());
  CHECK(RunCli({"encrypt"}, KeyEnv(db, key)).exit_code == 6);
}

TEST_CASE("rotate 50k rows from A to B - B alone verifies - plaintexts unchanged", "[jobs][rotate]") {
  TestDatabase db;
  const int rows = kSanitizedBuild ? 10000 : 50000;  // (see kSanitizedBuild)
  Populate(db, rows);
  const std::string a = credvault::testing::NewBase64Key(), b = credvault::testing::NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  const std::string under_a = *db.Query("SELECT client_secret FROM credentials WHERE account_id = 9").at(0, 0);

  auto dry = RunCli({"rotate", "--dry-run"}, KeyEnv(db, b, a));
  CHECK(dry.exit_code == 0);
  CHECK(dry.err.find("would be re-encrypted") != std::string::npos);
  auto rotate = RunCli({"rotate"}, KeyEnv(db, b, a));
  REQUIRE(rotate.exit_code == 0);
  const std::string kid_b = Ring(b).primary_kid();
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", kid_b);
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
  // With the old key alone every value fails: a count per reason, the first
  // 20 listed by row (1000 in JSON), and the rest counted rather than flooding the terminal.
  // Values under a key that is not loaded are a key problem (exit 3), not damage.
  auto old_only = RunCli({"verify", "--json"}, KeyEnv(db, a));
  CHECK(old_only.exit_code == 3);
  auto old_report = nlohmann::json::parse(old_only.out);
  const std::uint64_t values = old_report["values"].get<std::uint64_t>();
  CHECK(old_report["failure_count"] == values);
  CHECK(old_report["failures_by_reason"] == nlohmann::json{{"unknown_kid", values}});
  CHECK(old_report["failures"].size() == 1000);
  auto old_text = RunCli({"verify"}, KeyEnv(db, a));
  CHECK(old_text.exit_code == 3);
  CHECK(old_text.err.find("--fallback-key-file") != std::string::npos);
  CHECK(old_text.out.find("0 ok, " + std::to_string(values) + " failed") != std::string::npos);
  CHECK(old_text.out.find("... and " + std::to_string(values - 20) + " more (the first 20 are listed;") !=
        std::string::npos);
  auto stale = Ring(b).Decrypt(under_a, ValueContext{"credentials", "client_secret", "9"});
  CHECK(stale.status().reason() == "unknown_kid");

  auto again = RunCli({"rotate"}, KeyEnv(db, b, a));
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("nothing to rotate") != std::string::npos);
  auto alone = RunCli({"rotate"}, KeyEnv(db, b));
  CHECK(alone.exit_code == 0);
  CHECK(alone.err.find("nothing to rotate") != std::string::npos);

  auto keys = RunCli({"keys", "--json"}, KeyEnv(db, b, a));
  REQUIRE(keys.exit_code == 0);
  auto inventory = nlohmann::json::parse(keys.out);
  CHECK(inventory["keys"][0]["role"] == "primary");
  CHECK(inventory["keys"][0]["values"].get<int>() > rows * 14 / 5);
  CHECK(inventory["keys"][1]["values"] == 0);
  CHECK(inventory["keys"][1]["safe_to_remove"] == true);
  CHECK(keys.out.find(b.substr(7, 12)) == std::string::npos);
}

TEST_CASE("three key generations rotate fully - unknown kids stop rotate before any write", "[jobs][rotate]") {
  TestDatabase db;
  const std::string a = credvault::testing::NewBase64Key(), b = credvault::testing::NewBase64Key(),
                    c = credvault::testing::NewBase64Key();
  Populate(db, 3000, 1);
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  Populate(db, 3000, 3001);
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, b)).exit_code == 0);
  Populate(db, 3000, 6001);
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, c)).exit_code == 0);

  // Without A in the ring: exit 3 naming A's kid, nothing written.
  const std::string before = TableChecksum(db);
  auto missing = RunCli({"rotate"}, KeyEnv(db, c, b));
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find(Ring(a).primary_kid()) != std::string::npos);
  CHECK(TableChecksum(db) == before);
  auto keys = RunCli({"keys"}, KeyEnv(db, c, b));
  CHECK(keys.err.find("NOT in the keyring") != std::string::npos);

  REQUIRE(RunCli({"rotate"}, KeyEnv(db, c, b + "," + a)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(c), "originals", Ring(c).primary_kid());
}

TEST_CASE("SIGKILL during rotate, two rotators at once, and an application writing meanwhile", "[jobs][rotate][concurrency]") {
  TestDatabase db;
  Populate(db, 20000);
  const std::string a = credvault::testing::NewBase64Key(), b = credvault::testing::NewBase64Key();
  REQUIRE(RunCli({"encrypt"}, KeyEnv(db, a)).exit_code == 0);
  const std::string kid_b = Ring(b).primary_kid();
  auto under_b = [&] {
    return std::stoi(db.Query("SELECT count(*) FROM credentials WHERE split_part(client_id, ':', 3) = $1", {kid_b}).text(0, 0));
  };
  {
    CliProcess job({"rotate", "--batch-size", "100"}, KeyEnv(db, b, a));
    (void)WaitFor([&] { return under_b() >= 2000; }, std::chrono::seconds(4));
    job.Kill(SIGKILL);
  }
  CHECK(under_b() > 0);
  CHECK(under_b() < 20000);

  // The application keeps writing new secrets under B while two rotators run.
  int writes = 0;
  CliResult r1, r2;
  {
    ApplicationWriter application(db, 20000, 7, Ring(b, {a}));
    CliProcess one({"rotate", "--batch-size", "300"}, KeyEnv(db, b, a));
    CliProcess two({"rotate", "--batch-size", "300"}, KeyEnv(db, b, a));
    r1 = one.Wait();
    r2 = two.Wait();
    writes = application.writes();
  }
  CHECK(r1.exit_code == 0);
  CHECK(r2.exit_code == 0);
  CHECK(writes > 20);
  REQUIRE(RunCli({"rotate"}, KeyEnv(db, b, a)).exit_code == 0);
  CHECK(RunCli({"verify"}, KeyEnv(db, b)).exit_code == 0);
  ExpectAllEncryptedAndEqual(db, Ring(b), "originals", kid_b);
}
