#!/usr/bin/env bash
# cmake --install puts binary, headers, library, migrations and a CMake
# package; a tiny consumer builds with find_package(credvault) and runs.
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
project(consumer CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(credvault REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE credvault::credvault)
CMAKE
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
"$work/prefix/bin/credvault" --version
echo "install + find_package consumer: ok"
