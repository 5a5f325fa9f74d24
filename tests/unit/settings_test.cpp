// Configuration precedence (flags > environment > config file > defaults) and
// DATABASE_URL handling.
#include <catch2/catch.hpp>

#include <map>

#include "cli/settings.hpp"
#include "db/database_url.hpp"
#include "support/test_support.hpp"

using credvault::cli::GlobalFlags;
using credvault::cli::KeySource;
using credvault::cli::ResolveSettings;
using credvault::db::NormalizeDatabaseUrl;
using credvault::db::RedactDatabaseUrl;

namespace {

credvault::cli::EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("DATABASE_URL forms", "[config][url]") {
  CHECK(*NormalizeDatabaseUrl("postgresql://u:p@db:5432/app") == "postgresql://u:p@db:5432/app");
  CHECK(*NormalizeDatabaseUrl("postgres://u@db/app") == "postgresql://u@db/app");
  // asyncpg spells libpq's sslmode as ssl.
  CHECK(*NormalizeDatabaseUrl("postgresql+asyncpg://u:p@db:5432/app?ssl=require") ==
        "postgresql://u:p@db:5432/app?sslmode=require");
  CHECK(*NormalizeDatabaseUrl("postgresql+asyncpg://db/app?ssl=verify-full&sslrootcert=/ca.pem") ==
        "postgresql://db/app?sslmode=verify-full&sslrootcert=/ca.pem");
  CHECK(*NormalizeDatabaseUrl("postgresql+psycopg2://u@/app") == "postgresql://u@/app");
  CHECK(*NormalizeDatabaseUrl("  postgresql://db/app\n") == "postgresql://db/app");
  CHECK(*NormalizeDatabaseUrl("host=db dbname=app user=u") == "host=db dbname=app user=u");
  CHECK(NormalizeDatabaseUrl("")->empty());

  auto mysql = NormalizeDatabaseUrl("mysql://u:secretpw@db/app");
  REQUIRE(!mysql.ok());
  CHECK(mysql.status().message().find("secretpw") == std::string::npos);
  CHECK(!NormalizeDatabaseUrl("postgresql+://db/app").ok());
  CHECK(!NormalizeDatabaseUrl("postgresql+as/yncpg://db/app").ok());
  CHECK(!NormalizeDatabaseUrl("just some words").ok());
  CHECK(!NormalizeDatabaseUrl(std::string("postgresql://db/app\0x", 22)).ok());
  // libpq's own parser decides; its message (which can quote the text) is not passed on.
  auto bad_escape = NormalizeDatabaseUrl("postgresql://u:hunter2%zz@db/app");
  REQUIRE(!bad_escape.ok());
  CHECK(bad_escape.status().message().find("hunter2") == std::string::npos);
  auto bad_param = NormalizeDatabaseUrl("postgresql://db/app?password=hunter2&nosuchparam=1");
  REQUIRE(!bad_param.ok());
  CHECK(bad_param.status().message().find("hunter2") == std::string::npos);
  CHECK(!NormalizeDatabaseUrl("host=db password='unterminated").ok());
}

TEST_CASE("passwords are hidden in displayed URLs", "[config][url]") {
  CHECK(RedactDatabaseUrl("postgresql://u:hunter2@db:5432/app") == "postgresql://u:***@db:5432/app");
  CHECK(RedactDatabaseUrl("postgresql://u@db/app") == "postgresql://u@db/app");
  CHECK(RedactDatabaseUrl("postgresql://u:p%40ss@db/app") == "postgresql://u:***@db/app");
  // Every form libpq takes a password in.
  CHECK(RedactDatabaseUrl("postgresql://db.example/app?password=hunter2secret") ==
        "postgresql://:***@db.example/app");
  CHECK(RedactDatabaseUrl("postgresql://u@db/app?sslmode=verify-full&sslpassword=hunter2&sslrootcert=/etc/ca.pem") ==
        "postgresql://u@db/app?sslmode=verify-full&sslpassword=***&sslrootcert=%2Fetc%2Fca.pem");
  CHECK(RedactDatabaseUrl("host=db password=hunter2 user=u") == "user=u password=*** host=db");
  CHECK(RedactDatabaseUrl("host=db password='hunter2 with spaces' dbname=app") ==
        "password=*** dbname=app host=db");
  CHECK(RedactDatabaseUrl("host = db  password = hunter2") == "password=*** host=db");
  // A dbname may itself be a connection string; libpq can expand it.
  CHECK(RedactDatabaseUrl("dbname='postgresql://u:hunter2@h/x' host=y") ==
        "dbname=postgresql://u:***@h/x host=y");
  // Sockets and host lists.
  CHECK(RedactDatabaseUrl("postgresql://u:hunter2@/app?host=/var/run/postgresql") ==
        "postgresql://u:***@/app?host=%2Fvar%2Frun%2Fpostgresql");
  CHECK(RedactDatabaseUrl("postgresql://u:hunter2@h1:5432,h2:5433/app") ==
        "postgresql://u:***@/app?host=h1%2Ch2&port=5432%2C5433");
  // Text libpq cannot parse is not shown at all.
  CHECK(RedactDatabaseUrl("host=db password='hunter2") == "(unparsable connection string)");
  CHECK(RedactDatabaseUrl("postgresql://u:hunter2%zz@db/app") == "(unparsable connection string)");
}

TEST_CASE("the connection string credvault connects with names the application", "[config][url]") {
  CHECK(*credvault::db::WithApplicationName("", "credvault migrate") == "application_name='credvault migrate'");
  CHECK(*credvault::db::WithApplicationName("postgresql://u:p%27w@db:5433/app?application_name=x&sslmode=require",
                                            "credvault") ==
        "user=u password='p\\'w' dbname=app host=db port=5433 sslmode=require application_name=credvault");
  CHECK(!credvault::db::WithApplicationName("host='x", "credvault").ok());
}

TEST_CASE("flags beat environment beat config file beat defaults", "[config]") {
  credvault::testing::TempDir dir;
  auto config = dir.WriteFile("credvault.toml",
                              "database_url = \"postgresql://file/db\"\n"
                              "environment = \"staging\"\n"
                              "migrations_dir = \"mig\"\n"
                              "[keys]\nprimary_file = \"keys/p.key\"\nfallback_files = [\"keys/a.key\", \"keys/b.key\"]\n"
                              "[migrate]\nlock_timeout = 9\n"
                              "[jobs]\nbatch_size = 100\nworkers = 3\nlock_wait = 15\n");
  GlobalFlags flags;
  flags.config_file = config;

  auto from_file = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(from_file.ok());
  CHECK(from_file->database_url == "postgresql://file/db");
  CHECK(from_file->environment == credvault::Environment::kStaging);
  CHECK(from_file->migrations_dir == dir.path() + "/mig");  // relative to the config file
  REQUIRE(from_file->primary_key);
  CHECK(from_file->primary_key->location == dir.path() + "/keys/p.key");
  CHECK(from_file->fallback_keys.size() == 2);
  CHECK(from_file->lock_timeout_seconds == 9);
  CHECK(from_file->batch_size == 100);
  CHECK(from_file->workers == 3);
  CHECK(from_file->job_lock_wait_seconds == 15);

  auto from_env = ResolveSettings(flags, FakeEnv({{"DATABASE_URL", "postgresql+asyncpg://env/db"},
                                                  {"CREDVAULT_ENV", "development"},
                                                  {"SECRET_KEY", "x"},
                                                  {"SECRET_KEY_FALLBACKS", "a,b,c"}}));
  REQUIRE(from_env.ok());
  CHECK(from_env->database_url == "postgresql://env/db");
  CHECK(from_env->environment == credvault::Environment::kDevelopment);
  CHECK(from_env->primary_key->kind == KeySource::Kind::kEnvironment);
  CHECK(from_env->fallback_keys.size() == 3);

  flags.database_url = "postgresql://flag/db";
  flags.environment = "production";
  flags.key_files = {"/k/primary.key"};
  flags.fallback_key_files = {"/k/old.key"};
  auto from_flags = ResolveSettings(flags, FakeEnv({{"DATABASE_URL", "postgresql://env/db"},
                                                    {"CREDVAULT_ENV", "development"},
                                                    {"SECRET_KEY", "x"}}));
  REQUIRE(from_flags.ok());
  CHECK(from_flags->database_url == "postgresql://flag/db");
  CHECK(from_flags->environment == credvault::Environment::kProduction);
  CHECK(from_flags->primary_key->location == "/k/primary.key");
  REQUIRE(from_flags->fallback_keys.size() == 1);
  CHECK(from_flags->fallback_keys[0].location == "/k/old.key");
}

TEST_CASE("defaults: production, text logs, batch 5000, libpq environment", "[config]") {
  credvault::testing::TempDir empty;
  GlobalFlags flags;
  flags.config_file = empty.WriteFile("empty.toml", "");
  auto settings = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(settings.ok());
  CHECK(settings->environment == credvault::Environment::kProduction);
  CHECK(settings->log_format == "text");
  CHECK(settings->batch_size == 5000);
  CHECK(settings->lock_timeout_seconds == 60);
  CHECK(settings->job_lock_wait_seconds == 60);
  CHECK(settings->database_url.empty());
  CHECK(!settings->primary_key);
}

TEST_CASE("config type errors name file, line and setting", "[config]") {
  credvault::testing::TempDir dir;
  GlobalFlags flags;
  flags.config_file = dir.WriteFile("c.toml", "\n[jobs]\nbatch_size = \"big\"\n");
  auto settings = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(!settings.ok());
  CHECK(settings.status().message().find(flags.config_file + ":3") != std::string::npos);
  CHECK(settings.status().message().find("jobs.batch_size") != std::string::npos);

  flags.config_file = dir.WriteFile("d.toml", "[jobs]\nbatch_size = 0\n");
  CHECK(!ResolveSettings(flags, FakeEnv({})).ok());
  flags.config_file = dir.WriteFile("e.toml", "[jobs]\nlock_wait = -1\n");
  auto negative = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(!negative.ok());
  CHECK(negative.status().message().find("jobs.lock_wait must be between 0 and 86400") != std::string::npos);
  // Larger than an int: refused, not wrapped to a negative timeout.
  flags.config_file = dir.WriteFile("f.toml", "[migrate]\nlock_timeout = 4294967297\n");
  auto huge = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(!huge.ok());
  CHECK(huge.status().message().find("migrate.lock_timeout must be between 0 and 86400") != std::string::npos);
}

TEST_CASE("a malformed URL is hidden entirely (found by fuzz_database_url)", "[config][url]") {
  CHECK(RedactDatabaseUrl("postgresql:/\xff\xff/user:S3cretPw@db/app") == "(unparsable connection string)");
  CHECK(RedactDatabaseUrl("user:S3cretPw@db") == "(unparsable connection string)");
}

TEST_CASE("an unsupported scheme is not repeated in the message (found by fuzz_database_url)", "[config][url]") {
  CHECK(NormalizeDatabaseUrl("S3cretPw://db/app").status().message().find("S3cretPw") == std::string::npos);
  auto mangled = NormalizeDatabaseUrl("user:S3cretPw@host//postgresql://x");
  REQUIRE(!mangled.ok());
  CHECK(mangled.status().message().find("S3cretPw") == std::string::npos);
}

TEST_CASE("schema_file and [lint] large_table_rows come from the config file", "[config]") {
  credvault::testing::TempDir dir;
  GlobalFlags flags;
  flags.config_file = dir.WriteFile("c.toml", "schema_file = \"db/schema.sql\"\n[lint]\nlarge_table_rows = 250\n");
  auto settings = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(settings.ok());
  CHECK(settings->schema_file == dir.path() + "/db/schema.sql");  // relative to the config file
  CHECK(settings->lint_large_table_rows == 250);

  flags.config_file = dir.WriteFile("d.toml", "");
  auto defaults = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(defaults.ok());
  CHECK(defaults->schema_file.empty());
  CHECK(defaults->lint_large_table_rows == 100000);

  flags.config_file = dir.WriteFile("e.toml", "[lint]\nlarge_table_rows = -5\n");
  auto negative = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(!negative.ok());
  CHECK(negative.status().message().find("lint.large_table_rows must be between 0 and") != std::string::npos);
  flags.config_file = dir.WriteFile("f.toml", "[lint]\nlarge_tables = 5\n");
  auto unknown = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().message().find("unknown setting 'lint.large_tables'") != std::string::npos);
}

TEST_CASE("dev_url: --dev-url beats CREDVAULT_DEV_URL beats [autogenerate] dev_url - none by default", "[config]") {
  credvault::testing::TempDir dir;
  GlobalFlags flags;
  flags.config_file = dir.WriteFile("c.toml", "[autogenerate]\ndev_url = \"postgresql+psycopg2://file/scratch\"\n");
  auto from_file = ResolveSettings(flags, FakeEnv({}));
  REQUIRE(from_file.ok());
  CHECK(from_file->dev_url == "postgresql://file/scratch");  // normalized like database_url
  auto from_env = ResolveSettings(flags, FakeEnv({{"CREDVAULT_DEV_URL", "postgresql://env/scratch"}}));
  REQUIRE(from_env.ok());
  CHECK(from_env->dev_url == "postgresql://env/scratch");
  flags.dev_url = "postgresql://flag/scratch";
  auto from_flag = ResolveSettings(flags, FakeEnv({{"CREDVAULT_DEV_URL", "postgresql://env/scratch"}}));
  REQUIRE(from_flag.ok());
  CHECK(from_flag->dev_url == "postgresql://flag/scratch");

  GlobalFlags none;
  none.config_file = dir.WriteFile("d.toml", "");
  auto defaults = ResolveSettings(none, FakeEnv({}));
  REQUIRE(defaults.ok());
  CHECK(defaults->dev_url.empty());
  none.config_file = dir.WriteFile("e.toml", "[autogenerate]\ndev_url = 5\n");
  auto wrong = ResolveSettings(none, FakeEnv({}));
  REQUIRE(!wrong.ok());
  CHECK(wrong.status().message().find("autogenerate.dev_url") != std::string::npos);
}
