// The scratch ("dev") database where create --autogenerate and check --schema
// build what a schema file and the migrations describe. It is never the live
// database: a schema file comes from the repository (in CI, from any pull
// request) and applied there it could read or move live data.
//
// Either the database the user names (--dev-url, CREDVAULT_DEV_URL,
// [autogenerate] dev_url), which must hold nothing of value, or a temporary
// database created on the live database's server for this run and dropped
// at its end (when the role may CREATE DATABASE).
#pragma once

#include <memory>
#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::migrate {

// The statement_timeout of every transaction that applies a schema file or
// the migrations in the dev database.
inline constexpr const char* kScratchStatementTimeout = "30s";

class DevDatabase {
 public:
  // `dev_conninfo` non-empty: that database (a connection is opened to check
  // it answers). Empty: a temporary database on the server `live_conninfo`
  // reaches, created now; kFailedPrecondition (reason "needs_dev_url", exit
  // 5) naming the dev_url setting when the role may not create one.
  static StatusOr<std::unique_ptr<DevDatabase>> Open(const std::string& live_conninfo, const std::string& dev_conninfo,
                                                     const std::string& application_name);
  ~DevDatabase();  // drops the temporary database, if one was made
  DevDatabase(const DevDatabase&) = delete;
  DevDatabase& operator=(const DevDatabase&) = delete;

  // A new session in the dev database.
  StatusOr<std::unique_ptr<db::Connection>> Connect() const;
  // "the temporary database credvault_dev_…" or "the dev database (dev_url)".
  std::string Describe() const;
  // True when the database is a temporary one on the live server and the
  // role is a superuser there: a function the schema file defines, if some
  // DDL evaluates it (a non-volatile column default of ADD COLUMN, a
  // partition bound), runs with a superuser's rights on that server.
  bool superuser_on_live_server() const { return superuser_on_live_server_; }

 private:
  DevDatabase() = default;
  std::string conninfo_;         // reaches the dev database
  std::string application_name_;
  std::string temporary_;        // the temporary database's name, "" when dev_url was given
  bool superuser_on_live_server_ = false;
  std::unique_ptr<db::Connection> admin_;  // on the live server: created the temporary database, drops it
};

}  // namespace credvault::migrate
