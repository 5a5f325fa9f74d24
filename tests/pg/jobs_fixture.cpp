#include "jobs_fixture.hpp"

#include <catch2/catch.hpp>

#include <random>

#include "crypto/stored_value.hpp"

namespace credvault::testing {

void Populate(const TestDatabase& db, int rows, int first) {
  auto migrated = RunCli({"--migrations-dir", SourceDir() + "/migrations", "--env", "development", "migrate", "--to",
                          "20260215_0001"},
                         db.Env());
  REQUIRE(migrated.exit_code == 0);
  auto conn = db.Connect();
  REQUIRE(conn->Exec("INSERT INTO accounts (id, amazon_account_id, name) "
                     "SELECT g, 'AMZ' || g, 'account ' || g FROM generate_series($1::int, $2::int) g",
                     {std::to_string(first), std::to_string(first + rows - 1)})
              .ok());
  REQUIRE(conn->Exec("SELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts))").ok());
  REQUIRE(conn->Exec(
                  "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) "
                  "SELECT id, 'amzn1.application-oa2-client.' || md5(random()::text), "
                  "'amzn1.oa2-cs.v1.' || md5(random()::text) || md5(random()::text), "
                  "CASE WHEN id % 17 = 0 THEN NULL ELSE 'Atzr|IwEBI' || "
                  "substr(repeat(md5(random()::text) || md5(random()::text), 5), 1, 290 + id % 10) END "
                  "FROM accounts WHERE id BETWEEN $1::int AND $2::int",
                  {std::to_string(first), std::to_string(first + rows - 1)})
              .ok());
  REQUIRE(conn->ExecScript("CREATE TABLE IF NOT EXISTS originals AS SELECT * FROM credentials WITH NO DATA;"
                           "INSERT INTO originals SELECT * FROM credentials c WHERE NOT EXISTS "
                           "(SELECT 1 FROM originals o WHERE o.id = c.id)")
              .ok());
}

Keyring Ring(const std::string& primary, const std::vector<std::string>& fallbacks) {
  return MakeKeyring(primary, fallbacks);
}

std::map<std::string, std::optional<std::string>> KeyEnv(const TestDatabase& db, const std::string& primary,
                                                         const std::string& fallbacks) {
  auto env = db.Env();
  env["SECRET_KEY"] = primary;
  if (!fallbacks.empty()) env["SECRET_KEY_FALLBACKS"] = fallbacks;
  env["CREDVAULT_ENV"] = "development";
  env["CREDVAULT_MIGRATIONS_DIR"] = SourceDir() + "/migrations";  // whatever the working directory
  return env;
}

namespace {

// Calls check(row id, account id, column index, stored, original) for every
// cell of credentials and the same cell of `expected`.
template <typename Check>
void ForEachCell(const TestDatabase& db, const std::string& expected, Check check) {
  auto rows = db.Query("SELECT c.id, c.account_id::text, c.client_id, c.client_secret, c.refresh_token, "
                       "o.client_id, o.client_secret, o.refresh_token FROM credentials c JOIN " + expected +
                       " o ON o.id = c.id ORDER BY c.id");
  REQUIRE(rows.size() > 0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (int c = 0; c < 3; ++c) {
      INFO("row " << rows.text(i, 0) << " " << kJobColumns[c]);
      check(rows.text(i, 1), c, rows.at(i, 2 + c), rows.at(i, 5 + c));
    }
  }
}

}  // namespace

void ExpectAllEncryptedAndEqual(const TestDatabase& db, const Keyring& ring, const std::string& expected,
                                const std::string& expected_kid, std::size_t max_chars) {
  std::size_t checked = 0, cells = 0;
  ForEachCell(db, expected, [&](const std::string& account, int c, const db::Value& stored, const db::Value& original) {
    ++cells;
    REQUIRE(stored.has_value() == original.has_value());
    if (!stored) return;
    REQUIRE(crypto::ClassifyValue(*stored) == crypto::ValueKind::kCiphertext);
    REQUIRE(stored->size() <= max_chars);
    if (!expected_kid.empty()) REQUIRE(stored->substr(6, 8) == expected_kid);
    auto plain = ring.Decrypt(*stored, ValueContext{"credentials", kJobColumns[c], account});
    REQUIRE(plain.ok());
    REQUIRE(plain->Equals(*original));
    ++checked;
  });
  CHECK(checked > cells / 3);
}

int ExpectEveryValueWhole(const TestDatabase& db, const Keyring& ring, const std::string& expected) {
  CHECK(db.Query("SELECT count(*) FROM credentials").text(0, 0) ==
        db.Query("SELECT count(*) FROM " + expected).text(0, 0));
  int checked = 0;
  ForEachCell(db, expected, [&](const std::string& account, int c, const db::Value& stored, const db::Value& original) {
    REQUIRE(stored.has_value() == original.has_value());
    if (!stored) return;
    ++checked;
    if (crypto::ClassifyValue(*stored) == crypto::ValueKind::kPlaintext) {
      REQUIRE(*stored == *original);
      return;
    }
    auto plain = ring.Decrypt(*stored, ValueContext{"credentials", kJobColumns[c], account});
    REQUIRE(plain.ok());
    REQUIRE(plain->Equals(*original));
  });
  return checked;
}

ApplicationWriter::ApplicationWriter(const TestDatabase& db, int rows, unsigned seed, std::optional<Keyring> ring)
    : thread_([this, url = db.url(), rows, seed, ring = std::move(ring)] {
        auto conn = db::Connection::Open(url, "application");
        if (!conn.ok()) return;
        std::mt19937 random(seed);
        while (!stop_.load()) {
          const std::string id = std::to_string(1 + random() % rows);  // account_id == id in this fixture
          const std::string secret =
              "amzn1.oa2-cs.v1.app" + std::to_string(seed) + "-write-" + std::to_string(writes_.load());
          std::string stored = secret;
          if (ring) {
            auto sealed = ring->Encrypt(secret, ValueContext{"credentials", "client_secret", id});
            if (!sealed.ok()) continue;
            stored = *sealed;
          }
          auto tx = (*conn)->Begin();
          if (!tx.ok()) continue;
          if ((*tx)->Exec("UPDATE credentials SET client_secret = $1 WHERE id = $2", {stored, id}).ok() &&
              (*tx)->Exec("UPDATE originals SET client_secret = $1 WHERE id = $2", {secret, id}).ok() &&
              (*tx)->Commit().ok()) {
            ++writes_;
          }
        }
      }) {}

ApplicationWriter::~ApplicationWriter() {
  stop_ = true;
  thread_.join();
}

std::string TableChecksum(const TestDatabase& db) {
  return db.Query("SELECT md5(string_agg(c::text, '|' ORDER BY id)) FROM credentials c").text(0, 0);
}

std::string Xmins(const TestDatabase& db) {
  return db.Query("SELECT md5(string_agg(id || ':' || xmin::text, ',' ORDER BY id)) FROM credentials").text(0, 0);
}

int CountCiphertext(const TestDatabase& db) {
  return std::stoi(db.Query("SELECT count(*) FROM credentials WHERE client_id LIKE 'cv1:%'").text(0, 0));
}

}  // namespace credvault::testing
