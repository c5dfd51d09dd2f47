#!/usr/bin/env bash
# An application's plan-regression gate with pgperf, as a pg_regress suite.
#
#   ./run.sh             run the suite; fails (and shows the diff) when a
#                        plan or a statement's shared blocks per call moved
#   ./run.sh --update    record the current plans as the new baseline.json
#
# Needs PostgreSQL 15, 17, 18 or 19 with pgperf installed (make install; the
# pg_config first in PATH picks the major), run as a user
# that may start a server (not root).  OUT_DIR (default ./out) holds results.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bindir=$(pg_config --bindir)
pgxs=$(dirname "$(pg_config --pgxs)")
out=${OUT_DIR:-$here/out}
export APP_DIR=${APP_DIR:-$here}

if [ "${1:-}" = --update ]; then
  # a throwaway server, the same schema and queries, then the baseline
  tmp=$(mktemp -d)
  trap '"$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  "$bindir/initdb" -D "$tmp/data" -A trust >/dev/null
  cat "$here/pgperf.conf" >> "$tmp/data/postgresql.conf"
  echo "listen_addresses = ''" >> "$tmp/data/postgresql.conf"
  "$bindir/pg_ctl" -D "$tmp/data" -o "-k $tmp -p 54399" -l "$tmp/log" -w start >/dev/null
  psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p 54399 -d postgres)
  "${psql[@]}" -c 'CREATE EXTENSION pgperf' -f "$APP_DIR/schema.sql"
  "${psql[@]}" -c 'SELECT pgperf.reset()' >/dev/null
  "${psql[@]}" -f "$APP_DIR/queries.sql" >/dev/null
  "${psql[@]}" -At -c 'SELECT jsonb_pretty(pgperf.baseline())' > "$APP_DIR/baseline.json"
  echo "wrote $APP_DIR/baseline.json"
  exit 0
fi

mkdir -p "$out"
"$pgxs/../test/regress/pg_regress" \
  --bindir="$bindir" --inputdir="$here" --outputdir="$out" \
  --temp-instance="$out/tmp_check" --temp-config="$here/pgperf.conf" \
  --load-extension=pgperf app_plans
