#!/usr/bin/env bash
# The bash completion the build generates from the CLI definition: it
# registers for credvault (complete -p) and completes a command, a nested
# command, a command's flag and a global one, a file after --key-file, and
# nothing after an option that takes a number.
set -euo pipefail
: "${CREDVAULT_BUILD_DIR:?}"
script="$CREDVAULT_BUILD_DIR/docs-generated/credvault.bash-completion"
fail() { echo "bash_completion: $*" >&2; exit 1; }
# shellcheck disable=SC1090
source "$script"
registered=$(complete -p credvault)
grep -q -- "-F _credvault credvault" <<<"$registered" || fail "not registered: $registered"

# complete WORDS...: what completing the last word offers, sorted, one line.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _credvault
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {  # expect WANT WORDS...
  local want=$1
  shift
  local got
  got=$(complete_words "$@")
  [ "$got" = "$want" ] || fail "'$*': got '$got', want '$want'"
}

expect "rollback rotate" credvault ro
expect "rotate" credvault -q --config x.toml rot
expect "--batch-size" credvault rotate --batch
expect "--dry-run" credvault --database-url dbname=x rotate --dry
expect "--database-url" credvault rotate --databa
expect "set" credvault env s
expect "" credvault rotate --batch-size ""
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/primary.key" "$work/previous.key" "$work/other.txt"
cd "$work"
expect "previous.key primary.key" credvault --key-file p
expect "previous.key primary.key" credvault rotate --fallback-key-file p
expect "other.txt" credvault keygen --out o
expect "other.txt" credvault rotate --config o
# compgen over the function's answer, as readline would filter it.
COMP_WORDS=(credvault ver)
COMP_CWORD=1
_credvault
[ "$(compgen -W "${COMPREPLY[*]}" -- ver)" = verify ] || fail "compgen over the completion"
echo "bash completion: commands, nested commands, flags and files complete"
