#include "ledger/credentials_table.hpp"

#include "common/status_macros.hpp"

namespace credvault::ledger {

std::string JoinColumns(const std::function<std::string(std::size_t, const CredentialColumn&)>& each,
                        std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < kCredentialColumns.size(); ++i) {
    if (i > 0) out += separator;
    out += each(i, kCredentialColumns[i]);
  }
  return out;
}

std::string EachColumn(std::string_view per_column, std::string_view separator) {
  return JoinColumns(
      [&](std::size_t, const CredentialColumn& column) {
        std::string text(per_column);
        const std::string_view name = column.name;
        for (auto pos = text.find("{c}"); pos != std::string::npos; pos = text.find("{c}", pos + name.size())) {
          text.replace(pos, 3, name);
        }
        return text;
      },
      separator);
}

std::string ColumnList(std::string_view qualifier) {
  return EachColumn(std::string(qualifier) + "{c}", ", ");
}

std::string CountUnderKidSql(std::string_view kid) {
  return EachColumn("count(*) FILTER (WHERE {c} LIKE 'cv1:%' AND split_part({c}, ':', 3) = " + std::string(kid) + ")",
                    ", ");
}

StatusOr<std::map<std::string, std::size_t>> ReadColumnCapacities(db::Connection& conn) {
  db::Params params = {kCredentialsTable};
  for (const CredentialColumn& column : kCredentialColumns) params.push_back(column.name);
  const std::string names =
      JoinColumns([](std::size_t i, const CredentialColumn&) { return "$" + std::to_string(i + 2); }, ", ");
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

std::string UnindexedRowPredicate() {
  return std::string(kCredentialColumns[kIndexedColumn].name) + " IS NOT NULL AND " + kBlindIndexColumn + " IS NULL";
}

StatusOr<bool> HasBlindIndexColumn(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(db::Rows found,
                      conn.Query("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
                                 "current_schema() AND table_name = $1 AND column_name = $2)",
                                 {kCredentialsTable, kBlindIndexColumn}));
  return found.text(0, 0) == "t";
}

}  // namespace credvault::ledger
