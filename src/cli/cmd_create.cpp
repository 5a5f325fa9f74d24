// credvault create: write a new migration file with the next revision id.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <ctime>
#include <filesystem>

#include "cli/exit_codes.hpp"
#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {
namespace {

std::string Slug(const std::string& message) {
  std::string slug;
  for (char c : message) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!slug.empty() && slug.back() != '_') {
      slug += '_';
    }
  }
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  return slug.substr(0, 60);
}

std::string TodayUtc() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[9];
  std::strftime(text, sizeof text, "%Y%m%d", &utc);
  return text;
}

}  // namespace

void RegisterCreateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("create", "Write a new migration file with the next revision id");
  struct Options { std::string message; std::string step; std::string up; std::string down; };
  auto options = std::make_shared<Options>();
  sub->add_option("MESSAGE", options->message, "What the migration does (becomes the file's slug)")->required();
  auto* step = sub->add_option("--step", options->step, "A native data step (encrypt | decrypt) instead of SQL");
  sub->add_option("--up", options->up, "SQL of the -- migrate:up section (default: empty, to edit)")->excludes(step);
  sub->add_option("--down", options->down, "SQL of the -- migrate:down section (default: empty, to edit)")->excludes(step);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    const std::string slug = Slug(options->message);
    if (slug.empty()) return UsageError("MESSAGE needs at least one letter or digit");
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    const std::string today = TodayUtc();
    int next = 1;
    for (const auto& m : set.all()) {
      if (m.revision.substr(0, 8) == today) next = std::max(next, std::stoi(m.revision.substr(9, 4)) + 1);
    }
    if (next > 9999) return FailedPreconditionError("already 9999 migrations today");
    char number[12];
    std::snprintf(number, sizeof number, "%04d", next);
    const std::string revision = today + "_" + number;
    if (!set.head().empty() && revision <= set.head()) {
      return FailedPreconditionError("the newest migration " + set.head() + " is dated in the future; " + revision +
                                     " would sort before it");
    }
    const std::string path = (std::filesystem::path(set.dir()) / (revision + "_" + slug + ".sql")).string();
    std::string body = "-- " + options->message + "\n\n";
    if (options->step.empty()) {
      body += "-- migrate:up\n" + options->up + "\n\n-- migrate:down\n" + options->down + "\n";
    } else {
      body += "-- migrate:up\n-- migrate:step " + options->step + "\n\n-- migrate:down\n";
    }
    // SQL given on the command line is checked like any migration file
    // before the file exists (exit 3 with the line, nothing written).
    CV_RETURN_IF_ERROR(migrate::ParseMigration(path, body).status());
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return AlreadyExistsError("cannot create " + path + " (does it exist already?)");
    bool written = write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
    close(fd);
    if (!written) return InternalError("cannot write " + path);
    std::printf("%s\n", path.c_str());
    context.log().info("created {} (revision {})", path, revision);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
