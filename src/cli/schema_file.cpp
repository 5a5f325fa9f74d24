#include "cli/schema_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "db/connection_target.hpp"

namespace credvault::cli {

std::string SchemaFilePath(const CommandContext& context, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (!context.settings().schema_file.empty()) return context.settings().schema_file;
  std::filesystem::path dir = std::filesystem::absolute(context.settings().migrations_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "migrations/" → "migrations"
  return (dir.parent_path() / "schema.sql").string();
}

StatusOr<std::string> ReadSchemaFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) {
    return NotFoundError("cannot read the schema file " + path + " (give one with --schema FILE or schema_file in the config)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<std::unique_ptr<migrate::DevDatabase>> OpenDevDatabase(const CommandContext& context,
                                                                const std::string& purpose) {
  const Settings& settings = context.settings();
  const std::string& live = settings.direct_url.empty() ? settings.database_url : settings.direct_url;
  auto dev = migrate::DevDatabase::Open(live, settings.dev_url, purpose);
  if (!dev.ok() && dev.status().code() == StatusCode::kUnavailable) {
    return dev.status().Annotate("cannot connect to " +
                                 (settings.dev_url.empty() ? context.DatabaseTarget() : db::DescribeConnection(settings.dev_url)));
  }
  if (dev.ok() && (*dev)->superuser_on_live_server()) {
    context.log().warn("the schema file is built in {} on the live database's server as a superuser: it holds no "
                       "live data, but a function the file defines runs there with a superuser's rights if some DDL "
                       "evaluates it; for a schema file nobody reviewed (CI), give --dev-url on another server",
                       (*dev)->Describe());
  }
  return dev;
}

migrate::LintOptions LintOptionsFor(const CommandContext& context) {
  migrate::LintOptions options;
  options.large_table_rows = context.settings().lint_large_table_rows;
  return options;
}

}  // namespace credvault::cli
