#include "migrate/credentials_table.hpp"

#include "common/status_macros.hpp"

namespace credvault::migrate {

StatusOr<std::map<std::string, std::size_t>> ReadColumnCapacities(db::Connection& conn) {
  std::string names;
  db::Params params = {kCredentialsTable};
  for (const char* column : kCredentialColumns) {
    params.push_back(column);
    names += (names.empty() ? "$" : ", $") + std::to_string(params.size());
  }
  CV_ASSIGN_OR_RETURN(db::Rows limits,
                      conn.Query("SELECT column_name, character_maximum_length FROM information_schema.columns "
                                 "WHERE table_schema = current_schema() AND table_name = $1 AND column_name IN (" +
                                     names + ")",
                                 params));
  std::map<std::string, std::size_t> capacity;
  for (std::size_t i = 0; i < limits.size(); ++i) {
    if (limits.at(i, 1)) capacity[limits.text(i, 0)] = std::stoul(limits.text(i, 1));
  }
  return capacity;
}

}  // namespace credvault::migrate
