#include "ledger/history.hpp"

#include <string_view>
#include <utility>

#include "common/status_macros.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::ledger {
namespace {

constexpr const char* kCreateTables = R"SQL(
CREATE TABLE IF NOT EXISTS credvault_schema_history (
    revision     text PRIMARY KEY,
    description  text NOT NULL,
    checksum     text NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    applied_by   text NOT NULL DEFAULT current_user,
    execution_ms bigint,
    tool_version text,
    state        text NOT NULL CHECK (state IN ('applied', 'running', 'failed'))
);
-- Added after the first release: databases migrated before get it here.
ALTER TABLE credvault_schema_history ADD COLUMN IF NOT EXISTS applied_ahead_of text;
CREATE TABLE IF NOT EXISTS credvault_events (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL DEFAULT current_user,
    client   text DEFAULT current_setting('application_name'),
    kind     text NOT NULL,
    revision text,
    details  jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS credvault_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE OR REPLACE FUNCTION credvault_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credvault_events is append-only';
END;
$$;
CREATE OR REPLACE TRIGGER credvault_events_append_only
    BEFORE UPDATE OR DELETE ON credvault_events
    FOR EACH STATEMENT EXECUTE FUNCTION credvault_events_append_only();
-- Whatever an INSERT names, a row says who wrote it and when (the role that
-- logged in, the transaction's time), and its details stay small.
CREATE OR REPLACE FUNCTION credvault_events_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.actor := session_user;
    NEW.at := now();
    IF octet_length(NEW.details::text) > 16384 THEN
        RAISE EXCEPTION 'credvault_events.details is % bytes; at most 16384 are accepted',
            octet_length(NEW.details::text);
    END IF;
    RETURN NEW;
END;
$$;
CREATE OR REPLACE TRIGGER credvault_events_stamp
    BEFORE INSERT ON credvault_events
    FOR EACH ROW EXECUTE FUNCTION credvault_events_stamp();
-- Upgrade: a role other than the owner that holds table-level INSERT (as
-- docs/ROLES.md granted before 2026-12) keeps INSERT on the three columns an
-- event is written with, and nothing more.
DO $$
DECLARE
    grantee_name text;
BEGIN
    FOR grantee_name IN
        SELECT r.rolname FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = 'credvault_events'::regclass AND a.privilege_type = 'INSERT' AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE INSERT ON credvault_events FROM %I', grantee_name);
        EXECUTE format('GRANT INSERT (kind, revision, details) ON credvault_events TO %I', grantee_name);
        RAISE NOTICE 'credvault_events: INSERT of role % narrowed to (kind, revision, details)', grantee_name;
    END LOOP;
END;
$$;
)SQL";

constexpr const char* kHistoryExists = "SELECT to_regclass('credvault_schema_history') IS NOT NULL";
constexpr const char* kInsertEvent =
    "INSERT INTO credvault_events (kind, revision, details) VALUES ($1, $2, $3::jsonb)";

// {counts}, {table} and {zeros} are filled from the credential column list
// (CreateKeyLifecycleSql).
constexpr const char* kCreateKeyLifecycleTemplate = R"SQL(
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
-- 'retired', 'already_retired', or 'in_use <n> <n> ...' (the counts of values
-- under the kid, per credential column), changing nothing in the last two cases.
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
    SELECT ARRAY[{counts}] INTO used FROM {table};
    IF used <> ARRAY[{zeros}]::bigint[] THEN
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

std::string CreateKeyLifecycleSql() {
  std::string sql = kCreateKeyLifecycleTemplate;
  const std::pair<const char*, std::string> fills[] = {{"{counts}", CountUnderKidSql("retire_kid")},
                                                       {"{table}", kCredentialsTable},
                                                       {"{zeros}", EachColumn("0", ", ")}};
  for (const auto& [placeholder, text] : fills) sql.replace(sql.find(placeholder), std::string_view(placeholder).size(), text);
  return sql;
}

}  // namespace

Status EnsureHistoryTables(db::Connection& conn) {
  // Only under the migration lock, so two creators never race.
  CV_RETURN_IF_ERROR(conn.ExecScript(kCreateTables));
  // The key lifecycle (credvault keys retire) is bookkeeping too.
  return conn.ExecScript(CreateKeyLifecycleSql());
}

StatusOr<std::map<std::string, HistoryRow>> ReadHistory(db::Connection& conn) {
  std::map<std::string, HistoryRow> out;
  CV_ASSIGN_OR_RETURN(db::Rows exists, conn.Query(kHistoryExists));
  if (exists.text(0, 0) != "t") return out;
  CV_ASSIGN_OR_RETURN(db::Rows rows,
                      conn.Query("SELECT revision, description, checksum, "
                                 "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', "
                                 "applied_by, coalesce(execution_ms::text, ''), state, "
                                 // Read through to_jsonb: read-only commands see databases whose
                                 // history table predates the column (only migrate adds it).
                                 "coalesce(to_jsonb(h) ->> 'applied_ahead_of', '') "
                                 "FROM credvault_schema_history h ORDER BY revision"));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    HistoryRow row{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3),
                   rows.text(i, 4), rows.text(i, 5), rows.text(i, 6), rows.text(i, 7)};
    out[row.revision] = row;
  }
  return out;
}

StatusOr<std::optional<std::string>> ReadRecordedEnvironment(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(db::Rows exists, conn.Query("SELECT to_regclass('credvault_settings') IS NOT NULL"));
  if (exists.text(0, 0) != "t") return std::optional<std::string>();
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query("SELECT value FROM credvault_settings WHERE key = 'environment'"));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows.text(0, 0));
}

Status RecordEnvironment(db::Connection& conn, const std::string& environment) {
  return conn.Exec(
      "INSERT INTO credvault_settings (key, value) VALUES ('environment', $1) "
      "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
      {environment});
}

Status AppendEvent(db::Connection& conn, const std::string& kind, const std::string& revision,
                   const EventDetails& details) {
  return conn.Exec(kInsertEvent, {kind, revision.empty() ? db::Value() : db::Value(revision), details.ToJson()});
}

Status AppendEvent(db::Transaction& tx, const std::string& kind, const std::string& revision,
                   const EventDetails& details) {
  return tx.Exec(kInsertEvent, {kind, revision.empty() ? db::Value() : db::Value(revision), details.ToJson()});
}

}  // namespace credvault::ledger
