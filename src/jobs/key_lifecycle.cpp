#include "jobs/key_lifecycle.hpp"

#include <sstream>

#include "common/status_macros.hpp"
#include "jobs/credentials_table.hpp"
#include "migrate/event_details.hpp"
#include "migrate/history.hpp"

namespace credvault::jobs {
namespace {

constexpr const char* kTableExists = "SELECT to_regclass('credvault_keys') IS NOT NULL";

StatusOr<bool> TableExists(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query(kTableExists));
  return rows.text(0, 0) == "t";
}

// count(*) of values under kid $1, one column per credential column.
std::string CountSql() {
  std::string select;
  for (const char* column : kCredentialColumns) {
    select += std::string(select.empty() ? "" : ", ") + "count(*) FILTER (WHERE " + column + " LIKE 'cv1:%' AND split_part(" +
              column + ", ':', 3) = $1)";
  }
  return "SELECT " + select + " FROM credentials";
}

}  // namespace

const char* const kCreateKeyLifecycleTable = R"SQL(
CREATE TABLE IF NOT EXISTS credvault_keys (
    kid        text PRIMARY KEY CHECK (kid ~ '^[0-9a-f]{8}$'),
    state      text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    first_seen timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    retired_by text
);
-- put and get --reveal run as the application role, which may not write
-- credvault_events (it could forge any event): it may call this instead,
-- which records only those two kinds, as the session's role.
CREATE OR REPLACE FUNCTION credvault_record_access(event_kind text, event_details jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF event_kind NOT IN ('put', 'get_reveal') THEN
        RAISE EXCEPTION 'credvault_record_access records put and get_reveal only';
    END IF;
    INSERT INTO credvault_events (actor, kind, details) VALUES (session_user, event_kind, event_details);
END;
$$;
REVOKE ALL ON FUNCTION credvault_record_access(text, jsonb) FROM PUBLIC;
-- `keys retire` as the jobs role: it may not UPDATE credvault_keys (it could
-- retire a key still in use, or un-retire one); it calls this instead, which
-- retires a kid only when no value uses it and records who did it. Returns
-- 'retired', 'already_retired', or 'in_use <client_id> <client_secret>
-- <refresh_token>' (the counts), changing nothing in the last two cases.
CREATE OR REPLACE FUNCTION credvault_retire_key(retire_kid text, event_details jsonb) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    current_state text;
    used bigint[];
BEGIN
    IF retire_kid IS NULL OR retire_kid !~ '^[0-9a-f]{8}$' THEN
        RAISE EXCEPTION 'credvault_retire_key: a kid is 8 lowercase hex characters';
    END IF;
    SELECT state INTO current_state FROM credvault_keys WHERE kid = retire_kid FOR UPDATE;
    IF current_state = 'retired' THEN
        RETURN 'already_retired';
    END IF;
    SELECT ARRAY[count(*) FILTER (WHERE client_id LIKE 'cv1:%' AND split_part(client_id, ':', 3) = retire_kid),
                 count(*) FILTER (WHERE client_secret LIKE 'cv1:%' AND split_part(client_secret, ':', 3) = retire_kid),
                 count(*) FILTER (WHERE refresh_token LIKE 'cv1:%' AND split_part(refresh_token, ':', 3) = retire_kid)]
        INTO used FROM credentials;
    IF used <> ARRAY[0, 0, 0]::bigint[] THEN
        RETURN 'in_use ' || array_to_string(used, ' ');
    END IF;
    INSERT INTO credvault_keys (kid, state, retired_at, retired_by) VALUES (retire_kid, 'retired', now(), session_user)
        ON CONFLICT (kid) DO UPDATE SET state = 'retired', retired_at = now(), retired_by = session_user;
    INSERT INTO credvault_events (kind, details)
        VALUES ('key_retired', coalesce(event_details, '{}'::jsonb) || jsonb_build_object('kid', retire_kid));
    RETURN 'retired';
END;
$$;
REVOKE ALL ON FUNCTION credvault_retire_key(text, jsonb) FROM PUBLIC;
-- SECURITY DEFINER functions resolve names in their own schema only.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION credvault_record_access(text, jsonb) SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION credvault_retire_key(text, jsonb) SET search_path = %I, pg_temp',
                   current_schema());
END;
$$;
-- Upgrade: a role other than the owner that could UPDATE credvault_keys (as
-- docs/ROLES.md granted before 2026-12) retires keys through the function
-- instead, and inserts only the kids it sees (INSERT (kid)).
DO $$
DECLARE
    grant_row record;
BEGIN
    FOR grant_row IN
        SELECT r.rolname, a.privilege_type FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
        JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = 'credvault_keys'::regclass AND a.privilege_type IN ('INSERT', 'UPDATE')
          AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE %s ON credvault_keys FROM %I', grant_row.privilege_type, grant_row.rolname);
        IF grant_row.privilege_type = 'INSERT' THEN
            EXECUTE format('GRANT INSERT (kid) ON credvault_keys TO %I', grant_row.rolname);
        ELSE
            EXECUTE format('GRANT EXECUTE ON FUNCTION credvault_retire_key(text, jsonb) TO %I', grant_row.rolname);
        END IF;
        RAISE NOTICE 'credvault_keys: % of role % narrowed', grant_row.privilege_type, grant_row.rolname;
    END LOOP;
END;
$$;
)SQL";

Status RecordAccessEvent(db::Connection& conn, const std::string& kind, const std::string& details_json) {
  return conn.Exec("SELECT credvault_record_access($1, $2::jsonb)", {kind, details_json});
}

StatusOr<std::set<std::string>> ReadRetiredKids(db::Connection& conn) {
  std::set<std::string> out;
  CV_ASSIGN_OR_RETURN(bool exists, TableExists(conn));
  if (!exists) return out;
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query("SELECT kid FROM credvault_keys WHERE state = 'retired'"));
  for (std::size_t i = 0; i < rows.size(); ++i) out.insert(rows.text(i, 0));
  return out;
}

Status RecordKidsSeen(db::Connection& conn, const std::vector<std::string>& kids) {
  if (kids.empty()) return Status::Ok();
  CV_ASSIGN_OR_RETURN(bool exists, TableExists(conn));
  if (!exists) return Status::Ok();
  for (const std::string& kid : kids) {
    CV_RETURN_IF_ERROR(conn.Exec("INSERT INTO credvault_keys (kid) VALUES ($1) ON CONFLICT (kid) DO NOTHING", {kid}));
  }
  return Status::Ok();
}

StatusOr<std::optional<std::map<std::string, KeyLifecycle>>> ReadKeyLifecycle(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(bool exists, TableExists(conn));
  if (!exists) return std::optional<std::map<std::string, KeyLifecycle>>();
  CV_ASSIGN_OR_RETURN(
      db::Rows rows,
      conn.Query("SELECT kid, state, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', "
                 "coalesce(to_char(retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', ''), "
                 "coalesce(retired_by, ''), extract(epoch FROM now() - first_seen) / 86400 "
                 "FROM credvault_keys ORDER BY first_seen, kid"));
  std::map<std::string, KeyLifecycle> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out[rows.text(i, 0)] = KeyLifecycle{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2),
                                        rows.text(i, 3), rows.text(i, 4), std::stod(rows.text(i, 5))};
  }
  return std::optional<std::map<std::string, KeyLifecycle>>(std::move(out));
}

StatusOr<std::map<std::string, std::uint64_t>> CountValuesUnderKid(db::Connection& conn, const std::string& kid) {
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query(CountSql(), {kid}));
  std::map<std::string, std::uint64_t> out;
  for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
    const std::uint64_t n = std::stoull(rows.text(0, c));
    if (n > 0) out[kCredentialColumns[c]] = n;
  }
  return out;
}

Status RetireKid(db::Connection& conn, const std::string& kid, const std::string& os_user, const std::string& host) {
  CV_ASSIGN_OR_RETURN(bool exists, TableExists(conn));
  if (!exists) {
    return FailedPreconditionError("this database has no credvault_keys table yet: run `credvault migrate` once with "
                                   "this version of credvault, then retire the key",
                                   "no_lifecycle_table");
  }
  CV_ASSIGN_OR_RETURN(db::Rows function,
                      conn.Query("SELECT to_regprocedure('credvault_retire_key(text, jsonb)') IS NOT NULL"));
  if (function.text(0, 0) != "t") {
    return FailedPreconditionError("this database has no credvault_retire_key function yet: run `credvault migrate` "
                                   "once with this version of credvault, then retire the key",
                                   "no_lifecycle_table");
  }
  // Through the definer function (the jobs role may not UPDATE credvault_keys):
  // it checks and retires in one transaction, and records the event.
  const std::string details =
      migrate::EventDetails().AddText("kid", kid).AddText("os_user", os_user).AddText("host", host).ToJson();
  CV_ASSIGN_OR_RETURN(db::Rows result, conn.Query("SELECT credvault_retire_key($1, $2::jsonb)", {kid, details}));
  const std::string outcome = result.text(0, 0);
  if (outcome == "already_retired") return AlreadyExistsError("key " + kid + " is already retired", "already_retired");
  if (outcome == "retired") return Status::Ok();
  // "in_use <n> <n> <n>", one count per credential column.
  std::istringstream counts(outcome.substr(outcome.find(' ') + 1));
  std::string in_use;
  std::uint64_t total = 0;
  for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
    std::uint64_t n = 0;
    counts >> n;
    total += n;
    if (n > 0) in_use += std::string(in_use.empty() ? "" : ", ") + kCredentialColumns[c] + " " + std::to_string(n);
  }
  return FailedPreconditionError("key " + kid + " is still used by " + std::to_string(total) + " value(s) (" + in_use +
                                     "): run `credvault rotate` with a new primary key first, then retire it; "
                                     "nothing was changed",
                                 "kid_in_use");
}

}  // namespace credvault::jobs
