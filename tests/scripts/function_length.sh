#!/usr/bin/env bash
# No function in src/ or include/ is longer than 80 lines (from the line its
# declaration starts on to its closing brace): fails naming each one that is.
# A long function is broken into named pieces; docs/ARCHITECTURE.md lists any
# exception with its reason.
set -euo pipefail
source_dir=${CREDVAULT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$source_dir"
exec python3 tests/scripts/function_length.py --limit=80 src include
