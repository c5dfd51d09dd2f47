#!/usr/bin/env bash
# Installs what building, testing, the demo and the benchmark need, on Debian 12
# with PostgreSQL 15.  Run as root (or with sudo); does nothing for packages
# already installed.
set -euo pipefail

PACKAGES=(
  build-essential
  postgresql-15                # server, pgbench, pg_stat_statements
  postgresql-server-dev-15     # PGXS, server headers, pg_regress, TAP modules
  libpq-dev
  libcmocka-dev                # unit tests
  libipc-run-perl              # TAP tests
  valgrind                     # benchmark: instruction counts
  postgresql-15-hypopg         # try_index(hypothetical => true)
  sqlsmith                     # random SQL against a server with pgperf
  "$@"
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo "$0" "$@"
  fi
  echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
