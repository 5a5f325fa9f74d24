// The table credvault protects, credentials(account_id, client_id,
// client_secret, refresh_token): the one list of its encrypted columns, in
// the order every job, preflight and the Vault use, the SQL built from that
// list, and the one query of how many characters each may hold. SQL text
// names a column only through these; values always travel as parameters.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::ledger {

inline constexpr const char* kCredentialsTable = "credentials";

// One encrypted column of credentials.
struct CredentialColumn {
  const char* name;  // the SQL column (a plain identifier: no quoting needed)
  // The column as a value's AAD binds it (ValueContext::column). Equal to
  // `name` today; a renamed SQL column must keep its old aad_name, or none of
  // its values decrypts any more.
  const char* aad_name;
};

inline constexpr std::array<CredentialColumn, 3> kCredentialColumns = {{
    {"client_id", "client_id"},
    {"client_secret", "client_secret"},
    {"refresh_token", "refresh_token"},
}};
inline constexpr std::size_t kCredentialColumnCount = kCredentialColumns.size();

// The one credential column with a blind index beside it (docs/FORMAT.md,
// "Blind index of client_id"): kCredentialColumns[kIndexedColumn], client_id,
// and its index column. The index column is not a credential column: it is
// not encrypted, and it is not in kCredentialColumns. Migration 20261207_0004
// adds it: a database not yet migrated that far has none (HasBlindIndexColumn).
inline constexpr std::size_t kIndexedColumn = 0;
inline constexpr const char* kBlindIndexColumn = "client_id_bidx";
static_assert(std::string_view(kCredentialColumns[kIndexedColumn].name) == "client_id",
              "the blind index is the index of client_id");

// `each(i, column)` for every credential column, joined by `separator`.
std::string JoinColumns(const std::function<std::string(std::size_t, const CredentialColumn&)>& each,
                        std::string_view separator);
// `per_column` for every credential column with each "{c}" replaced by its
// name, joined by `separator`: EachColumn("{c} IS NULL", " AND ").
std::string EachColumn(std::string_view per_column, std::string_view separator);
// "client_id, client_secret, refresh_token", each name after `qualifier` ("c.").
std::string ColumnList(std::string_view qualifier = "");

// "count(*) FILTER (...), ..." over credentials: per credential column, how
// many values are cv1: values under the kid that SQL expression `kid` gives.
std::string CountUnderKidSql(std::string_view kid);

// The bounded (VARCHAR(n)) credential columns of the current schema's
// credentials table: column name → n. Unbounded (TEXT) columns are absent.
StatusOr<std::map<std::string, std::size_t>> ReadColumnCapacities(db::Connection& conn);

// SQL true for a row that has a client_id but no index yet: the rows encrypt
// indexes and a lookup by client_id refuses to run beside. The predicate of
// the partial index credentials_client_id_unindexed_idx (migration
// 20261207_0005), spelled the same so that the planner uses it.
std::string UnindexedRowPredicate();

// Whether the current schema's credentials table has kBlindIndexColumn (a
// database at 20261207_0004 or later). A job asks once, before its first
// batch, and then reads and writes the index only if it is there.
StatusOr<bool> HasBlindIndexColumn(db::Connection& conn);

}  // namespace credvault::ledger
