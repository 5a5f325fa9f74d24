#include "migrate/dev_database.hpp"

#include <random>

#include "common/status_macros.hpp"
#include "db/database_url.hpp"

namespace credvault::migrate {
namespace {

constexpr const char* kNeedsDevUrl =
    "give a scratch database with --dev-url URL, CREDVAULT_DEV_URL or dev_url under [autogenerate] in "
    "credvault.toml (an empty database on any server of the same PostgreSQL version: the schema file and the "
    "migrations are built there, never in the live database), or run as a role with CREATEDB";

std::string TemporaryName() {
  std::random_device random;
  return "credvault_dev_" + std::to_string(random()) + std::to_string(random());
}

}  // namespace

StatusOr<std::unique_ptr<DevDatabase>> DevDatabase::Open(const std::string& live_conninfo,
                                                         const std::string& dev_conninfo,
                                                         const std::string& application_name) {
  std::unique_ptr<DevDatabase> dev(new DevDatabase());
  dev->application_name_ = application_name;
  if (!dev_conninfo.empty()) {
    dev->conninfo_ = dev_conninfo;
    auto probe = dev->Connect();
    if (!probe.ok()) return probe.status().Annotate("cannot connect to the dev database (dev_url)");
    return dev;
  }
  CV_ASSIGN_OR_RETURN(dev->admin_, db::Connection::Open(live_conninfo, application_name));
  CV_ASSIGN_OR_RETURN(db::Rows may, dev->admin_->Query("SELECT rolcreatedb OR rolsuper, rolsuper FROM pg_roles "
                                                      "WHERE rolname = current_user"));
  if (may.empty() || may.text(0, 0) != "t") {
    return FailedPreconditionError(std::string("no scratch database to build the schema file in: this role may not "
                                               "create a temporary one (no CREATEDB), and none is configured; ") +
                                       kNeedsDevUrl,
                                   "needs_dev_url");
  }
  dev->superuser_on_live_server_ = may.text(0, 1) == "t";
  const std::string name = TemporaryName();
  Status created = dev->admin_->ExecScript("CREATE DATABASE " + db::QuoteIdentifier(name));
  if (!created.ok()) {
    if (created.code() == StatusCode::kUnavailable) return created;
    return FailedPreconditionError("could not create a temporary scratch database (" + created.message() + "): " +
                                       kNeedsDevUrl,
                                   "needs_dev_url");
  }
  dev->temporary_ = name;
  CV_ASSIGN_OR_RETURN(dev->conninfo_, db::WithDatabaseName(live_conninfo, name));
  auto probe = dev->Connect();
  if (!probe.ok()) {
    return FailedPreconditionError("could not connect to the temporary scratch database " + name + " (" +
                                       probe.status().message() + "): " + kNeedsDevUrl,
                                   "needs_dev_url");
  }
  return dev;
}

DevDatabase::~DevDatabase() {
  if (temporary_.empty() || admin_ == nullptr) return;
  // Our sessions are closed by now; FORCE ends any other that found it.
  (void)admin_->ExecScript("DROP DATABASE IF EXISTS " + db::QuoteIdentifier(temporary_) + " WITH (FORCE)");
}

StatusOr<std::unique_ptr<db::Connection>> DevDatabase::Connect() const {
  return db::Connection::Open(conninfo_, application_name_);
}

std::string DevDatabase::Describe() const {
  return temporary_.empty() ? "the dev database (dev_url)" : "the temporary database " + temporary_;
}

}  // namespace credvault::migrate
