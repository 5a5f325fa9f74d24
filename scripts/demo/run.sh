#!/usr/bin/env bash
# The demo flow itself; scripts/demo.sh runs it against a throwaway server.
set -euo pipefail
cv="${CREDVAULT_BIN:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CREDVAULT_ENV=development

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "keygen: a new primary key in a 0600 file (the key itself is never printed)"
"$cv" keygen --out "$work/primary.key"
ls -l "$work/primary.key" | awk '{print $1, $NF}'

say "credvault --help"
"$cv" --help | head -n 30
echo
echo "demo: done. (Later steps — migrate, load plaintext rows, encrypt, get, rotate, verify, keys — appear here as they are built.)"
