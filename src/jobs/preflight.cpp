#include "jobs/preflight.hpp"

#include <map>
#include <set>
#include <vector>

#include "common/status_macros.hpp"
#include "credvault/envelope.hpp"
#include "credvault/reasons.hpp"
#include "jobs/job_common.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::jobs {
namespace {

// One row per (row, column) value: c the row, v.col the column's name, v.val its value.
const std::string& ValuesSql() {
  static const std::string sql = std::string(ledger::kCredentialsTable) + " c CROSS JOIN LATERAL (VALUES " +
                                 ledger::EachColumn("('{c}', c.{c})", ", ") + ") AS v(col, val)";
  return sql;
}

// Plaintext bytes inside a well-formed value: decoded payload minus nonce and tag.
constexpr const char* kPlaintextBytes =
    "(length(split_part(v.val, ':', 4)) / 4 * 3 + greatest(length(split_part(v.val, ':', 4)) % 4 - 1, 0) - "
    "CASE WHEN v.val LIKE 'cv1:x:%' THEN 40 ELSE 28 END)";

bool IsKid(const std::string& text) {
  return text.size() == 8 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The header of each credential column of a row, as one SQL expression per
// column: "kid:alg" for a cv1: value, "?" for a value in another format
// version (the jobs leave and report those), NULL for anything else.
std::string HeaderColumnsSql() {
  return ledger::EachColumn(std::string("CASE WHEN {c} LIKE 'cv1:%' THEN split_part({c}, ':', 3) || ':' || "
                                        "split_part({c}, ':', 2) WHEN ") +
                                kUnsupportedVersionSql + " THEN '?' END",
                            ", ");
}

// One scan, one group per combination of a row's headers (a handful in
// practice). Grouping rows rather than unnesting values halves the server's
// time (1.0 s against 1.8 s on 1 000 000 rows), and it also counts the rows
// rotate will visit, which spares the job its own count of them (0.5 s).
// The full well-formedness check (kWellFormedValueSql) costs about a
// microsecond per value on the server, as much as the rotation's own UPDATE,
// so it runs only when a group shows a malformed header, to name the rows. A
// well-formed header over a bad payload is found when the job decrypts it
// (left as it is, and reported).
StatusOr<KidCounts> ReadKidCounts(db::Connection& conn, const Keyring& ring) {
  const std::string groups =
      ledger::JoinColumns([](std::size_t i, const ledger::CredentialColumn&) { return std::to_string(i + 1); }, ", ");
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.ScanOnOneCore("SELECT " + HeaderColumnsSql() + ", count(*) FROM " +
                                                        ledger::kCredentialsTable + " GROUP BY " + groups));
  KidCounts counts;
  const std::string primary_alg(1, static_cast<char>(ring.algorithm()));
  bool malformed_checked = false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::uint64_t n = std::stoull(rows.text(i, ledger::kCredentialColumnCount));
    bool row_to_rotate = false;
    for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
      if (!rows.at(i, c)) continue;  // plaintext or NULL
      const std::string header = rows.text(i, c);
      const std::size_t colon = header.find(':');
      const std::string kid = header.substr(0, colon);
      const std::string alg = colon == std::string::npos ? "" : header.substr(colon + 1);
      row_to_rotate = row_to_rotate || header == "?" || kid != ring.primary_kid();
      if (header == "?") continue;
      if (!IsKid(kid) || (alg != "x" && alg != "g")) {
        if (!malformed_checked) CV_RETURN_IF_ERROR(CheckNoMalformedValues(conn));
        malformed_checked = true;
        continue;  // malformed beyond the header only: the job reports it
      }
      counts.by_kid[kid] += n;
      if (kid != ring.primary_kid()) {
        counts.to_rotate += n;
        counts.algorithm_changes = counts.algorithm_changes || alg != primary_alg;
      }
    }
    if (row_to_rotate) counts.rows_to_rotate += n;
  }
  return counts;
}

// Values under a retired kid are not needed keys: the job leaves them and
// names them (reason retired_kid), key in the ring or not.
Status CheckAllKidsKnown(const KidCounts& counts, const Keyring& ring, const std::set<std::string>& retired) {
  std::string missing;
  for (const auto& [kid, n] : counts.by_kid) {
    if (!ring.HasKid(kid) && retired.count(kid) == 0) missing += (missing.empty() ? "" : ", ") + kid + " (" + std::to_string(n) + " values)";
  }
  if (missing.empty()) return Status::Ok();
  return NotFoundError("values are encrypted under key(s) not in the keyring: " + missing +
                           ". Add the old key(s) as fallback (--fallback-key-file or SECRET_KEY_FALLBACKS); "
                           "nothing was written",
                       reason::kUnknownKid);
}

// `sql` written over v.val, rewritten over one column of credentials.
std::string ForColumn(std::string sql, const std::string& column) {
  for (auto pos = sql.find("v.val"); pos != std::string::npos; pos = sql.find("v.val", pos + column.size())) {
    sql.replace(pos, 5, column);
  }
  return sql;
}

// Which values a job is about to (re)write, and their plaintext length in
// bytes, both as SQL over v.val: encrypt writes every plaintext; rotate
// re-encrypts values under another kid, whose length changes only if their
// algorithm differs from the primary's.
struct PendingValues {
  std::string where;
  std::string plaintext_bytes;
  db::Params params;  // $1... in `where`
};

// One scan of credentials (row-wise: a third of the cost of one per column)
// for every column's over-long values and, with `check_malformed`, malformed
// cv1: values (then kDataLoss naming them, as CheckNoMalformedValues). A
// refusal ends with the exact commands that fix it, `rerun` last.
Status CheckCapacity(db::Connection& conn, const Keyring& ring, const PendingValues& pending, bool check_malformed,
                     const std::string& rerun) {
  CV_ASSIGN_OR_RETURN(auto limit_of, ledger::ReadColumnCapacities(conn));  // bounded columns only
  db::Params params = pending.params;
  std::string select;
  for (const ledger::CredentialColumn& credential_column : ledger::kCredentialColumns) {
    const std::string column = credential_column.name;
    if (!select.empty()) select += ", ";
    if (limit_of.count(column)) {
      params.push_back(std::to_string(MaxPlaintextLength(limit_of[column], ring.algorithm())));
      const std::string over = ForColumn("(" + pending.where + ") AND " + pending.plaintext_bytes + " > $" +
                                             std::to_string(params.size()) + "::integer",
                                         column);
      select += "count(*) FILTER (WHERE " + over + "), coalesce(max(" + ForColumn(pending.plaintext_bytes, column) +
                ") FILTER (WHERE " + over + "), 0)";
    } else {
      select += "0, 0";
    }
    select += check_malformed ? ", count(*) FILTER (WHERE " + ForColumn("v.val LIKE 'cv1:%' AND NOT ", column) +
                                    ForColumn(kWellFormedValueSql, column) + ")"
                              : std::string(", 0");
  }
  CV_ASSIGN_OR_RETURN(db::Rows counts, conn.ScanOnOneCore("SELECT " + select + " FROM credentials", params));
  std::string problems, widened, up, down;
  for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
    if (counts.text(0, 3 * c + 2) != "0") return CheckNoMalformedValues(conn);
    if (counts.text(0, 3 * c) == "0") continue;
    const std::string column = ledger::kCredentialColumns[c].name;
    const std::size_t limit = limit_of[column];
    const std::size_t longest = std::stoul(counts.text(0, 3 * c + 1));
    const std::size_t needed = CiphertextLength(longest, ring.algorithm());
    // Round up so a few more bytes of token growth still fit.
    const std::size_t widen_to = ((needed + 255) / 256) * 256;
    problems += "\n  credentials." + column + ": " + counts.text(0, 3 * c) +
                " value(s) too long to encrypt into varchar(" + std::to_string(limit) + "): the longest plaintext is " +
                std::to_string(longest) + " bytes, at most " + std::to_string(MaxPlaintextLength(limit, ring.algorithm())) +
                " fit";
    widened += (widened.empty() ? "" : " and ") + column;
    up += std::string(up.empty() ? "" : " ") + "ALTER TABLE credentials ALTER COLUMN " + column + " TYPE varchar(" +
          std::to_string(widen_to) + ");";
    // Undone in reverse; PostgreSQL refuses it (and changes nothing) while a value is too long for the old width.
    down = "ALTER TABLE credentials ALTER COLUMN " + column + " TYPE varchar(" + std::to_string(limit) + ");" +
           (down.empty() ? "" : " ") + down;
  }
  if (problems.empty()) return Status::Ok();
  // --out-of-order: the new migration sorts after any migration still
  // pending (e.g. 20260215_0002, whose step this is), so it is applied ahead
  // of them, and recorded as such.
  return FailedPreconditionError(
      "capacity preflight failed, nothing was written:" + problems +
          "\nWiden the column with a migration applied now, ahead of any pending one (metadata-only in PostgreSQL: no "
          "table rewrite), then run this again; exactly:\n  credvault create \"widen " + widened + "\" --up \"" + up +
          "\" --down \"" + down + "\"\n  credvault migrate --out-of-order\n  " + rerun,
      reason::kCapacity);
}

}  // namespace

Status CheckNoMalformedValues(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(db::Rows rows,
                      conn.ScanOnOneCore(std::string("SELECT c.id::text, v.col, c.account_id::text FROM ") + ValuesSql() +
                                 " WHERE v.val LIKE 'cv1:%' AND NOT " + kWellFormedValueSql +
                                 " ORDER BY c.id, v.col LIMIT 20"));
  if (rows.empty()) return Status::Ok();
  std::string list;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    list += (i ? ", " : "") + ("account " + rows.text(i, 2) + " " + rows.text(i, 1) + " (credentials.id " +
                               rows.text(i, 0) + ")");
  }
  return DataLossError("values that start with cv1: but are not valid credvault values (neither ciphertext nor "
                       "plaintext; restore them from a backup or store them again with `credvault put --account "
                       "ID`): " + list,
                       reason::kMalformed);
}

namespace {

// encrypt also indexes the client_ids encrypted before their blind index
// column existed, under their own kid: every such kid must be in the ring
// (or retired: the job leaves and names those), checked before any write.
Status CheckUnindexedKidsKnown(db::Connection& conn, const JobOptions& options) {
  CV_ASSIGN_OR_RETURN(const bool has_index, ledger::HasBlindIndexColumn(conn));
  if (!has_index) return Status::Ok();
  const std::string column = ledger::kCredentialColumns[ledger::kIndexedColumn].name;
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query("SELECT split_part(" + column + ", ':', 3), count(*) FROM " +
                                                ledger::kCredentialsTable + " WHERE " + column + " LIKE 'cv1:%' AND " +
                                                ledger::kBlindIndexColumn + " IS NULL GROUP BY 1"));
  KidCounts counts;
  for (std::size_t i = 0; i < rows.size(); ++i) counts.by_kid[rows.text(i, 0)] = std::stoull(rows.text(i, 1));
  Status known = CheckAllKidsKnown(counts, *options.keyring, options.retired_kids.value_or(std::set<std::string>()));
  if (known.ok()) return known;
  return NotFoundError(std::string("encrypt computes the blind index of each ") + column +
                           " encrypted before it had one, under that value's own key, and " + known.message(),
                       reason::kUnknownKid);
}

}  // namespace

Status EncryptPreflight(db::Connection& conn, const JobOptions& options) {
  CV_RETURN_IF_ERROR(CheckUnindexedKidsKnown(conn, options));
  // A value of an unknown format version (cv2:...) is never encrypted: not pending.
  return CheckCapacity(conn, *options.keyring,
                       {"v.val NOT LIKE 'cv1:%' AND v.val !~ '^cv[0-9]+:'", "octet_length(v.val)", {}}, true,
                       options.rerun_command.empty() ? "credvault encrypt" : options.rerun_command);
}

Status RefuseRecordedProduction(db::Connection& conn, const std::string& what) {
  CV_ASSIGN_OR_RETURN(db::Rows table,
                      conn.Query("SELECT to_regclass('credvault_settings') IS NOT NULL, "
                                 "has_table_privilege(to_regclass('credvault_settings'), 'SELECT')"));
  if (table.text(0, 0) != "t") return Status::Ok();  // never migrated by credvault: nothing recorded
  if (table.text(0, 1) != "t") {
    return FailedPreconditionError(
        what + " is never allowed on a database recorded as production, and this role cannot read what this "
               "database records (credvault_settings): refused, nothing written. Grant it: GRANT SELECT ON "
               "credvault_settings TO <this role> (docs/ROLES.md)",
        "environment_unknown");
  }
  CV_ASSIGN_OR_RETURN(db::Rows recorded,
                      conn.Query("SELECT value FROM credvault_settings WHERE key = 'environment'"));
  if (!recorded.empty() && recorded.text(0, 0) == "production") {
    return FailedPreconditionError(what + " stores credentials in plaintext: this database is recorded as production, "
                                          "where it is never allowed (whatever --env says); nothing was written",
                                   "production");
  }
  return Status::Ok();
}

Status DecryptPreflight(db::Connection& conn, const JobOptions& options) {
  CV_RETURN_IF_ERROR(RefuseRecordedProduction(conn, "decrypt"));
  CV_ASSIGN_OR_RETURN(KidCounts counts, ReadKidCounts(conn, *options.keyring));
  return CheckAllKidsKnown(counts, *options.keyring, options.retired_kids.value_or(std::set<std::string>()));
}

StatusOr<KidCounts> RotatePreflight(db::Connection& conn, const JobOptions& options) {
  CV_ASSIGN_OR_RETURN(KidCounts counts, ReadKidCounts(conn, *options.keyring));
  CV_RETURN_IF_ERROR(CheckAllKidsKnown(counts, *options.keyring, options.retired_kids.value_or(std::set<std::string>())));
  if (counts.algorithm_changes) {
    const Keyring& ring = *options.keyring;
    CV_RETURN_IF_ERROR(CheckCapacity(conn, ring,
                                     {"v.val LIKE 'cv1:%' AND split_part(v.val, ':', 3) <> $1 AND "
                                      "split_part(v.val, ':', 2) <> $2",
                                      kPlaintextBytes,
                                      {ring.primary_kid(), std::string(1, static_cast<char>(ring.algorithm()))}},
                                     false, options.rerun_command.empty() ? "credvault rotate" : options.rerun_command));
  }
  return counts;
}

StatusOr<std::map<std::string, std::map<std::string, std::uint64_t>>> CountValuesByKid(const std::string& conninfo) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(conninfo, "credvault keys"));
  CV_ASSIGN_OR_RETURN(db::Rows rows,
                      conn->ScanOnOneCore(std::string("SELECT CASE WHEN v.val LIKE 'cv1:%' THEN split_part(v.val, ':', 3) "
                                              "ELSE '' END, v.col, count(*) FROM ") + ValuesSql() +
                                  " WHERE v.val IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"));
  std::map<std::string, std::map<std::string, std::uint64_t>> out;
  for (std::size_t i = 0; i < rows.size(); ++i) out[rows.text(i, 0)][rows.text(i, 1)] = std::stoull(rows.text(i, 2));
  return out;
}

}  // namespace credvault::jobs
