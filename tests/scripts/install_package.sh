#!/usr/bin/env bash
# The Debian package, end to end: scripts/package.sh packages the build
# folder under test (no second build), then its control fields and file list
# are checked (dpkg-deb), lintian finds no error, it is installed on this
# machine (dpkg -i), the installed credvault migrates a throwaway database
# from the installed migrations, a find_package(credvault) consumer and a
# pkg-config one build and run against it, and dpkg -r removes every file.
# Needs root (or sudo) for dpkg, and the build folder configured with
# CMAKE_INSTALL_PREFIX=/usr, as scripts/test.sh configures build/.
set -euo pipefail
: "${CREDVAULT_BUILD_DIR:?}" "${CREDVAULT_SOURCE_DIR:?}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
fail() { echo "install_package: $*" >&2; exit 1; }
# dpkg does not wait for its lock (an apt run elsewhere on the machine): retry for a minute.
dpkg_retry() {
  local attempt
  for attempt in $(seq 30); do
    [ "$attempt" -gt 1 ] && sleep 2
    $sudo dpkg "$@" >"$work/dpkg.log" 2>&1 && return 0
    grep -q "lock" "$work/dpkg.log" || break
  done
  cat "$work/dpkg.log" >&2
  return 1
}

grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$CREDVAULT_BUILD_DIR/CMakeCache.txt" ||
  fail "$CREDVAULT_BUILD_DIR is not configured with -DCMAKE_INSTALL_PREFIX=/usr (scripts/test.sh does that)"
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$CREDVAULT_BUILD_DIR/CMakeCache.txt")
[ -n "$version" ] || fail "no project version in the CMake cache"

work=$(mktemp -d)
installed=0
db="credvault_pkg_$$"
cleanup() {
  if [ "$installed" = 1 ]; then $sudo dpkg -P credvault >/dev/null 2>&1 || true; fi
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

deb=$(CREDVAULT_BUILD_DIR="$CREDVAULT_BUILD_DIR" "$CREDVAULT_SOURCE_DIR/scripts/package.sh" | tail -n 1)
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "credvault_${version}_${arch}.deb" ] || fail "package named $(basename "$deb")"

# --- control fields ----------------------------------------------------------
[ "$(dpkg-deb -f "$deb" Package)" = credvault ] || fail "Package field"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version $(dpkg-deb -f "$deb" Version) is not $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture field"
depends=$(dpkg-deb -f "$deb" Depends)
# Computed by dpkg-shlibdeps from what the binaries link (versioned where
# the library's shlibs give a version).
for lib in libc6 libsodium23 libpq5 libpqxx libssl3 libspdlog libfmt libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
grep -q "libc6 (>= " <<<"$depends" || fail "Depends has no versioned libc6: $depends"
grep -q credvault <<<"$depends" && fail "the package depends on itself: $depends"
# (Outputs are captured before grep -q: with pipefail, a writer cut off by
# grep's early exit would fail the pipeline.)
shlibs=$(dpkg-deb -I "$deb" shlibs)
grep -q "^libcredvault 0 credvault" <<<"$shlibs" || fail "no shlibs entry for libcredvault.so.0"
triggers=$(dpkg-deb -I "$deb" triggers)
grep -q "ldconfig" <<<"$triggers" || fail "no ldconfig trigger"

# --- file list ---------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/files"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
expect=(
  /usr/bin/credvault
  "/usr/lib/$multiarch/libcredvault.so.0" "/usr/lib/$multiarch/libcredvault.so.$version" "/usr/lib/$multiarch/libcredvault.so"
  /usr/include/credvault/vault.hpp /usr/include/credvault/credvault.h
  "/usr/lib/$multiarch/cmake/credvault/credvaultConfig.cmake" "/usr/lib/$multiarch/pkgconfig/credvault.pc"
  /usr/share/man/man1/credvault.1.gz /usr/share/man/man1/credvault-rotate.1.gz
  /usr/share/bash-completion/completions/credvault
  /usr/share/doc/credvault/copyright /usr/share/doc/credvault/changelog.gz /usr/share/doc/credvault/README.md
)
for migration in "$CREDVAULT_SOURCE_DIR"/migrations/*.sql; do
  expect+=("/usr/share/credvault/migrations/$(basename "$migration")")
done
[ -f "$CREDVAULT_SOURCE_DIR/schema.sql" ] && expect+=(/usr/share/credvault/schema.sql)
for file in "${expect[@]}"; do
  grep -qx "$file" "$work/files" || fail "the package lacks $file"
done
grep -q '/usr/local\|/tests/\|\.a$' "$work/files" && fail "unexpected files: $(grep '/usr/local\|/tests/\|\.a$' "$work/files")"

# --- lintian: no error (warnings are printed, not fatal) -----------------------
if ! lintian --fail-on error --no-tag-display-limit "$deb" >"$work/lintian" 2>&1; then
  cat "$work/lintian" >&2
  fail "lintian reports errors"
fi
echo "lintian: $(grep -c '^E:' "$work/lintian" || true) errors, $(grep -c '^W:' "$work/lintian" || true) warnings"

# --- installed on this machine --------------------------------------------------
installed=1
dpkg_retry -i "$deb"
[ "$(command -v credvault)" = /usr/bin/credvault ] || fail "credvault is not /usr/bin/credvault on PATH"
installed_version=$(/usr/bin/credvault --version)
grep -qx "credvault $version (git [0-9a-f]\{12\}\(-dirty\)\?)" <<<"$installed_version" ||
  fail "--version printed: $(/usr/bin/credvault --version)"

# The installed binary against the throwaway server, from a folder without
# ./migrations: it finds the installed ones.
createdb "$db"
mkdir "$work/empty"
key=$(/usr/bin/credvault keygen 2>/dev/null)
head=$(basename "$(ls /usr/share/credvault/migrations/*.sql | sort | tail -n 1)" | cut -d_ -f1-2)
(
  cd "$work/empty"
  export DATABASE_URL="dbname=$db" SECRET_KEY="$key" CREDVAULT_ENV=development
  /usr/bin/credvault -q migrate
  current=$(/usr/bin/credvault current)
  [ "$current" = "$head (head)" ] || fail "credvault current printed '$current', expected '$head (head)'"
  /usr/bin/credvault -q verify >/dev/null
)
# The installed completion loads and registers.
registered=$(bash -c 'source /usr/share/bash-completion/completions/credvault && complete -p credvault')
grep -q -- "-F _credvault" <<<"$registered" ||
  fail "the installed bash completion does not register"
page=$(man -l /usr/share/man/man1/credvault-rotate.1.gz 2>/dev/null)
grep -q "EXIT STATUS" <<<"$page" || fail "the installed man page"

# A find_package(credvault) consumer with no hint where credvault is, and a
# pkg-config one.
mkdir -p "$work/consumer"
cat >"$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(credvault REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE credvault::credvault)
CMAKE
cat >"$work/consumer/main.cpp" <<'CPP'
#include <credvault/keyring.hpp>
#include <iostream>
int main() {
  auto ring = credvault::Keyring::Create(
      {credvault::SecretBytes::FromString("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), "demo"}, {});
  if (!ring.ok()) return 1;
  auto value = ring->Encrypt("hello", {"credentials", "client_id", "1"});
  auto back = ring->Decrypt(*value, {"credentials", "client_id", "1"});
  std::cout << ring->primary_kid() << " " << back->view() << "\n";
  return back->Equals("hello") ? 0 : 1;
}
CPP
cmake -S "$work/consumer" -B "$work/consumer/build" -G Ninja >/dev/null
cmake --build "$work/consumer/build" >/dev/null
[ "$("$work/consumer/build/consumer")" = "e2eb3ad8 hello" ] || fail "the find_package consumer failed"
# (/lib is /usr/lib on a merged-/usr system.)
libraries=$(ldd "$work/consumer/build/consumer")
grep -Eq "libcredvault.so.0 => (/usr)?/lib/$multiarch/libcredvault.so.0 " <<<"$libraries" ||
  fail "the consumer does not load the installed library: $(grep credvault <<<"$libraries")"
[ "$(pkg-config --modversion credvault)" = "$version" ] || fail "pkg-config credvault version"
# shellcheck disable=SC2046
c++ -std=c++17 -o "$work/pc_consumer" "$work/consumer/main.cpp" $(pkg-config --cflags --libs credvault)
[ "$("$work/pc_consumer")" = "e2eb3ad8 hello" ] || fail "the pkg-config consumer failed"

# --- removed cleanly --------------------------------------------------------------
dpkg_retry -r credvault
installed=0
# Removed: its files are gone; dpkg keeps the record (config-files: its
# postrm, for a purge) until purged, which the test does last.
case "$(dpkg-query -W -f='${db:Status-Status}' credvault 2>/dev/null || echo not-installed)" in
  config-files | not-installed) ;;
  *) fail "dpkg -r left credvault as: $(dpkg-query -W -f='${Status}' credvault)" ;;
esac
while read -r file; do
  [ -d "$file" ] && continue
  [ -e "$file" ] || [ -L "$file" ] && fail "$file is still there after dpkg -r"
done <"$work/files"
[ -e /usr/share/credvault ] && fail "/usr/share/credvault is still there after dpkg -r"
dpkg_retry -P credvault
dpkg-query -W credvault >/dev/null 2>&1 && fail "dpkg -P left a record of credvault"
echo "package $(basename "$deb"): fields, files, lintian, install, migrate, consumers, removal: ok"
