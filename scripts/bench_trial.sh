#!/usr/bin/env bash
# How long pgperf.try_index() takes on the BookWyrm case, with the default
# runs (5): the issue's target is under 60 s on a 2-core machine.
#
#   sudo bash scripts/bench_trial.sh          (SCALE=1: 400,000 statuses; ROUNDS=3)
#
# On a throwaway server (removed on exit): loads test/data/bookwyrm.sql,
# resets pgperf, runs the timeline workload (test/data/bookwyrm_timeline.sql,
# 50 calls), then times ROUNDS trials of the index from the real case
# (test/data/bookwyrm_index.sql), and prints each trial's wall time, the
# timeline query's verdict, plan change and blocks per run.  pgperf must be
# installed (scripts/test.sh or make install).
set -euo pipefail

SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-3}
PGBIN=/usr/lib/postgresql/15/bin
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=$PGBIN:$PATH

case "$SCALE$ROUNDS" in
  *[!0-9]*|'') echo "bench_trial.sh: SCALE and ROUNDS must be positive integers" >&2; exit 1 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "bench_trial.sh: run as root: the server runs as the postgres user" >&2
  exit 1
fi

TMP=$(mktemp -d /tmp/pgperf-trial.XXXXXX)
cleanup() {
  if [ -f "$TMP/data/postmaster.pid" ]; then
    runuser -u postgres -- pg_ctl -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
chown postgres: "$TMP"

runuser -u postgres -- initdb -D "$TMP/data" -U postgres -A trust -E UTF8 --no-locale \
  --no-sync >/dev/null
cat >> "$TMP/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$TMP'
shared_preload_libraries = 'pgperf'
shared_buffers = 256MB
max_parallel_workers_per_gather = 0
jit = off
autovacuum = off
max_wal_size = 4GB
EOF
runuser -u postgres -- pg_ctl -D "$TMP/data" -l "$TMP/server.log" -w start >/dev/null

psql=(runuser -u postgres -- psql -X -q -h "$TMP" -U postgres -d postgres -v ON_ERROR_STOP=1)
"${psql[@]}" -c 'CREATE EXTENSION pgperf'
"${psql[@]}" -v scale="$SCALE" -f "$ROOT/test/data/bookwyrm.sql" >/dev/null
"${psql[@]}" -c 'SELECT pgperf.reset()' >/dev/null
runuser -u postgres -- pgbench -n -M prepared -h "$TMP" -U postgres -s "$SCALE" -t 50 \
  -f "$ROOT/test/data/bookwyrm_timeline.sql" postgres >/dev/null
ddl=$(grep -v '^--' "$ROOT/test/data/bookwyrm_index.sql" | tr '\n' ' ' | sed 's/;.*//')

echo "try_index on the BookWyrm case (scale $SCALE), default runs, $ROUNDS rounds"
for r in $(seq 1 "$ROUNDS"); do
  start=$(date +%s.%N)
  row=$("${psql[@]}" -At -c "SET client_min_messages = warning" -c "
    SELECT verdict || ', plan changed: ' || plan_changed || ', blocks per run '
           || blks_before || ' -> ' || blks_after || ', median '
           || round(ms_before::numeric, 1) || ' -> ' || round(ms_after::numeric, 1) || ' ms'
      FROM pgperf.try_index(\$\$$ddl\$\$)
     WHERE query LIKE '%FROM bookwyrm_status s%'")
  end=$(date +%s.%N)
  printf 'round %d: %.2f s  (timeline query: %s)\n' "$r" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$row"
done
