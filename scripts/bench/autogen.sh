#!/usr/bin/env bash
# create --autogenerate on a generated 200-table schema (target: < 5 s).
#
#   scripts/with-postgres.sh bash scripts/bench/autogen.sh [BUILD_DIR] [TABLES]
#
# The migrations build TABLES tables (7 columns, a primary key, a unique
# constraint, a foreign key to the table before, an index, a check) and a
# view per ten tables; schema.sql is the same schema with a change in every
# table (a new column, a changed default, a new index, a widened column).
# Prints the seconds of `create --autogenerate --sql` with that difference
# and with none.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
tables=${2:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/migrations"
python3 - "$work" "$tables" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
def schema(changed):
    out = []
    for i in range(n):
        fk = f",\n    parent_id integer REFERENCES t{i-1} (id) ON DELETE CASCADE" if i else ""
        width = 200 if changed else 100
        default = "'b'" if changed else "'a'"
        extra = ",\n    added_at timestamp DEFAULT now()" if changed else ""
        out.append(f"""CREATE TABLE t{i} (
    id serial PRIMARY KEY,
    code varchar(32) NOT NULL UNIQUE,
    name varchar({width}),
    kind text NOT NULL DEFAULT {default},
    amount numeric(12,2) CHECK (amount >= 0),
    created_at timestamp NOT NULL DEFAULT now(){fk}{extra}
);
CREATE INDEX t{i}_name_idx ON t{i} (name);
""")
        if changed:
            out.append(f"CREATE INDEX t{i}_kind_idx ON t{i} (kind, created_at);\n")
        if i % 10 == 9:
            out.append(f"CREATE VIEW v{i} AS SELECT id, name FROM t{i} WHERE kind = 'a';\n")
    return "".join(out)
open(f"{work}/migrations/20200101_0001_tables.sql", "w").write("-- migrate:up\n" + schema(False) + "-- migrate:down\nSELECT 1;\n")
open(f"{work}/schema.sql", "w").write(schema(True))
open(f"{work}/same.sql", "w").write(schema(False))
PY
export DATABASE_URL=${DATABASE_URL:-}
createdb credvault_bench_autogen 2>/dev/null || true
url="${DATABASE_URL:-postgresql:///credvault_bench_autogen}"
run() {
  local start end
  start=$(date +%s.%N)
  DATABASE_URL=$url "$build/credvault" -q --migrations-dir "$work/migrations" create --autogenerate --sql \
    --schema "$1" "bench" >"$work/out"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
changed=$(run "$work/schema.sql")
same=$(run "$work/same.sql")
statements=$(grep -c ';$' "$work/out" || true)
statements=$(DATABASE_URL=$url "$build/credvault" -q --migrations-dir "$work/migrations" create --autogenerate --sql \
  --schema "$work/schema.sql" "bench" | grep -c ';$')
echo "autogenerate, $tables tables, $statements statements generated: ${changed} s (no difference: ${same} s; target < 5 s)"
dropdb credvault_bench_autogen 2>/dev/null || true
