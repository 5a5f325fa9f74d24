#!/usr/bin/env bash
# cmake --install puts binary, headers, library, migrations and a CMake
# package; a tiny consumer builds with find_package(credvault) and runs: C++
# (a keyring round trip) and C (the C ABI v2's options, as a C compiler sees
# credvault.h).
set -euo pipefail
: "${CREDVAULT_BUILD_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$CREDVAULT_BUILD_DIR" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/credvault"
test -f "$work/prefix/include/credvault/vault.hpp"
test -f "$work/prefix/include/credvault/credvault.h"
test -f "$work/prefix/share/credvault/migrations/20260215_0001_initial_schema.sql"
mkdir -p "$work/consumer"
cat > "$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(consumer C CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(credvault REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE credvault::credvault)
add_executable(consumer_c main.c)
target_link_libraries(consumer_c PRIVATE credvault::credvault)
CMAKE
cat > "$work/consumer/main.c" <<'C'
#include <credvault/credvault.h>
#include <stdio.h>
#include <string.h>
/* Options refused before any connection: no database needed. */
int main(void) {
  credvault_options_t* options = credvault_options_create();
  credvault_vault* vault = NULL;
  if (options == NULL) return 1;
  if (credvault_options_set_environment(options, "prod") != CREDVAULT_INVALID_ARGUMENT) return 2;
  if (strstr(credvault_last_error(), "prod") == NULL) return 3;
  if (credvault_options_set_environment(options, "staging") != CREDVAULT_OK) return 4;
  if (credvault_options_set_max_connections(options, 0) != CREDVAULT_INVALID_ARGUMENT) return 5;
  if (credvault_options_set_max_connections(options, 2) != CREDVAULT_OK) return 6;
  if (credvault_open_with_options(options, &vault) != CREDVAULT_INVALID_ARGUMENT || vault != NULL) return 7;
  if (strcmp(credvault_last_error_reason(), "") != 0) return 8;
  credvault_options_set_primary_key(options, "too-short");
  if (credvault_open_with_options(options, &vault) != CREDVAULT_INVALID_ARGUMENT) return 9;
  credvault_options_destroy(options);
  printf("c abi v2 ok\n");
  return 0;
}
C
cat > "$work/consumer/main.cpp" <<'CPP'
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
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
# lib/, lib64/ or, for a build configured with prefix /usr, the Debian multiarch lib/<triplet>/.
libdirs=$(dirname "$(find "$work/prefix" -name 'libcredvault.so.0' | head -n 1)")
out=$(LD_LIBRARY_PATH="$libdirs:${LD_LIBRARY_PATH:-}" "$work/consumer/build/consumer")
test "$out" = "e2eb3ad8 hello" || { echo "consumer printed: $out" >&2; exit 1; }
out=$(LD_LIBRARY_PATH="$libdirs:${LD_LIBRARY_PATH:-}" "$work/consumer/build/consumer_c") || {
  echo "C consumer failed with exit $? ($out)" >&2
  exit 1
}
test "$out" = "c abi v2 ok" || { echo "C consumer printed: $out" >&2; exit 1; }
"$work/prefix/bin/credvault" --version
echo "install + find_package consumer: ok"
