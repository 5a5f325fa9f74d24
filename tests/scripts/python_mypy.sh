#!/usr/bin/env bash
# The Python package type-checks: `mypy --strict` over python/src (its settings: python/pyproject.toml,
# [tool.mypy]). Debian's python3-mypy (scripts/setup.sh); a missing mypy is a failure, never a skip.
set -euo pipefail
: "${CREDVAULT_SOURCE_DIR:?}"
python=/usr/bin/python3
if ! "$python" -m mypy --version >/dev/null 2>&1; then
  echo "python_mypy: mypy is not installed for $python (apt-get install python3-mypy, or run scripts/setup.sh)" >&2
  exit 1
fi
work=$(mktemp -d "${CREDVAULT_BUILD_DIR:-/tmp}/python_mypy.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$CREDVAULT_SOURCE_DIR/python"
# The check can fail: strict mode refuses an unannotated function under the same settings.
printf 'def untyped(x):\n    return x\n' >"$work/untyped.py"
if "$python" -m mypy --strict --cache-dir "$work/cache" "$work/untyped.py" >"$work/untyped.log" 2>&1; then
  echo "python_mypy: mypy --strict accepted an unannotated function; the check proves nothing" >&2
  cat "$work/untyped.log" >&2
  exit 1
fi
"$python" -m mypy --strict --cache-dir "$work/cache" src
