#include "endpoints.hpp"

#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <cstdlib>
#include <random>
#include <sstream>

#include "db/database_url.hpp"

namespace credvault::testing {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string RandomHex() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str();
}

}  // namespace

std::map<std::string, std::string> ConninfoFields(const std::string& conninfo) {
  auto normalized = db::NormalizeDatabaseUrl(conninfo);
  REQUIRE(normalized.ok());
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(normalized->c_str(), &error);
  if (options == nullptr) {
    std::string reason = error ? error : "out of memory";
    PQfreemem(error);
    FAIL("libpq cannot parse the test database's conninfo: " << reason);
  }
  std::map<std::string, std::string> fields;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) fields[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  return fields;
}

std::string ToConninfo(const std::map<std::string, std::string>& fields) {
  std::string out;
  for (const auto& [keyword, value] : fields) {
    if (!out.empty()) out += ' ';
    out += keyword + "='";
    for (char c : value) {
      if (c == '\\' || c == '\'') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out;
}

std::string PooledUrl(const TestDatabase& db) {
  const std::string host = Env("CREDVAULT_TEST_POOLER_HOST"), port = Env("CREDVAULT_TEST_POOLER_PORT");
  if (host.empty() || port.empty()) {
    FAIL("no PgBouncer for the pooler tests: CREDVAULT_TEST_POOLER_HOST/PORT are unset "
         "(run the tests through scripts/with-postgres.sh)");
  }
  auto fields = ConninfoFields(db.url());
  fields.erase("hostaddr");
  fields["host"] = host;
  fields["port"] = port;
  fields["sslmode"] = "disable";  // the test pgbouncer has no client-side TLS
  return ToConninfo(fields);
}

std::string TlsUrl(const TestDatabase& db, const std::string& sslmode, const std::string& root_cert) {
  auto fields = ConninfoFields(db.url());
  fields.erase("hostaddr");
  // The name in the server certificate: the throwaway cluster's is made for
  // localhost (PGHOST); an external DATABASE_URL's host is kept.
  if (!fields.count("host") || fields["host"].empty() || fields["host"][0] == '/') fields["host"] = "localhost";
  fields["sslmode"] = sslmode;
  fields["sslrootcert"] = root_cert;
  return ToConninfo(fields);
}

std::string TestCaFile() {
  const std::string ca = Env("CREDVAULT_TEST_TLS_CA");
  if (ca.empty()) {
    FAIL("CREDVAULT_TEST_TLS_CA is unset: the throwaway cluster of scripts/with-postgres.sh sets it; with an "
         "external DATABASE_URL, set it to the CA file that signs that server's certificate (issued for localhost)");
  }
  return ca;
}

std::string WrongCaFile() {
  const std::string ca = Env("CREDVAULT_TEST_TLS_WRONG_CA");
  if (ca.empty()) FAIL("CREDVAULT_TEST_TLS_WRONG_CA is unset (run the tests through scripts/with-postgres.sh)");
  return ca;
}

std::string UrlAs(const TestDatabase& db, const std::string& user, const std::string& password) {
  auto fields = ConninfoFields(db.url());
  fields["user"] = user;
  fields["password"] = password;
  return ToConninfo(fields);
}

int AdvisoryLocks(const TestDatabase& db) {
  return std::stoi(db.Query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                            "(SELECT oid FROM pg_database WHERE datname = $1)",
                            {db.name()})
                       .text(0, 0));
}

std::string HistoryStates(const TestDatabase& db) {
  return db.Query("SELECT count(*) || ':' || coalesce(string_agg(revision || '=' || state, ',' ORDER BY revision), '') "
                  "FROM credvault_schema_history")
      .text(0, 0);
}

TestRole::TestRole(const TestDatabase& db, const std::string& prefix)
    : db_(db), name_(prefix + "_" + RandomHex()), password_(RandomHex() + RandomHex()) {
  // A random hex password: safe to splice (CREATE ROLE takes no parameters).
  REQUIRE(db_.Connect()->Exec("CREATE ROLE " + db::QuoteIdentifier(name_) + " LOGIN PASSWORD '" + password_ + "'").ok());
}

TestRole::~TestRole() {
  auto conn = db::Connection::Open(db_.url(), "credvault-tests");
  if (!conn.ok()) return;
  (void)(*conn)->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", {name_});
  (void)(*conn)->Exec("DROP OWNED BY " + db::QuoteIdentifier(name_));
  (void)(*conn)->Exec("DROP ROLE IF EXISTS " + db::QuoteIdentifier(name_));
}

std::string TestRole::url() const { return UrlAs(db_, name_, password_); }

}  // namespace credvault::testing
