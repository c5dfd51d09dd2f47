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
#   --no-probe         skip the wait-event probe                 (PROBE=0)
#   --out DIR          where results go   (OUT, default bench-results/<timestamp>-concurrency[-quick])
#   -h, --help         this text
# Environment: PGBIN (default /usr/lib/postgresql/15/bin; the build installs
# pgperf with its pg_config), PORT (default: a free one).  Options are applied
# left to right, after the environment.  Example of a fuller run:
#   ROUNDS=5 DURATION=20 scripts/bench_concurrency.sh
# Duration: about ROUNDS x 3 x (WARMUP + 5 x DURATION + 5) s; the defaults
# take about 10 minutes.  Needs the machine to itself: the figures of a shared
# machine say little (the summary shows the load average and CPU steal).
#
# What it does (conventions of scripts/bench.sh):
#  1. scripts/setup.sh (and linux-perf, for the probe), then make && make
#     install of pgperf.
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
#     extension counted the pgbench statement, then a wait-event probe:
#     DURATION s more at the largest client count while another session
#     samples pg_stat_activity every 10 ms.  TPS on a small shared machine
#     varies by more than the extensions cost; the probe shows directly
#     whether backends queue on the extension's LWLock or spin on its
#     spinlocks (lock contention would be the cost that grows with clients).
#  4. Markdown summary on stdout and in $OUT/summary.md: median TPS per
#     configuration and client count; ratios pgss/none, pgperf/none and
#     pgperf/pgss (the median of the per-round ratios: each round's
#     configurations ran minutes apart, so drift of the machine cancels);
#     scaling (TPS at N clients / TPS at 1 client); the probe's samples.
#     Raw figures in $OUT/pgbench.csv and $OUT/waits.csv, pgbench outputs in
#     $OUT/pgbench-logs/.
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
PROBE=${PROBE:-1}
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
		--no-probe) PROBE=0 ;;
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

. "$REPO/scripts/bench/lib.sh"

# ---------------------------------------------------------------------------
# 1. packages, build; 2. the cluster
bench_build linux-perf
bench_outdir
mkdir -p "$OUT/pgbench-logs"
MAX_CLIENTS=$(printf '%s\n' "${CLIENT_COUNTS[@]}" | sort -n | tail -1)
bench_cluster "$SCALE" "$SHARED_BUFFERS" $((MAX_CLIENTS + 10))

# ---------------------------------------------------------------------------
# 3. pgbench, interleaved
NPROC=$(nproc)
jobs_for() { echo $(($1 < NPROC ? $1 : NPROC)); }

# run_pgbench CLIENTS SECONDS LOGFILE: prints "tps latency_ms"
run_pgbench() {
	bench_pgbench "$1 clients" "$3" -S -M prepared -c "$1" -j "$(jobs_for "$1")" -T "$2"
}
# counted CONFIG: how many executions of pgbench's SELECT the extension saw
counted() {
	case "$1" in
		none) echo "-" ;;
		pgss) sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE 'SELECT abalance FROM pgbench_accounts%'" ;;
		pgperf) sql "SELECT coalesce(sum(calls), 0) FROM pgperf.statements WHERE query LIKE 'SELECT abalance FROM pgbench_accounts%'" ;;
	esac
}
# probe CONFIG ROUND: DURATION s of pgbench at the largest client count,
# unmeasured, while
#  - another session samples pg_stat_activity every 10 ms: where were
#    pgbench's backends?  Running (no wait event), waiting for the client,
#    queued on the extension's own LWLock ("pgperf" or "pg_stat_statements"),
#    sleeping on a spinlock held too long (SpinDelay), other waits;
#  - perf samples every CPU (cpu-clock, 1 kHz; when perf works here): the
#    share of the server processes' CPU time spent in the extension's .so and
#    in the lock primitives (LWLock*, s_lock, spin delays), which is where
#    contention on the extension's locks would burn CPU.
# Appends a line to $WAITS.
WAITS=$OUT/probe.csv
echo "round,config,clients,samples,running,client,ext_lwlock,spin_delay,other,server_cpu_samples,ext_cpu_pct,lock_cpu_pct" >"$WAITS"
PERF_OK=0
if [ "$PROBE" = 1 ] && command -v perf >/dev/null &&
	perf record -q -e cpu-clock -F 1000 -a -o "$TMP/perf-test.data" -- true >/dev/null 2>&1; then
	PERF_OK=1
fi
probe() {
	local log=$TMP/probe.log pid perfpid= counts cpu="0,nan,nan" so
	"$PGBIN/pgbench" -n -S -M prepared -c "$MAX_CLIENTS" -j "$(jobs_for "$MAX_CLIENTS")" \
		-T "$((DURATION + 2))" -h "$TMP" -p "$PORT" -U postgres bench >"$log" 2>&1 &
	pid=$!
	sleep 1
	if [ "$PERF_OK" = 1 ]; then
		perf record -q -e cpu-clock -F 1000 -a -o "$TMP/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
		perfpid=$!
	fi
	counts=$(sql "
		CREATE TEMP TABLE w (e text);
		DO \$\$
		DECLARE stop timestamptz := clock_timestamp() + interval '$DURATION s';
		BEGIN
			WHILE clock_timestamp() < stop LOOP
				PERFORM pg_stat_clear_snapshot();
				INSERT INTO w
				SELECT CASE
					WHEN wait_event IS NULL THEN 'running'
					WHEN wait_event_type = 'Client' THEN 'client'
					WHEN wait_event_type = 'LWLock' AND wait_event IN ('pgperf', 'pg_stat_statements') THEN 'ext_lwlock'
					WHEN wait_event = 'SpinDelay' THEN 'spin_delay'
					ELSE 'other' END
				FROM pg_stat_activity
				WHERE application_name = 'pgbench' AND pid <> pg_backend_pid();
				PERFORM pg_sleep(0.01);
			END LOOP;
		END \$\$;
		SELECT count(*), count(*) FILTER (WHERE e = 'running'), count(*) FILTER (WHERE e = 'client'),
		       count(*) FILTER (WHERE e = 'ext_lwlock'), count(*) FILTER (WHERE e = 'spin_delay'),
		       count(*) FILTER (WHERE e = 'other')
		FROM w" | tr '|' ',')
	if [ -n "$perfpid" ] && wait "$perfpid"; then
		case "$1" in pgss) so=pg_stat_statements.so ;; pgperf) so=pgperf.so ;; *) so=none ;; esac
		# samples of processes named postgres, by library and function
		cpu=$(perf report -q -i "$TMP/perf.data" --sort comm,dso,sym -F comm,dso,sym,sample 2>/dev/null |
			awk -v so="$so" '$1 == "postgres" {
				n = $NF; t += n
				if ($2 == so) e += n
				if ($2 == "postgres" && $4 ~ /^(LWLock|s_lock$|perform_spin_delay$|finish_spin_delay$)/) l += n
			} END {
				if (t > 0) printf "%d,%.2f,%.2f", t, 100 * e / t, 100 * l / t; else printf "0,nan,nan"
			}')
		rm -f "$TMP/perf.data"
	fi
	wait "$pid" || { cat "$log" >&2; die "pgbench failed during the probe ($1)"; }
	echo "$2,$1,$MAX_CLIENTS,$counts,$cpu" >>"$WAITS"
	log "probe round $2 $1: samples,running,client,ext_lwlock,spin_delay,other = $counts; server CPU samples, % in the extension, % in lock primitives = $cpu"
}
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
		if [ "$PROBE" = 1 ]; then probe "$cfg" "$((r + 1))"; fi
	done
done
pg_stop

bench_check_module || exit 1

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
	echo "- load average before the measured runs: $(awk -F, 'NR>1 {print $8}' "$RAW" | spread "") (the benchmark itself accounts for up to $NPROC);"
	echo "  CPU steal during them: $(awk -F, 'NR>1 {print $9}' "$RAW" | spread %)"
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
	if [ "$PROBE" = 1 ]; then
		echo "### Wait-event probe: where pgbench's backends were ($MAX_CLIENTS clients, sampled every 10 ms, all rounds)"
		echo
		echo "| configuration | samples | running | waiting for the client | queued on the extension's LWLock | SpinDelay | other waits |"
		echo "|---|---:|---:|---:|---:|---:|---:|"
		for cfg in "${CONFIGS[@]}"; do
			awk -F, -v c="$cfg" -v l="$(label "$cfg")" 'NR>1 && $2==c {for (k=4; k<=9; k++) t[k]+=$k}
				END {n = t[4] > 0 ? t[4] : 1
					printf "| %s | %d | %.1f%% | %.1f%% | %d | %d | %d |\n", l, t[4], 100*t[5]/n, 100*t[6]/n, t[7], t[8], t[9]}' "$WAITS"
		done
		echo
		if [ "$PERF_OK" = 1 ]; then
			echo "Server processes' CPU time (perf, cpu-clock at 1 kHz on every CPU, same runs; median of the rounds):"
			echo
			echo "| configuration | CPU samples of server processes | in the extension's library | in LWLock*, s_lock, spin delays |"
			echo "|---|---:|---:|---:|"
			for cfg in "${CONFIGS[@]}"; do
				printf '| %s | %s | %s | %s%% |\n' "$(label "$cfg")" \
					"$(awk -F, -v c="$cfg" 'NR>1 && $2==c {print $10}' "$WAITS" | median)" \
					"$(if [ "$cfg" = none ]; then echo -; else echo "$(awk -F, -v c="$cfg" 'NR>1 && $2==c {print $11}' "$WAITS" | median)%"; fi)" \
					"$(awk -F, -v c="$cfg" 'NR>1 && $2==c {print $12}' "$WAITS" | median)"
			done
		else
			echo "(perf was not usable here: no CPU profile of the probe.)"
		fi
		echo
	fi
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
	echo "SHARED_BUFFERS=$SHARED_BUFFERS PROBE=$PROBE MODE=$MODE PORT=$PORT PGBIN=$PGBIN"
} >"$OUT/parameters.txt"

echo
cat "$OUT/summary.md"
echo
log "results: $OUT"
