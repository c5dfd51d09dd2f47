#!/usr/bin/env bash
# Runs every pgperf test: unit tests of src/core (cmocka), then pg_regress,
# isolation and TAP tests against throwaway servers that preload pgperf.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh unit       # only the cmocka tests
#   bash scripts/test.sh server     # only pg_regress, isolation and TAP
#
# As root (a fresh Debian 12 machine, or CI) it installs what it needs, builds
# and installs pgperf, and runs the server tests as the postgres user in a
# copy of the tree that user owns (initdb and postgres refuse to run as root).
# As another user it expects the packages installed and `make install` done.
set -euo pipefail

what=${1:-all}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -eq 0 ]; then
  bash "$here/scripts/setup.sh"
fi
export PATH="/usr/lib/postgresql/15/bin:$PATH"

echo "== build"
make -C "$here" -s
if [ "$(id -u)" -eq 0 ]; then
  make -C "$here" -s install
fi

if [ "$what" = all ] || [ "$what" = unit ]; then
  echo "== unit tests (src/core)"
  make -C "$here" -s unittest
fi

if [ "$what" = all ] || [ "$what" = server ]; then
  echo "== pg_regress, isolation and TAP tests"
  rm -rf "$here/results" "$here/output_iso" "$here/tmp_check" "$here/tmp_check_iso" "$here/regression.diffs"
  if [ "$(id -u)" -eq 0 ]; then
    work=$(mktemp -d /tmp/pgperf-test.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    # the tree, without earlier results, owned by the user that runs servers
    tar -C "$here" --exclude=.git --exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./results \
        --exclude=./output_iso -cf - . | tar -C "$work" -xf -
    chown -R postgres "$work"
    run=(runuser -u postgres --)
  else
    work=$here
    run=()
  fi
  if ! (cd "$work" && "${run[@]}" make -s installcheck); then
    for f in "$work"/regression.diffs "$work"/output_iso/regression.diffs; do
      [ -f "$f" ] && { echo "---- $f"; cat "$f"; }
    done
    for f in "$work"/tmp_check/log/regress_log_*; do
      [ -f "$f" ] && grep -q "not ok\|Bail out\|died" "$f" && { echo "---- $f"; tail -n 60 "$f"; }
    done
    if [ "$work" != "$here" ]; then
      # keep the evidence where the developer looks for it (git-ignored)
      rm -rf "$here/results" "$here/output_iso" "$here/tmp_check"
      for d in results output_iso tmp_check; do
        [ -d "$work/$d" ] && cp -r "$work/$d" "$here/$d"
      done
      [ -f "$work/regression.diffs" ] && cp "$work/regression.diffs" "$here/"
    fi
    echo "FAILED (see results/, output_iso/, tmp_check/log/)" >&2
    exit 1
  fi
fi
echo "== all tests passed"
