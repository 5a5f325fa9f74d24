// All migrations of a folder, in revision order.
#pragma once

#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "migrate/migration_file.hpp"

namespace credvault::migrate {

class MigrationSet {
 public:
  // Reads every *.sql file of `dir`. Errors: the folder is missing
  // (kNotFound), a file does not parse, a .sql file has a bad name, or two
  // files share a revision id (naming both).
  static StatusOr<MigrationSet> Load(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::vector<Migration>& all() const { return migrations_; }
  // nullptr when no file has that revision.
  const Migration* Find(const std::string& revision) const;
  // "" when the folder has no migration.
  std::string head() const { return migrations_.empty() ? std::string() : migrations_.back().revision; }

 private:
  std::string dir_;
  std::vector<Migration> migrations_;
};

}  // namespace credvault::migrate
