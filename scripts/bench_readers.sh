#!/usr/bin/env bash
# bench_readers.sh - do readers of pgperf's statistics slow down the sessions
# that create new entries?
#
# Usage (as root): scripts/bench_readers.sh [ENTRIES] [ROUNDS]
#   ENTRIES  statistics entries the readers read (default 5000)
#   ROUNDS   interleaved rounds, each with and without readers (default 6)
#
# A throwaway cluster with pgperf (pgperf.track = all) is filled with ENTRIES
# distinct statements.  Then, in interleaved rounds, a writer session runs 200
# statements pgperf has never seen (each one creates an entry, under pgperf's
# exclusive lock) and its time is measured, once while 4 sessions read
# pgperf.statements in a loop, and once with no reader.  Target: the writer is
# slowed no more than 2x by the readers (issue #12).  Prints the median time of
# each and their ratio.  Timings vary on a busy machine: read the ratio of the
# medians, and run more rounds when they are close.
set -euo pipefail

ENTRIES=${1:-5000}
ROUNDS=${2:-6}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
as_pg() { runuser -u postgres -- "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
bash "$REPO/scripts/setup.sh"
(cd "$REPO" && make -s && make -s install)

DIR=$(mktemp -d /tmp/pgperf-readers.XXXXXX)
chown postgres "$DIR"
PORT=5491
cleanup() {
	as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$DIR/data" --encoding=UTF8 --no-locale >/dev/null
cat >>"$DIR/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pgperf'
pgperf.track = 'all'
pgperf.max = $((ENTRIES * 3))
pgperf.text_area_size = 64MB
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $PORT
CONF
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null
psql_() { as_pg "$PGBIN/psql" -X -q -At -h "$DIR" -p $PORT -d postgres "$@"; }
psql_ -c 'CREATE EXTENSION pgperf'
# statement number i: SELECT with i / 100 + 1 columns FROM a VALUES list of
# i % 100 + 1 rows ("kind" tells the filling ones from the writer's)
psql_ -c "CREATE FUNCTION stmt(kind int, i int) RETURNS text LANGUAGE sql AS
          \$\$SELECT 'SELECT ' || repeat(kind || ',', i / 100) || kind ||
                   ' FROM (VALUES ' || repeat('(1),', i % 100) || '(1)) v'\$\$"
psql_ -c "DO \$\$ BEGIN FOR i IN 1..$ENTRIES LOOP EXECUTE stmt(1, i); END LOOP; END \$\$"
echo "entries: $(psql_ -c 'SELECT entries FROM pgperf.info')"

next=0
# writer: 200 statements never seen before; prints its time in ms
writer() {
	local from=$((next * 200 + 1)) to=$((next * 200 + 200))
	next=$((next + 1))
	psql_ -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN
	            FOR i IN $from..$to LOOP
	              EXECUTE stmt(2, i);
	            END LOOP;
	            RAISE NOTICE '%', extract(epoch FROM clock_timestamp() - t) * 1000;
	          END \$\$" 2>&1 | sed -n 's/.*NOTICE: *//p'
}
readers_on() {
	for r in 1 2 3 4; do
		( while :; do psql_ -c 'SELECT count(*) FROM pgperf.statements' >/dev/null || exit; done ) &
	done
	sleep 1
}
readers_off() { jobs -p | xargs -r kill 2>/dev/null || true; wait 2>/dev/null || true; }

with=() without=()
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then
		readers_on; with+=("$(writer)"); readers_off
		without+=("$(writer)")
	else
		without+=("$(writer)")
		readers_on; with+=("$(writer)"); readers_off
	fi
	echo "round $round: with readers ${with[-1]} ms, without ${without[-1]} ms"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mw=$(median "${with[@]}")
mo=$(median "${without[@]}")
echo "median time of 200 new statements: ${mo} ms without readers, ${mw} ms with 4 readers looping on pgperf.statements ($ENTRIES entries)"
awk -v a="$mw" -v b="$mo" 'BEGIN {r = a / b; printf "ratio: %.2fx (target <= 2x): %s\n", r, r <= 2 ? "PASS" : "FAIL"}'
