#!/usr/bin/env bash
# Installs every Debian 12 package the build, the server, the tests and the
# benchmark (python3 formats its table) need.
# Idempotent: skips apt entirely when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ccache
  libpistache-dev rapidjson-dev libssl-dev
  libboost-dev libboost-filesystem-dev
  libtomlplusplus-dev nlohmann-json3-dev
  libpqxx-dev libpq-dev libhiredis-dev libcurl4-openssl-dev libjemalloc-dev
  libsqlite3-dev libhnswlib-dev
  libgtest-dev libgmock-dev
  redis-server postgresql
  curl procps python3
)
# The pgvector tests run PGlite under Node.js (npm): Debian's nodejs/npm unless
# a node is already on the PATH.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
