#include "migrate/migration_set.hpp"

#include <algorithm>
#include <filesystem>

#include "common/status_macros.hpp"

namespace credvault::migrate {

StatusOr<MigrationSet> MigrationSet::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFoundError("migrations folder " + dir + " does not exist (give --migrations-dir)");
  }
  MigrationSet set;
  set.dir_ = dir;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    CV_ASSIGN_OR_RETURN(Migration migration, ReadMigrationFile(entry.path().string()));
    set.migrations_.push_back(std::move(migration));
  }
  if (ec) return NotFoundError("cannot list migrations folder " + dir + ": " + ec.message());
  std::sort(set.migrations_.begin(), set.migrations_.end(),
            [](const Migration& a, const Migration& b) { return a.revision < b.revision; });
  for (std::size_t i = 1; i < set.migrations_.size(); ++i) {
    if (set.migrations_[i].revision == set.migrations_[i - 1].revision) {
      return InvalidArgumentError(set.migrations_[i].path + ":1: revision " + set.migrations_[i].revision +
                                  " is also used by " + set.migrations_[i - 1].path);
    }
  }
  return set;
}

const Migration* MigrationSet::Find(const std::string& revision) const {
  for (const auto& migration : migrations_) {
    if (migration.revision == revision) return &migration;
  }
  return nullptr;
}

}  // namespace credvault::migrate
