// The other ways to reach the test server that scripts/with-postgres.sh sets
// up: the private PgBouncer (transaction pooling), TLS with the test CA, and
// other logins (roles). Everything is derived from a TestDatabase's url with
// libpq's own parser, so it works for DATABASE_URL and for the PG* variables.
#pragma once

#include <map>
#include <string>

#include "support/test_support.hpp"

namespace credvault::testing {

// libpq's keywords of `conninfo` (URL or key=value) that it sets; the PG*
// variables still apply to the others when a conninfo built from them is used.
std::map<std::string, std::string> ConninfoFields(const std::string& conninfo);
// A key=value conninfo of `fields` (values quoted for libpq).
std::string ToConninfo(const std::map<std::string, std::string>& fields);

// db.url() through the private pgbouncer of scripts/with-postgres.sh
// (CREDVAULT_TEST_POOLER_HOST/PORT). FAILs when there is none: pooler tests
// are never skipped.
std::string PooledUrl(const TestDatabase& db);

// db.url() over TLS with `sslmode` and `sslrootcert`, to its host name (or
// `localhost` when it names none or a socket folder).
std::string TlsUrl(const TestDatabase& db, const std::string& sslmode, const std::string& root_cert);
// The CA file that signs the server's certificate (CREDVAULT_TEST_TLS_CA);
// FAILs when unset (an external DATABASE_URL without it).
std::string TestCaFile();
// A self-made CA that signed nothing the server has (CREDVAULT_TEST_TLS_WRONG_CA).
std::string WrongCaFile();

// db.url() with another login.
std::string UrlAs(const TestDatabase& db, const std::string& user, const std::string& password);

// Advisory locks granted or waiting in db's database, counted on the server
// itself (a direct connection, not the pooler).
int AdvisoryLocks(const TestDatabase& db);

// "revision=state,..." of credvault_schema_history, and its row count.
std::string HistoryStates(const TestDatabase& db);

// A login role with a random password, unique in the cluster, dropped (with
// whatever it was granted in `db`) on destruction. Declare it after the
// TestDatabase so it is dropped first.
class TestRole {
 public:
  TestRole(const TestDatabase& db, const std::string& prefix);
  ~TestRole();
  TestRole(const TestRole&) = delete;
  TestRole& operator=(const TestRole&) = delete;
  const std::string& name() const { return name_; }
  // db.url() logged in as this role.
  std::string url() const;

 private:
  const TestDatabase& db_;
  std::string name_;
  std::string password_;
};

}  // namespace credvault::testing
