#!/usr/bin/env bash
# bench_concurrency.sh - what does pgperf cost under concurrency, next to
# pg_stat_statements?  pgbench select-only, prepared, with 1, 2, 4 and 8
# clients, against one server restarted in three configurations.
#
# Usage (as root, from anywhere):
#   scripts/bench_concurrency.sh [--quick] [options]
#
#   --quick            validation run: ROUNDS=1 DURATION=3 WARMUP=1 SCALE=1
#                      SHARED_BUFFERS=64MB (figures not to be trusted)
#   --rounds N         interleaved rounds                        (ROUNDS, default 3)
#   --duration S       seconds per measured pgbench run          (DURATION, default 10)
#   --warmup S         seconds of unmeasured pgbench after each
#                      restart                                   (WARMUP, default 5)
#   --clients LIST     client counts, comma-separated           (CLIENTS, default 1,2,4,8)
#   --scale N          pgbench scale factor                      (SCALE, default 10)
#   --shared-buffers X shared_buffers                            (SHARED_BUFFERS, default 256MB)
#   --no-setup         do not run scripts/setup.sh               (SETUP=0)
#   --no-build         do not build and install pgperf           (BUILD=0)
#   --out DIR          where results go   (OUT, default bench-results/<timestamp>-concurrency[-quick])
#   -h, --help         this text
# Environment: PGBIN (default /usr/lib/postgresql/15/bin; the build installs
# pgperf with its pg_config), PORT (default: a free one).  Options are applied
# left to right, after the environment.  Example of a fuller run:
#   ROUNDS=5 DURATION=20 scripts/bench_concurrency.sh
# Duration: about ROUNDS x 3 x (WARMUP + 4 x DURATION + 5) s; the defaults
# take about 8 minutes.  Needs the machine to itself: the figures of a shared
# machine say little (the summary shows the load average and CPU steal).
#
# What it does (conventions of scripts/bench.sh):
#  1. scripts/setup.sh, then make && make install of pgperf.
#  2. One throwaway cluster (initdb in a mktemp dir owned by postgres, unix
#     socket in that dir, no TCP), pgbench -i at SCALE (fits in
#     shared_buffers); all three extensions created.  Three configurations,
#     by restarting it with a different shared_preload_libraries only:
#       none    - no preload
#       pgss    - pg_stat_statements, its defaults
#       pgperf  - pgperf, its defaults
#  3. For each round, for each configuration (order rotated per round):
#     restart, pg_prewarm of the pgbench relations, WARMUP s of pgbench at the
#     largest client count (unmeasured), then for each client count DURATION
#     s of `pgbench -S -M prepared -c N -j min(N, nproc)`; TPS excludes
#     connection time.  After each configuration's runs, a check that the
#     extension counted the pgbench statement.
#  4. Markdown summary on stdout and in $OUT/summary.md: median TPS per
#     configuration and client count; ratios pgss/none, pgperf/none and
#     pgperf/pgss (the median of the per-round ratios: each round's
#     configurations ran minutes apart, so drift of the machine cancels);
#     scaling (TPS at N clients / TPS at 1 client).  Raw figures in
#     $OUT/pgbench.csv, pgbench outputs in $OUT/pgbench-logs/.
# Exit status: 0 when the benchmark ran, 1 when a check failed (an extension
# not loaded, a statement not counted, pgbench errors), 2 on a usage error.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-5}
CLIENTS=${CLIENTS:-1,2,4,8}
SCALE=${SCALE:-10}
SHARED_BUFFERS=${SHARED_BUFFERS:-256MB}
SETUP=${SETUP:-1}
BUILD=${BUILD:-1}
OUT=${OUT:-}
MODE=${MODE:-concurrency}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
		--quick) MODE=concurrency-quick; ROUNDS=1; DURATION=3; WARMUP=1; SCALE=1; SHARED_BUFFERS=64MB ;;
		--rounds) ROUNDS=$2; shift ;;
		--duration) DURATION=$2; shift ;;
		--warmup) WARMUP=$2; shift ;;
		--clients) CLIENTS=$2; shift ;;
		--scale) SCALE=$2; shift ;;
		--shared-buffers) SHARED_BUFFERS=$2; shift ;;
		--no-setup) SETUP=0 ;;
		--no-build) BUILD=0 ;;
		--out) OUT=$2; shift ;;
		-h|--help) usage; exit 0 ;;
		*) echo "bench_concurrency.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in ROUNDS DURATION WARMUP SCALE; do
	[[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench_concurrency.sh: $v must be a whole number" >&2; exit 2; }
done
[ "$ROUNDS" -ge 1 ] && [ "$DURATION" -ge 1 ] || { echo "bench_concurrency.sh: ROUNDS and DURATION must be at least 1" >&2; exit 2; }
read -r -a CLIENT_COUNTS <<<"${CLIENTS//,/ }"
[ "${#CLIENT_COUNTS[@]}" -ge 1 ] || { echo "bench_concurrency.sh: no client counts" >&2; exit 2; }
for c in "${CLIENT_COUNTS[@]}"; do
	[[ $c =~ ^[1-9][0-9]*$ ]] || { echo "bench_concurrency.sh: client count '$c' is not a positive number" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench_concurrency.sh: run as root (servers run as postgres via runuser)" >&2; exit 2; }

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------
# 1. packages, build
if [ "$SETUP" = 1 ]; then
	log "setup: scripts/setup.sh"
	"$REPO/scripts/setup.sh"
fi
SRC_STATE="commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
git -C "$REPO" diff --quiet HEAD -- src Makefile 2>/dev/null || SRC_STATE="$SRC_STATE + uncommitted changes in src/"
if [ "$BUILD" = 1 ]; then
	log "build: make -s && make -s install ($SRC_STATE, PG_CONFIG=$PGBIN/pg_config)"
	(cd "$REPO" && make -s PG_CONFIG="$PGBIN/pg_config" && make -s install PG_CONFIG="$PGBIN/pg_config")
else
	SRC_STATE="installed module, not rebuilt (tree at $SRC_STATE)"
fi
for b in initdb pg_ctl postgres psql pgbench pg_config; do
	[ -x "$PGBIN/$b" ] || die "$PGBIN/$b not found (run scripts/setup.sh)"
done
PGPERF_SO=$("$PGBIN/pg_config" --pkglibdir)/pgperf.so
[ -f "$PGPERF_SO" ] || die "$PGPERF_SO not installed (run without --no-build)"
SO_SUM=$(md5sum "$PGPERF_SO" | cut -c1-12)

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$REPO/bench-results/$STAMP-$MODE}
mkdir -p "$OUT/pgbench-logs"
OUT=$(cd "$OUT" && pwd)

# ---------------------------------------------------------------------------
# 2. the cluster
TMP=$(mktemp -d /tmp/pgperf-benchc.XXXXXX)
chown postgres: "$TMP"
chmod 700 "$TMP"
DATA=$TMP/data
SERVER_LOG=$TMP/server.log
RUNNING=0

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$RUNNING" = 1 ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -f "$SERVER_LOG" ] && [ -d "$OUT" ]; then
		cp "$SERVER_LOG" "$OUT/server.log" 2>/dev/null || true
	fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg() { runuser -u postgres -- "$@"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${PORT:-}
if [ -z "$PORT" ]; then
	for _ in $(seq 50); do
		PORT=$((20000 + RANDOM % 40000))
		port_in_use "$PORT" || break
	done
fi

PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres)
sql() { "${PSQL[@]}" -d bench -Atc "$1"; }

CONFIGS=(none pgss pgperf)
preload_of() {
	case "$1" in
		none) echo "" ;;
		pgss) echo "pg_stat_statements" ;;
		pgperf) echo "pgperf" ;;
	esac
}
write_config() {
	{
		echo "# written by bench_concurrency.sh: configuration $1"
		echo "shared_preload_libraries = '$(preload_of "$1")'"
	} >"$DATA/bench_config.conf"
	chown postgres: "$DATA/bench_config.conf"
}
pg_start() {
	write_config "$1"
	as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$SERVER_LOG" -w -t 300 start >/dev/null ||
		{ tail -20 "$SERVER_LOG" >&2; die "server did not start ($1)"; }
	RUNNING=1
	local spl
	spl=$("${PSQL[@]}" -d postgres -Atc "SHOW shared_preload_libraries")
	[ "$spl" = "$(preload_of "$1")" ] || die "config $1: shared_preload_libraries is '$spl'"
}
pg_stop() {
	if [ "$RUNNING" = 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null
		RUNNING=0
	fi
}

MAX_CLIENTS=$(printf '%s\n' "${CLIENT_COUNTS[@]}" | sort -n | tail -1)
log "cluster: $DATA (socket $TMP, port $PORT), results in $OUT"
as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 ||
	{ cat "$TMP/initdb.log" >&2; die "initdb failed"; }
cat >>"$DATA/postgresql.conf" <<EOF

# ---- bench_concurrency.sh: identical in every configuration ----
listen_addresses = ''
port = $PORT
unix_socket_directories = '$TMP'
shared_buffers = $SHARED_BUFFERS
huge_pages = off
max_connections = $((MAX_CLIENTS + 10))
max_parallel_workers_per_gather = 0
jit = off
autovacuum = off
# the one line that differs: shared_preload_libraries
include = 'bench_config.conf'
EOF
COMMON_SETTINGS=$(sed -n '/---- bench_concurrency.sh/,$p' "$DATA/postgresql.conf" | grep -v '^#' | grep -v '^$' | grep -v include | sed "s|$TMP|<tmpdir>|")

pg_start none
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
log "pgbench -i -s $SCALE"
"$PGBIN/pgbench" -i -q -s "$SCALE" -h "$TMP" -p "$PORT" -U postgres bench >"$TMP/init.log" 2>&1 ||
	{ cat "$TMP/init.log" >&2; die "pgbench -i failed"; }
for s in "CREATE EXTENSION pg_stat_statements" "CREATE EXTENSION pgperf" "CREATE EXTENSION pg_prewarm" "VACUUM ANALYZE" "CHECKPOINT"; do sql "$s"; done
DB_SIZE=$(sql "SELECT pg_size_pretty(sum(pg_relation_size(oid))) FROM pg_class WHERE relname LIKE 'pgbench\_%'")
log "pgbench relations: $DB_SIZE (shared_buffers $SHARED_BUFFERS)"
PREWARM_SQL="SELECT sum(pg_prewarm(oid)) FROM pg_class WHERE relname LIKE 'pgbench\_%' AND relkind IN ('r', 'i')"

# ---------------------------------------------------------------------------
# 3. pgbench, interleaved
NPROC=$(nproc)
jobs_for() { echo $(($1 < NPROC ? $1 : NPROC)); }

# run_pgbench CLIENTS SECONDS LOGFILE: prints "tps latency_ms"
run_pgbench() {
	"$PGBIN/pgbench" -n -S -M prepared -c "$1" -j "$(jobs_for "$1")" -T "$2" \
		-h "$TMP" -p "$PORT" -U postgres bench >"$3" 2>&1 ||
		{ cat "$3" >&2; die "pgbench failed ($1 clients)"; }
	local tps lat failed
	tps=$(awk '/^tps = .*without initial connection time/ {print $3}' "$3")
	lat=$(awk '/^latency average/ {print $4}' "$3")
	failed=$(awk '/^number of failed transactions/ {print $5}' "$3")
	[ -n "$tps" ] || { cat "$3" >&2; die "no TPS in pgbench output ($1 clients)"; }
	[ -z "$failed" ] || [ "$failed" = 0 ] || die "pgbench reported $failed failed transactions ($1 clients)"
	echo "$tps ${lat:-nan}"
}
# counted CONFIG: how many executions of pgbench's SELECT the extension saw
counted() {
	case "$1" in
		none) echo "-" ;;
		pgss) sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE 'SELECT abalance FROM pgbench_accounts%'" ;;
		pgperf) sql "SELECT coalesce(sum(calls), 0) FROM pgperf.statements WHERE query LIKE 'SELECT abalance FROM pgbench_accounts%'" ;;
	esac
}
steal_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		na = split(a, x, " "); split(b, y, " ")
		for (i = 2; i <= na; i++) t += y[i] - x[i]
		printf "%.1f", (t > 0 && na >= 9) ? 100 * (y[9] - x[9]) / t : 0
	}'
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

RAW=$OUT/pgbench.csv
echo "round,config,position,clients,jobs,tps,latency_ms,loadavg_before,steal_pct" >"$RAW"
total=$((ROUNDS * ${#CONFIGS[@]} * ${#CLIENT_COUNTS[@]}))
i=0
for ((r = 0; r < ROUNDS; r++)); do
	for p in 0 1 2; do
		cfg=${CONFIGS[$(((r + p) % 3))]}
		pg_stop
		pg_start "$cfg"
		sql "$PREWARM_SQL" >/dev/null
		if [ "$WARMUP" -gt 0 ]; then
			run_pgbench "$MAX_CLIENTS" "$WARMUP" "$TMP/warmup.log" >/dev/null
		fi
		before=$(counted "$cfg")
		for c in "${CLIENT_COUNTS[@]}"; do
			i=$((i + 1))
			load=$(cut -d' ' -f1 /proc/loadavg)
			cpu0=$(head -1 /proc/stat)
			res=$(run_pgbench "$c" "$DURATION" "$OUT/pgbench-logs/r$((r + 1))-$cfg-c$c.log")
			steal=$(steal_pct "$cpu0" "$(head -1 /proc/stat)")
			read -r tps lat <<<"$res"
			echo "$((r + 1)),$cfg,$((p + 1)),$c,$(jobs_for "$c"),$tps,$lat,$load,$steal" >>"$RAW"
			log "[$i/$total] round $((r + 1)) $cfg, $c client(s): $tps tps ($lat ms; load average before $load, CPU steal $steal%)"
		done
		after=$(counted "$cfg")
		if [ "$cfg" != none ]; then
			[ "$((after - before))" -gt 0 ] || die "config $cfg: the extension did not count pgbench's SELECT ($before -> $after)"
		fi
	done
done
pg_stop

[ "$(md5sum "$PGPERF_SO" | cut -c1-12)" = "$SO_SUM" ] ||
	die "$PGPERF_SO was replaced during the run: the figures mix two builds"

# ---------------------------------------------------------------------------
# 4. summary
# med CONFIG CLIENTS: median TPS
med() { awk -F, -v c="$1" -v n="$2" 'NR>1 && $2==c && $4==n {print $6}' "$RAW" | median; }
# ratio A B CLIENTS: median over the rounds of TPS(A) / TPS(B)
ratio() {
	awk -F, -v a="$1" -v b="$2" -v n="$3" 'NR>1 && $4==n {t[$1","$2]=$6; r[$1]=1}
		END {for (k in r) if (t[k","b] > 0 && t[k","a] != "") print t[k","a] / t[k","b]}' "$RAW" | median
}
{
	echo "## pgperf overhead under concurrency ($MODE run, $(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "- pgperf: $SRC_STATE (pgperf.so md5 $SO_SUM...); $("$PGBIN/postgres" --version)"
	echo "- machine: $NPROC CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
	echo "- settings identical in every configuration: $(echo "$COMMON_SETTINGS" | sed 's/ = /=/' | paste -sd ';' | sed 's/;/, /g')"
	echo "- configurations differ only in shared_preload_libraries (extensions' own defaults); pgbench scale $SCALE, relations $DB_SIZE"
	echo "- workload: pgbench -S -M prepared (select-only, prepared), -j min(clients, $NPROC); $DURATION s per run; after each restart pg_prewarm and $WARMUP s at $MAX_CLIENTS clients, unmeasured"
	echo "- $ROUNDS round(s); configurations interleaved, order rotated per round; TPS excludes connection time"
	echo "- load average before the measured runs: $(awk -F, 'NR>1 {print $8}' "$RAW" | sort -g | awk '{a[NR]=$1} END {printf "min %s, median %s, max %s", a[1], a[int((NR+1)/2)], a[NR]}') (the benchmark itself accounts for up to $NPROC);"
	echo "  CPU steal during them: $(awk -F, 'NR>1 {print $9}' "$RAW" | sort -g | awk '{a[NR]=$1} END {printf "min %s%%, median %s%%, max %s%%", a[1], a[int((NR+1)/2)], a[NR]}')"
	echo
	echo "### Median TPS, and ratios (median of the per-round ratios)"
	echo
	echo "| clients | none | pg_stat_statements | pgperf | pgss / none | pgperf / none | pgperf / pgss |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	for c in "${CLIENT_COUNTS[@]}"; do
		printf '| %s | %.0f | %.0f | %.0f | %.3f | %.3f | %.3f |\n' "$c" \
			"$(med none "$c")" "$(med pgss "$c")" "$(med pgperf "$c")" \
			"$(ratio pgss none "$c")" "$(ratio pgperf none "$c")" "$(ratio pgperf pgss "$c")"
	done
	echo
	echo "### Scaling: median TPS at N clients / median TPS at ${CLIENT_COUNTS[0]} client(s)"
	echo
	printf '| configuration |'; for c in "${CLIENT_COUNTS[@]}"; do printf ' %s |' "$c"; done; echo
	printf '|---|'; for _ in "${CLIENT_COUNTS[@]}"; do printf -- '---:|'; done; echo
	for cfg in "${CONFIGS[@]}"; do
		base=$(med "$cfg" "${CLIENT_COUNTS[0]}")
		printf '| %s |' "$cfg"
		for c in "${CLIENT_COUNTS[@]}"; do
			printf ' %.2f |' "$(awk -v a="$(med "$cfg" "$c")" -v b="$base" 'BEGIN {print (b > 0) ? a / b : 0}')"
		done
		echo
	done
	echo
	echo "### Per round (TPS)"
	echo
	echo "| round | clients | none | pg_stat_statements | pgperf | pgperf / pgss |"
	echo "|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR>1 {t[$1","$4","$2]=$6; if (!(($1","$4) in seen)) {seen[$1","$4]=1; k[++n]=$1","$4}}
		END {for (i=1; i<=n; i++) {split(k[i], a, ",");
			printf "| %s | %s | %.0f | %.0f | %.0f | %.3f |\n", a[1], a[2], t[k[i]",none"], t[k[i]",pgss"], t[k[i]",pgperf"],
				(t[k[i]",pgss"] > 0) ? t[k[i]",pgperf"] / t[k[i]",pgss"] : 0}}' "$RAW" | sort -t'|' -k2,2n -k3,3n
} >"$OUT/summary.md"
{
	echo "ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CLIENTS=$CLIENTS SCALE=$SCALE"
	echo "SHARED_BUFFERS=$SHARED_BUFFERS MODE=$MODE PORT=$PORT PGBIN=$PGBIN"
} >"$OUT/parameters.txt"

echo
cat "$OUT/summary.md"
echo
log "results: $OUT"
