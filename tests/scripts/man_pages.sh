#!/usr/bin/env bash
# The man pages the build generates from the CLI definition: credvault(1) and
# one per command render with `man -l` without a groff warning, each has
# NAME, SYNOPSIS, EXIT STATUS, ENVIRONMENT and FILES; credvault(1) names every
# command of `credvault --help` and every exit code of the contract, and each
# command's page names every option its `--help` lists.
set -euo pipefail
: "${CREDVAULT_CLI:?}" "${CREDVAULT_BUILD_DIR:?}"
man_dir="$CREDVAULT_BUILD_DIR/docs-generated/man"
fail() { echo "man_pages: $*" >&2; exit 1; }
export MANWIDTH=200 MAN_KEEP_FORMATTING=0

# render PAGE: the page as text; fails on any warning from man/groff.
render() {
  local err
  err=$(mktemp)
  man --warnings -l "$1" 2>"$err" | col -b >"$err.txt"
  [ -s "$err" ] && { cat "$err" >&2; rm -f "$err" "$err.txt"; fail "warnings rendering $1"; }
  cat "$err.txt"
  rm -f "$err" "$err.txt"
}

commands=$("$CREDVAULT_CLI" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
[ "$(wc -w <<<"$commands")" -ge 18 ] || fail "only found commands: $commands"

main=$(render "$man_dir/credvault.1.gz")
for section in NAME SYNOPSIS COMMANDS "GLOBAL OPTIONS" "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO"; do
  grep -q "^$section\$" <<<"$main" || fail "credvault(1) lacks the section $section"
done
exit_status=$(awk '/^EXIT STATUS$/ {on = 1; next} /^[A-Z]/ {on = 0} on' <<<"$main")
for code in 0 1 2 3 4 5 6 7 130; do
  grep -qE "^ +$code( |\$)" <<<"$exit_status" || fail "credvault(1) lacks exit code $code"
done
for variable in DATABASE_URL SECRET_KEY SECRET_KEY_FALLBACKS CREDVAULT_CONFIG CREDVAULT_ENV CREDVAULT_METRICS_FILE; do
  grep -qE "^ *$variable( |\$)" <<<"$main" || fail "credvault(1) lacks the variable $variable"
done
for option in $("$CREDVAULT_CLI" --help | grep -oE '^  (-[a-z],)?--[a-z-]+' | sed 's/.*--/--/'); do
  grep -q -- "$option" <<<"$main" || fail "credvault(1) lacks the global option $option"
done
grep -q "gen-docs" <<<"$main" && fail "credvault(1) shows the hidden gen-docs command"

for command in $commands; do
  grep -qE "^ +$command( |\$)" <<<"$main" || fail "credvault(1) does not list the command $command"
  page=$(render "$man_dir/credvault-$command.1.gz")
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES; do
    grep -q "^$section\$" <<<"$page" || fail "credvault-$command(1) lacks the section $section"
  done
  grep -q "credvault-$command - " <<<"$page" || fail "credvault-$command(1) has no NAME line"
  for option in $("$CREDVAULT_CLI" "$command" --help | grep -oE '^  (-[a-z],)?--[a-z-]+' | sed 's/.*--/--/'); do
    grep -q -- "$option" <<<"$page" || fail "credvault-$command(1) lacks $option"
  done
done
echo "man pages: credvault(1) and $(wc -w <<<"$commands") command pages render and are complete"
