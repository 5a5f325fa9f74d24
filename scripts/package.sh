#!/usr/bin/env bash
# Builds the Debian package with CPack: build-release/credvault_<version>_<arch>.deb
# (version: the CMake project version). Prints the package's path last.
#   CREDVAULT_BUILD_DIR=DIR  package an existing build folder instead (its
#                            build type is kept; scripts/test.sh packages build/)
# The package installs to /usr, and the CLI and library compile in where the
# migrations are installed: a folder configured with another
# CMAKE_INSTALL_PREFIX is reconfigured (which rebuilds the library).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

build_dir="${CREDVAULT_BUILD_DIR:-build-release}"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  # Only what the package holds is built (no test binaries): cpack's install
  # step then skips building `all`.
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCREDVAULT_TESTS=OFF -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
elif ! grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$build_dir/CMakeCache.txt"; then
  echo "package: reconfiguring $build_dir with CMAKE_INSTALL_PREFIX=/usr" >&2
  cmake -S . -B "$build_dir" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
fi
cmake --build "$build_dir" -j"$(nproc)" --target credvault credvault_lib credvault_docs >/dev/null
rm -f "$build_dir"/credvault_*.deb
(cd "$build_dir" && cpack -G DEB >/dev/null)
deb=$(ls "$build_dir"/credvault_*.deb)
echo "package: built $deb" >&2
echo "$deb"
