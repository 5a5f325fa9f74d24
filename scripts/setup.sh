#!/usr/bin/env bash
# Installs what credvault needs to build, test and benchmark on Debian bookworm.
# Idempotent; prints nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang libclang-rt-dev
  libpqxx-dev libsodium-dev libssl-dev libcli11-dev libspdlog-dev catch2
  libtomlplusplus-dev nlohmann-json3-dev libpg-query-dev
  postgresql postgresql-common postgresql-client pgbouncer openssl
  python3 python3-nacl python3-psycopg2 python3-cryptography
  python3-asyncpg python3-sqlalchemy python3-pytest python3-venv python3-setuptools python3-pip python3-wheel
  python3-uvloop python3-mypy
  time bc
  dpkg-dev lintian man-db bsdextrautils
  libp11-kit-dev softhsm2 opensc
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
