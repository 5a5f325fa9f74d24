#!/usr/bin/env bash
# The Python package (python/): installed with no network into a venv that sees
# Debian's python3-nacl/-cryptography/-psycopg2/-asyncpg/-sqlalchemy/-pytest,
# then its pytest suite against the C++ CLI and the test server (PG* variables).
set -euo pipefail
: "${CREDVAULT_CLI:?}" "${CREDVAULT_SOURCE_DIR:?}"
work=$(mktemp -d "${CREDVAULT_BUILD_DIR:-/tmp}/python_package.XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# A copy of the sources: an in-tree build would leave build/ and *.egg-info behind.
cp -r "$CREDVAULT_SOURCE_DIR/python" "$work/src"
"$work/venv/bin/pip" install -q --no-deps --no-build-isolation --no-index --disable-pip-version-check "$work/src" \
  >"$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; exit 1; }
installed=$(cd "$work" && "$work/venv/bin/python" -c 'import credvault; print(credvault.__file__)')
case "$installed" in
  "$work/venv/"*) ;;
  *) echo "python_package: credvault imported from $installed, not from the venv" >&2; exit 1 ;;
esac
[ -f "$(dirname "$installed")/py.typed" ] || { echo "python_package: py.typed not installed" >&2; exit 1; }
cd "$work"
status=0
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$CREDVAULT_SOURCE_DIR/python/tests" || status=$?
if [ "$status" -eq 5 ]; then echo "python_package: pytest collected no tests" >&2; exit 1; fi
exit "$status"
