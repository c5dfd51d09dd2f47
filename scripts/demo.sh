#!/usr/bin/env bash
# pgperf demo: an index changes a query's plan, and pgperf shows both plans.
#
#   sudo scripts/demo.sh               (Debian 12, PostgreSQL 15; ~30 s once the
#                                       packages are installed)
#   sudo scripts/demo.sh --major 18    (PostgreSQL 17, 18 or 19 in a chroot made
#                                       by scripts/ci/chroot.sh: ~3 min the first
#                                       time, cached in $PGPERF_CACHE after)
#
# What it does, on a throwaway server that it removes again on exit:
#   1. installs the packages (scripts/setup.sh), builds and installs pgperf;
#   2. starts PostgreSQL (15, or --major's) with shared_preload_libraries = 'pgperf' in a temp
#      directory (unix socket only, a free port), creates the extension;
#   3. loads a BookWyrm-like database (test/data/bookwyrm.sql: 400,000
#      statuses, almost all of them tombstones of deleted spam);
#   4. runs BookWyrm's home-timeline query with pgbench, a random viewer each
#      time (test/data/bookwyrm_timeline.sql);
#   5. creates the index from the real case this demo is built on
#      (test/data/bookwyrm_index.sql);
#   6. runs the same workload again;
#   7. shows what pgperf recorded: one statement, two plans (two planids),
#      with calls, latency and shared buffers per call for each, the window
#      the index opened, the plan diff, and ends on pgperf.compare(): the
#      statement improved, its plan changed, the reason naming the index.
#
# Environment: SCALE (default 1), CALLS per client and run (default 250).
set -euo pipefail

SCALE=${SCALE:-1}
CALLS=${CALLS:-250}
CLIENTS=2
MAJOR=15
while [ $# -gt 0 ]; do
  case $1 in
    --major) MAJOR=${2:-}; shift 2 || shift ;;
    --major=*) MAJOR=${1#--major=}; shift ;;
    *) echo "usage: demo.sh [--major 15|17|18|19]" >&2; exit 2 ;;
  esac
done
case $MAJOR in
  15|17|18|19) ;;
  *) echo "demo.sh: --major takes 15, 17, 18 or 19" >&2; exit 2 ;;
esac
PGBIN=/usr/lib/postgresql/$MAJOR/bin
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=$ROOT/test/data
# psql, pgbench, createdb of that major itself, not the pg_wrapper choice
export PATH=$PGBIN:$PATH

case "$SCALE$CALLS" in
  *[!0-9]*|'') echo "demo.sh: SCALE and CALLS must be positive integers" >&2; exit 1 ;;
esac
if [ "$SCALE" -lt 1 ] || [ "$CALLS" -lt 1 ]; then
  echo "demo.sh: SCALE and CALLS must be positive integers" >&2; exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (sudo $0): it installs packages and the extension" >&2
  exit 1
fi

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }

# --- 1. packages, build, install -------------------------------------------
if [ "$MAJOR" != 15 ] && [ -z "${PGPERF_DEMO_CHROOT:-}" ]; then
  # the same demo, run again inside the chroot of that major
  say "PostgreSQL $MAJOR: making (or reusing) its chroot (scripts/ci/chroot.sh)"
  bash "$ROOT/scripts/setup.sh" >/dev/null
  bash "$ROOT/scripts/ci/chroot.sh" "$MAJOR" >&2
  chroot_dir=${PGPERF_CACHE:-/var/cache/pgperf}/chroot-$MAJOR
  rm -rf "$chroot_dir/build/pgperf-demo"
  mkdir -p "$chroot_dir/build/pgperf-demo"
  tar -C "$ROOT" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
      --exclude=./tmp_check --exclude=./results --exclude=./test-output -cf - . \
    | tar -C "$chroot_dir/build/pgperf-demo" -xf -
  exec bash "$ROOT/scripts/ci/chroot.sh" "$MAJOR" run env PGPERF_DEMO_CHROOT=1 \
    SCALE="$SCALE" CALLS="$CALLS" bash /build/pgperf-demo/scripts/demo.sh --major "$MAJOR"
fi
if [ -z "${PGPERF_DEMO_CHROOT:-}" ]; then
  say "Installing build dependencies (scripts/setup.sh)"
  bash "$ROOT/scripts/setup.sh"
fi

say "Building and installing pgperf"
make -s -C "$ROOT" PG_CONFIG=$PGBIN/pg_config
make -s -C "$ROOT" PG_CONFIG=$PGBIN/pg_config install
note "installed $($PGBIN/pg_config --pkglibdir)/pgperf.so"

# --- 2. a throwaway server ---------------------------------------------------
TMP=$(mktemp -d /tmp/pgperf-demo.XXXXXX)
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -f "$TMP/server.log" ]; then
    echo "demo.sh: failed (exit $rc); last lines of the server log:" >&2
    tail -n 20 "$TMP/server.log" >&2 || true
  fi
  if [ -f "$TMP/data/postmaster.pid" ]; then
    runuser -u postgres -- $PGBIN/pg_ctl -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chown postgres: "$TMP"

# A port nobody listens on (the server itself only opens a unix socket in
# $TMP, but the port number also names that socket and seeds IPC keys).
PORT=
for p in $(seq 54330 54429); do
  if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ] \
     && [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ]; then
    PORT=$p
    break
  fi
done
[ -n "$PORT" ] || { echo "demo.sh: no free port in 54330-54429" >&2; exit 1; }

say "Starting a throwaway PostgreSQL $MAJOR in $TMP (port $PORT)"
runuser -u postgres -- $PGBIN/initdb -D "$TMP/data" -U postgres -A trust \
  -E UTF8 --no-locale --no-sync >/dev/null
cat >> "$TMP/data/postgresql.conf" <<EOF

# --- pgperf demo ---
listen_addresses = ''
unix_socket_directories = '$TMP'
port = $PORT
shared_preload_libraries = 'pgperf'
pgperf.track = top
# the whole database (~90 MB) fits: the workload reads from shared buffers,
# so the per-call numbers measure the plan, not the disk
shared_buffers = 256MB
max_connections = 20
# one plan shape per plan: with 2 cores and 2 pgbench clients, parallel
# workers would only compete for the CPUs, and the planner's choice to use
# them varies with the viewer's number of blocks
max_parallel_workers_per_gather = 0
jit = off
# throwaway data: no durability needed, faster load
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
autovacuum = off
EOF
runuser -u postgres -- $PGBIN/pg_ctl -D "$TMP/data" -l "$TMP/server.log" -w start >/dev/null
note "server log: $TMP/server.log"

export PGHOST=$TMP PGPORT=$PORT PGUSER=postgres
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d bookwyrm)
createdb bookwyrm
"${PSQL[@]}" -q -c "CREATE EXTENSION pgperf"
"${PSQL[@]}" -At -c "SHOW shared_preload_libraries" | sed 's/^/   shared_preload_libraries = /'

# --- 3. data -----------------------------------------------------------------
say "Loading the BookWyrm-like data (test/data/bookwyrm.sql, scale $SCALE)"
start=$(date +%s)
"${PSQL[@]}" -q -v scale="$SCALE" -f "$DATA/bookwyrm.sql"
"${PSQL[@]}" <<'SQL'
SELECT count(*) AS statuses,
       count(*) FILTER (WHERE deleted) AS tombstones,
       count(*) FILTER (WHERE NOT deleted AND privacy IN ('public','unlisted','followers')) AS timeline_candidates,
       pg_size_pretty(pg_relation_size('bookwyrm_status')) AS table_size,
       (SELECT count(*) FROM bookwyrm_user) AS users,
       (SELECT count(*) FROM bookwyrm_userblocks) AS blocks
FROM bookwyrm_status;
SQL
note "loaded in $(( $(date +%s) - start ))s"

# --- 4..6. workload, index, workload ----------------------------------------
run_workload() {
  # -M prepared: the statement is parsed once per client and executed with a
  # new random viewer each time; -n: no pgbench_* tables to vacuum
  if ! pgbench -n -M prepared -f "$DATA/bookwyrm_timeline.sql" -s "$SCALE" \
       -c $CLIENTS -j $CLIENTS -t "$CALLS" bookwyrm >"$TMP/pgbench.out" 2>&1; then
    cat "$TMP/pgbench.out" >&2
    exit 1
  fi
  grep -E '^(number of transactions actually processed|latency average|tps)' "$TMP/pgbench.out" \
    | sed 's/^/   pgbench: /'
}

"${PSQL[@]}" -q -c "SELECT pgperf.reset()" >/dev/null
say "Workload 1: the timeline query, $CLIENTS clients x $CALLS calls, no timeline index yet"
note "(pgperf.reset() first, so only the workload is recorded)"
run_workload

say "Creating the index from the real case (test/data/bookwyrm_index.sql)"
sed -n '/^CREATE INDEX/,/;/p' "$DATA/bookwyrm_index.sql" | sed 's/^/   /'
"${PSQL[@]}" -q -f "$DATA/bookwyrm_index.sql"
"${PSQL[@]}" -At -c "SELECT '   index size: ' || pg_size_pretty(pg_relation_size('bookwyrm_status_privacy_performance_idx'))"

say "Workload 2: the same $CLIENTS x $CALLS calls, with the index"
run_workload

# --- 7. what pgperf saw -------------------------------------------------------
say "pgperf.statements: the timeline query, one row per (statement, plan)"
note "Same queryid, two planids: pgperf split the statistics at the moment the"
note "plan changed.  'blocks/call' is shared buffers touched per execution."
"${PSQL[@]}" <<'SQL'
\pset null '-'
SELECT queryid, planid, calls,
       round(mean_exec_ms::numeric, 2) AS mean_ms,
       round(p50_ms::numeric, 2) AS p50_ms,
       round(p95_ms::numeric, 2) AS p95_ms,
       round((shared_blks_hit + shared_blks_read)::numeric / nullif(calls, 0)) AS "blocks/call",
       rows,
       to_char(first_seen, 'HH24:MI:SS') AS first_seen,
       to_char(last_seen, 'HH24:MI:SS') AS last_seen
FROM pgperf.statements
WHERE query LIKE '%FROM bookwyrm_status s%'
ORDER BY first_seen;
SQL

note "The statement text pgperf keeps (constants are \$n parameters):"
"${PSQL[@]}" -At <<'SQL' | sed 's/^/   | /'
SELECT query FROM pgperf.statements
WHERE query LIKE '%FROM bookwyrm_status s%' ORDER BY first_seen LIMIT 1;
SQL

say "pgperf.plans: the two plans of that statement, oldest first"
note "The plan text is EXPLAIN without costs, captured the first time pgperf"
note "saw each planid; sample_params are the values of one real execution."
"${PSQL[@]}" -At <<'SQL'
SELECT format(E'\n--- plan %s: planid %s, %s calls, first seen %s, sample_params %s\n%s',
              row_number() OVER (ORDER BY p.first_seen), p.planid, p.calls,
              to_char(p.first_seen, 'HH24:MI:SS'), coalesce(p.sample_params::text, '-'),
              regexp_replace(p.plan, '^', '    ', 'gn'))
FROM pgperf.plans p
WHERE p.queryid IN (SELECT queryid FROM pgperf.statements
                    WHERE query LIKE '%FROM bookwyrm_status s%')
ORDER BY p.first_seen;
SQL

say "pgperf.windows: the index opened a new window when it committed"
note "Executions count in the window current when they started; the window"
note "before is the reset, the one after is the CREATE INDEX."
"${PSQL[@]}" <<'SQL'
\pset null '-'
SELECT window_id, reason, label, to_char(started_at, 'HH24:MI:SS') AS started,
       coalesce(to_char(ended_at, 'HH24:MI:SS'), 'open') AS ended, detail
FROM pgperf.windows ORDER BY window_id;
SQL

say "pgperf.plan_diff(): what changed in the timeline query's plan"
"${PSQL[@]}" -At <<'SQL' | sed 's/^/   /'
SELECT pgperf.plan_diff(queryid)
FROM (SELECT DISTINCT queryid FROM pgperf.statements
      WHERE query LIKE '%FROM bookwyrm_status s%') q;
SQL

say "pgperf.info: the capture store"
"${PSQL[@]}" <<'SQL'
\x on
SELECT * FROM pgperf.info;
SQL

say "What did the index do?  SELECT * FROM pgperf.compare();"
note "compare() with no argument: the previous window against the current one,"
note "one row per statement, with a verdict and a reason a person can act on."
"${PSQL[@]}" <<'SQL'
\x on
\pset null '-'
SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 70) || '...' AS query,
       calls_before, calls_after, plan_changed,
       round(mean_ms_before::numeric, 2) AS mean_ms_before,
       round(mean_ms_after::numeric, 2) AS mean_ms_after,
       round(p95_ms_before::numeric, 2) AS p95_ms_before,
       round(p95_ms_after::numeric, 2) AS p95_ms_after,
       round(speedup::numeric, 1) AS speedup,
       round(blks_per_call_before::numeric) AS blks_per_call_before,
       round(blks_per_call_after::numeric) AS blks_per_call_after,
       p_value, verdict, reason
FROM pgperf.compare()
WHERE query LIKE '%FROM bookwyrm_status s%';
SQL

say "pgperf.report(): the same comparison, to read"
"${PSQL[@]}" -At -c "SELECT pgperf.report()" | sed 's/^/   /'

say "Stopping the server and removing $TMP"
