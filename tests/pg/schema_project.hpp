// A project folder for the schema.sql workflow tests: migrations/ holding the
// shipped migrations that change the schema (20260215_0002 and 20261207_0006
// are data steps only, and need a key), schema.sql beside it (create --autogenerate's
// default), and a database of its own.
#pragma once

#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace credvault::testing {

inline const std::vector<std::string> kShippedSchemaMigrations = {
    "20260215_0001_initial_schema.sql", "20260215_0003_row_jobs_keep_updated_at.sql",
    "20261207_0004_client_id_blind_index.sql", "20261207_0005_client_id_blind_index_lookup.sql"};
inline const std::size_t kShipped = kShippedSchemaMigrations.size();

struct SchemaProject {
  TestDatabase db;
  TempDir dir;
  std::string migrations, schema;
  SchemaProject() {
    migrations = dir.path() + "/migrations";
    std::filesystem::create_directory(migrations);
    for (const std::string& shipped : kShippedSchemaMigrations) {
      dir.WriteFile("migrations/" + shipped, ReadFile(SourceDir() + "/migrations/" + shipped), 0644);
    }
    schema = dir.WriteFile("schema.sql", ReadFile(SourceDir() + "/schema.sql"), 0644);
  }
  // The CLI on this project (--env development); `env` defaults to the database's.
  CliResult Cv(std::vector<std::string> args, std::map<std::string, std::optional<std::string>> env = {}) const {
    std::vector<std::string> full = {"--migrations-dir", migrations, "--env", "development"};
    full.insert(full.end(), args.begin(), args.end());
    if (env.empty()) env = db.Env();
    return RunCli(full, env);
  }
  // Files in migrations/ (kShipped before any is created).
  std::size_t Files() const {
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator(migrations), std::filesystem::directory_iterator()));
  }
};

}  // namespace credvault::testing
