#!/usr/bin/env bash
# bench.sh - what does pgperf cost per statement, next to pg_stat_statements?
#
# Usage (as root, from anywhere):
#   scripts/bench.sh [--quick] [options]
#
#   --quick            short smoke run: ROUNDS=1 DURATION=5 WARMUP=2 VG_N=200
#   --rounds N         interleaved pgbench rounds             (ROUNDS, default 3)
#   --duration S       seconds per measured pgbench run       (DURATION, default 20)
#   --warmup S         seconds of unmeasured pgbench per run  (WARMUP, default 5)
#   --clients N        pgbench clients                        (CLIENTS, default 1)
#   --jobs N           pgbench threads                        (JOBS, default 1)
#   --scale N          pgbench scale factor                   (SCALE, default 10)
#   --shared-buffers X shared_buffers                         (SHARED_BUFFERS, default 256MB)
#   --vg-n N           callgrind: N and then 2N statements    (VG_N, default 1000)
#   --no-setup         do not run scripts/setup.sh            (SETUP=0)
#   --no-build         do not build and install pgperf        (BUILD=0)
#   --no-pgbench       skip the pgbench part                  (PGBENCH=0)
#   --no-callgrind     skip the callgrind part                (CALLGRIND=0)
#   --workloads LIST   pgbench workloads, comma-separated     (WORKLOADS, default
#                      select_simple,select_prepared,join_agg)
#   --out DIR          where results go   (OUT, default bench-results/<timestamp>-<mode>)
#   -h, --help         this text
# Options are applied left to right, after the environment: `--quick --rounds 2`
# is a quick run with 2 rounds.  Example of a fuller run:
#   ROUNDS=5 DURATION=20 scripts/bench.sh
#
# What it does:
#  1. scripts/setup.sh, then `make -s && make -s install` of pgperf.
#  2. One throwaway cluster (initdb in a mktemp dir owned by postgres, unix
#     socket in that dir, no TCP), pgbench -i at SCALE (fits in shared_buffers).
#     Three configurations, by restarting it with a different
#     shared_preload_libraries and nothing else:
#       none                - no preload (compute_query_id stays off)
#       pg_stat_statements  - its defaults
#       pgperf              - its defaults (buffers, WAL, histogram, planid)
#  3. Workloads: select-only simple protocol, select-only prepared, and a
#     join+aggregate query with a 5+-node plan (scripts/bench/join_agg.sql,
#     -M prepared).
#  4. Interleaved rounds: each round, each workload, each configuration (order
#     rotated), after a restart, pg_prewarm of the pgbench tables and WARMUP s
#     of unmeasured load: DURATION s of pgbench; TPS excludes connection time.
#     Median TPS, median of the per-round ratios; target pgperf >= 0.98 x
#     pg_stat_statements (PASS/FAIL printed; the exit status ignores it).
#  5. Callgrind on a single-user backend fed N and then 2N statements on stdin:
#     instructions per statement = (Ir(2N) - Ir(N)) / N, for a point SELECT
#     and for the join+aggregate query, each also through PREPARE/EXECUTE
#     (a cached plan, as with -M prepared), and for plans made anew at every
#     execution, where pgperf walks the plan each time: a 6-table join and an
#     Append of 64 partitions (scripts/bench/replan.sql), the latter also as
#     custom plans of a prepared statement; each run checks that the extension
#     really counted the statements.  Target: pgperf's overhead above none
#     <= pg_stat_statements'.  An extra, informational configuration,
#     "none + compute_query_id=on", shows what query jumbling alone costs.
#     callgrind_annotate on the pgperf runs lists pgperf's hot spots.
#  6. Markdown summary on stdout and in $OUT/summary.md, raw numbers beside it.
# Exit status: 0 when the benchmark ran (whatever the targets), 1 when a
# check failed (an extension that did not load, a plan with < 5 nodes, ...).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
CLIENTS=${CLIENTS:-1}
JOBS=${JOBS:-1}
SCALE=${SCALE:-10}
SHARED_BUFFERS=${SHARED_BUFFERS:-256MB}
VG_N=${VG_N:-1000}
SETUP=${SETUP:-1}
BUILD=${BUILD:-1}
PGBENCH=${PGBENCH:-1}
CALLGRIND=${CALLGRIND:-1}
WORKLOADS=${WORKLOADS:-select_simple,select_prepared,join_agg}
OUT=${OUT:-}
MODE=${MODE:-full}
TARGET_RATIO=0.98

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
		--quick) MODE=quick; ROUNDS=1; DURATION=5; WARMUP=2; VG_N=200 ;;
		--rounds) ROUNDS=$2; shift ;;
		--duration) DURATION=$2; shift ;;
		--warmup) WARMUP=$2; shift ;;
		--clients) CLIENTS=$2; shift ;;
		--jobs) JOBS=$2; shift ;;
		--scale) SCALE=$2; shift ;;
		--shared-buffers) SHARED_BUFFERS=$2; shift ;;
		--vg-n) VG_N=$2; shift ;;
		--no-setup) SETUP=0 ;;
		--no-build) BUILD=0 ;;
		--no-pgbench) PGBENCH=0 ;;
		--no-callgrind) CALLGRIND=0 ;;
		--workloads) WORKLOADS=$2; shift ;;
		--out) OUT=$2; shift ;;
		-h|--help) usage; exit 0 ;;
		*) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in ROUNDS DURATION WARMUP CLIENTS JOBS SCALE VG_N; do
	[[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench.sh: $v must be a whole number" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: run as root (servers run as postgres via runuser)" >&2; exit 2; }

. "$REPO/scripts/bench/lib.sh"
CHECK_FAILED=0
check_failed() { log "CHECK FAILED: $*"; CHECK_FAILED=1; }

# ---------------------------------------------------------------------------
# 1. packages, build; 2. the cluster (scripts/bench/lib.sh)
bench_build
if [ "$CALLGRIND" = 1 ]; then
	command -v valgrind >/dev/null || die "valgrind not found (run scripts/setup.sh)"
	command -v callgrind_annotate >/dev/null || die "callgrind_annotate not found"
fi
bench_outdir
bench_cluster "$SCALE" "$SHARED_BUFFERS" 20
"${PSQL[@]}" -d bench -q -f "$REPO/scripts/bench/replan.sql" >/dev/null

# The join+aggregate query, checked: 5+ plan nodes, a join, an aggregate.
JOIN_SQL="SELECT b.bid, count(*), sum(a.abalance) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid) WHERE a.aid BETWEEN \$1 AND \$1 + 50 GROUP BY b.bid ORDER BY b.bid"
JOIN_SCRIPT=$TMP/join_agg.sql
cp "$REPO/scripts/bench/join_agg.sql" "$JOIN_SCRIPT"
{
	echo "-- custom plan (as for a literal)"
	sql "EXPLAIN (COSTS OFF) ${JOIN_SQL//\$1/1000}"
	echo
	echo "-- generic plan (plan_cache_mode = force_generic_plan)"
	"${PSQL[@]}" -d bench -At <<EOF
SET plan_cache_mode = force_generic_plan;
PREPARE q(int) AS $JOIN_SQL;
EXPLAIN (COSTS OFF) EXECUTE q(1000);
EOF
} >"$OUT/plans.txt"
# Which one a prepared statement runs with by default (plan_cache_mode = auto).
PLAN_CHOICE=$({
	echo "PREPARE q(int) AS $JOIN_SQL;"
	for i in $(seq 10); do echo "EXECUTE q($((i * 997)));"; done
	echo "SELECT generic_plans || ' generic plans, ' || custom_plans || ' custom plans' FROM pg_prepared_statements WHERE name = 'q';"
} | "${PSQL[@]}" -d bench -At | tail -1)
echo "-- a prepared statement, 10 executions with plan_cache_mode = auto: $PLAN_CHOICE" >>"$OUT/plans.txt"
JOIN_NODES_CUSTOM=$(awk '/^-- custom/{s=1;next} /^-- /{s=0} s && NF' "$OUT/plans.txt" | grep -c -E '^[A-Z]|->')
JOIN_NODES_GENERIC=$(awk '/^-- generic/{s=1;next} /^-- /{s=0} s && NF' "$OUT/plans.txt" | grep -c -E '^[A-Z]|->')
log "join+aggregate plan (custom: $JOIN_NODES_CUSTOM nodes, generic: $JOIN_NODES_GENERIC nodes):"
sed 's/^/    /' "$OUT/plans.txt" >&2
for n in "$JOIN_NODES_CUSTOM" "$JOIN_NODES_GENERIC"; do
	[ "$n" -ge 5 ] || check_failed "join+aggregate plan has $n nodes (< 5)"
done
grep -q -E 'Join|Nested Loop' "$OUT/plans.txt" || check_failed "join+aggregate plan has no join"
grep -q -E 'Aggregate' "$OUT/plans.txt" || check_failed "join+aggregate plan has no aggregate"

# ---------------------------------------------------------------------------
# 3-4. pgbench, interleaved
read -r -a WORKLOADS <<<"${WORKLOADS//,/ }"
for wl in "${WORKLOADS[@]}"; do
	case "$wl" in
		select_simple|select_prepared|join_agg) ;;
		*) die "unknown workload $wl" ;;
	esac
done
wl_label() {
	case "$1" in
		select_simple) echo "select-only, -M simple" ;;
		select_prepared) echo "select-only, -M prepared" ;;
		join_agg) echo "join+aggregate ($JOIN_NODES_CUSTOM-node plan), -M prepared" ;;
	esac
}
wl_args() {
	case "$1" in
		select_simple) echo "-S -M simple" ;;
		select_prepared) echo "-S -M prepared" ;;
		join_agg) echo "-f $JOIN_SCRIPT -M prepared -s $SCALE" ;;
	esac
}

# run_pgbench WORKLOAD SECONDS LOGFILE: prints "tps latency_ms"
run_pgbench() {
	local args
	read -r -a args <<<"$(wl_args "$1")"
	bench_pgbench "$1" "$3" "${args[@]}" -c "$CLIENTS" -j "$JOBS" -T "$2"
}


RAW=$OUT/pgbench.csv
mkdir -p "$OUT/pgbench-logs"
if [ "$PGBENCH" = 1 ]; then
	echo "round,workload,config,position,tps,latency_ms,loadavg_before,steal_pct" >"$RAW"
	total=$((ROUNDS * ${#WORKLOADS[@]} * ${#CONFIGS[@]}))
	i=0
	for ((r = 0; r < ROUNDS; r++)); do
		for w in "${!WORKLOADS[@]}"; do
			wl=${WORKLOADS[$w]}
			for p in 0 1 2; do
				cfg=${CONFIGS[$(((r + w + p) % 3))]}
				i=$((i + 1))
				pg_stop
				pg_start "$cfg"
				sql "$PREWARM_SQL" >/dev/null
				if [ "$WARMUP" -gt 0 ]; then
					run_pgbench "$wl" "$WARMUP" "$TMP/warmup.log" >/dev/null
				fi
				load=$(cut -d' ' -f1 /proc/loadavg)
				cpu0=$(head -1 /proc/stat)
				res=$(run_pgbench "$wl" "$DURATION" "$OUT/pgbench-logs/r$((r + 1))-$wl-$cfg.log")
				steal=$(steal_pct "$cpu0" "$(head -1 /proc/stat)")
				read -r tps lat <<<"$res"
				echo "$((r + 1)),$wl,$cfg,$((p + 1)),$tps,$lat,$load,$steal" >>"$RAW"
				log "[$i/$total] round $((r + 1)) $wl $(label "$cfg"): $tps tps ($lat ms; load average before $load, CPU steal $steal%)"
			done
		done
	done
	pg_stop
fi

# pgbench report, from $RAW
pgbench_report() {
	echo "### pgbench: TPS (excluding connection time), median of $ROUNDS round(s)"
	echo
	echo "$DURATION s per run after $WARMUP s warm-up, $CLIENTS client(s), -j $JOBS, scale $SCALE, shared_buffers $SHARED_BUFFERS;"
	echo "configurations interleaved (order rotated per round and workload), restart + pg_prewarm before each run."
	echo "Load average before the measured runs: $(awk -F, 'NR>1 {print $7}' "$RAW" | spread "") (this benchmark itself accounts for about 2; more means other work competed for the $(nproc) CPUs);"
	echo "CPU steal during the measured runs (time the hypervisor gave to other machines): $(awk -F, 'NR>1 {print $8}' "$RAW" | spread %)."
	echo "Target: pgperf >= $TARGET_RATIO x pg_stat_statements (median of the per-round ratios)."
	echo "The join+aggregate statement, prepared, got $PLAN_CHOICE in 10 executions (plan_cache_mode = auto)."
	echo
	echo "| workload | none | pg_stat_statements | pgperf | pgperf / none | pgperf / pg_stat_statements | target |"
	echo "|---|---:|---:|---:|---:|---:|:---:|"
	local wl c m ratio_none ratio_pgss verdict
	for wl in "${WORKLOADS[@]}"; do
		declare -A med=()
		for c in "${CONFIGS[@]}"; do
			med[$c]=$(awk -F, -v w="$wl" -v c="$c" 'NR>1 && $2==w && $3==c {print $5}' "$RAW" | median)
		done
		ratio_none=$(awk -F, -v w="$wl" 'NR>1 && $2==w {t[$1","$3]=$5; r[$1]=1} END {for (k in r) if (t[k",none"]>0) print t[k",pgperf"]/t[k",none"]}' "$RAW" | median)
		ratio_pgss=$(awk -F, -v w="$wl" 'NR>1 && $2==w {t[$1","$3]=$5; r[$1]=1} END {for (k in r) if (t[k",pgss"]>0) print t[k",pgperf"]/t[k",pgss"]}' "$RAW" | median)
		verdict=$(awk -v x="$ratio_pgss" -v t="$TARGET_RATIO" 'BEGIN {print (x+0 >= t) ? "PASS" : "FAIL"}')
		printf '| %s | %.0f | %.0f | %.0f | %.3f | %.3f | %s |\n' "$(wl_label "$wl")" \
			"${med[none]}" "${med[pgss]}" "${med[pgperf]}" "$ratio_none" "$ratio_pgss" "$verdict"
		unset med
	done
	echo
	echo "Per round (TPS; order = the order the configurations ran in):"
	echo
	echo "| workload | round | order | none | pg_stat_statements | pgperf | pgperf / none | pgperf / pg_stat_statements |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|"
	for wl in "${WORKLOADS[@]}"; do
		awk -F, -v w="$wl" -v lbl="$(wl_label "$wl")" '
			NR>1 && $2==w { t[$1","$3]=$5; o[$1","$4]=$3; r[$1]=1; if ($1>max) max=$1 }
			END {
				short["none"]="none"; short["pgss"]="pgss"; short["pgperf"]="pgperf"
				for (i=1; i<=max; i++) {
					if (!(i in r)) continue
					ord=short[o[i",1"]] ", " short[o[i",2"]] ", " short[o[i",3"]]
					printf "| %s | %d | %s | %.0f | %.0f | %.0f | %.3f | %.3f |\n", lbl, i, ord,
						t[i",none"], t[i",pgss"], t[i",pgperf"],
						t[i",pgperf"]/t[i",none"], t[i",pgperf"]/t[i",pgss"]
				}
			}' "$RAW"
	done
}

# ---------------------------------------------------------------------------
# 5-6. callgrind on a single-user backend
CG_RAW=$OUT/callgrind.csv
CG_CONFIGS=(none none_qid pgss pgperf)
# *_prep: the same statements through PREPARE / EXECUTE (a cached plan, as
# with pgbench -M prepared); the extensions see them as top-level statements.
# join6, part64, part64_prep: re-planned at every execution (the simple
# protocol; custom plans), so the plan is walked for its planid every time.
QUERIES=(point point_prep join_agg join_agg_prep join6 part64 part64_prep)
q_label() {
	case "$1" in
		point) echo "point SELECT" ;;
		point_prep) echo "point SELECT, PREPARE + EXECUTE" ;;
		join_agg) echo "join+aggregate ($JOIN_NODES_CUSTOM-node plan)" ;;
		join_agg_prep) echo "join+aggregate, PREPARE + EXECUTE" ;;
		join6) echo "6-table join, re-planned" ;;
		part64) echo "Append of 64 partitions, re-planned" ;;
		part64_prep) echo "Append of 64 partitions, PREPARE + EXECUTE, custom plans" ;;
	esac
}
JOIN6_SQL="SELECT count(*) FROM j1 JOIN j2 USING (id) JOIN j3 USING (id) JOIN j4 USING (id) JOIN j5 USING (id) JOIN j6 USING (id) WHERE j1.a = \$1"
PART64_SQL="SELECT count(*) FROM p64 WHERE v = \$1"
POINT_SQL="SELECT abalance FROM pgbench_accounts WHERE aid = \$1"
NACCOUNTS=$((100000 * SCALE))
# N statements, the same stream in every configuration; statements N+1..2N
# repeat 1..N, so the difference measures warm, steady-state statements.
gen_statements() {
	local q=$1 n=$2
	case "$q" in
		point_prep) echo "PREPARE q(int) AS $POINT_SQL;" ;;
		join_agg_prep) echo "PREPARE q(int) AS $JOIN_SQL;" ;;
		part64_prep) echo "SET plan_cache_mode = force_custom_plan; PREPARE q(int) AS $PART64_SQL;" ;;
	esac
	awk -v n="$n" -v base="$VG_N" -v q="$q" -v na="$NACCOUNTS" \
		-v point="$POINT_SQL" -v join="$JOIN_SQL" -v join6="$JOIN6_SQL" -v part64="$PART64_SQL" 'BEGIN {
		for (i = 0; i < n; i++) {
			k = i % base
			if (q ~ /^point/)
				a = (k * 997) % na + 1
			else if (q ~ /^join_agg/)
				a = (k * 991) % (na - 50) + 1
			else
				a = k % 1000 + 1
			if (q ~ /_prep$/)
				printf "EXECUTE q(%d);\n", a
			else {
				s = (q == "point") ? point : (q == "join_agg") ? join : (q == "join6") ? join6 : part64
				gsub(/\$1/, a, s)
				print s ";"
			}
		}
	}'
}
q_prefix() {
	case "$1" in
		point*) echo "%SELECT abalance FROM pgbench_accounts%" ;;
		join_agg*) echo "%SELECT b.bid, count(*)%" ;;
		join6) echo "%FROM j1 JOIN j2%" ;;
		part64*) echo "%FROM p64 WHERE%" ;;
	esac
}
# Checks at the end of the input: what is loaded, and what it counted.
gen_checks() {
	echo "SELECT 'spl=[' || current_setting('shared_preload_libraries') || '] compute_query_id=' || current_setting('compute_query_id') AS check;"
	case "$1" in
		pgss) echo "SELECT 'counted=' || coalesce(sum(calls), 0) AS check FROM pg_stat_statements WHERE query LIKE '$(q_prefix "$2")' AND query NOT LIKE '%counted=%';" ;;
		pgperf) echo "SELECT 'counted=' || coalesce(sum(calls), 0) AS check FROM pgperf.statements WHERE query LIKE '$(q_prefix "$2")' AND query NOT LIKE '%counted=%';" ;;
	esac
}

# cg_run CONFIG QUERY N: runs callgrind, prints Ir; checks the counts.
cg_run() {
	local cfg=$1 q=$2 n=$3
	local base=$TMP/cg-$q-$cfg-$n
	write_config "$cfg"
	# no statistics carried over from an earlier run: every run starts alike
	rm -f "$DATA/pg_stat/pgperf.stat" "$DATA/pg_stat/pg_stat_statements.stat"
	{ gen_statements "$q" "$n"; gen_checks "$cfg" "$q"; } >"$base.in"
	as_pg valgrind --tool=callgrind --callgrind-out-file="$base.out" \
		"$PGBIN/postgres" --single -D "$DATA" bench <"$base.in" >"$base.stdout" 2>"$base.stderr" ||
		{ tail -20 "$base.stderr" >&2; die "single-user run failed ($cfg, $q, $n)"; }
	local ir spl counted errors
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$base.out")
	[ -n "$ir" ] || die "no Ir in $base.out"
	spl=$( (grep -o 'spl=\[[^]]*\]' "$base.stdout" || true) | tail -1 | sed 's/spl=\[\(.*\)\]/\1/')
	counted=$( (grep -o 'counted=[0-9]*' "$base.stdout" || true) | tail -1 | cut -d= -f2)
	errors=$(cat "$base.stdout" "$base.stderr" | grep -E -c '(ERROR|FATAL|PANIC):' || true)
	local ok=yes
	[ "$spl" = "$(preload_of "$cfg")" ] || { ok=no; check_failed "callgrind $cfg/$q/$n: shared_preload_libraries='$spl'"; }
	[ "$errors" = 0 ] || { ok=no; check_failed "callgrind $cfg/$q/$n: $errors ERROR lines (see $OUT/callgrind/)"; }
	case "$cfg" in
		pgss|pgperf)
			[ "$counted" = "$n" ] || { ok=no; check_failed "callgrind $cfg/$q/$n: the extension counted '${counted:-nothing}' executions, expected $n"; }
			;;
	esac
	echo "$q,$cfg,$n,$ir,${counted:-},$ok" >>"$CG_RAW"
	log "callgrind $q $(label "$cfg") N=$n: Ir=$ir counted=${counted:--} ok=$ok"
}

# Per-statement costs of one object's functions (pgperf.so, or
# pg_stat_statements.so for comparison) from the N and 2N runs of CONFIG:
# scripts/bench/hotspots.awk; writes $OUT/callgrind/hotspots-QUERY-CONFIG.md.
hotspots() {
	local q=$1 cfg=$2 obj=$3 n=$4
	local f1=$TMP/cg-$q-$cfg-$n.out f2=$TMP/cg-$q-$cfg-$((2 * n)).out a
	for a in "$f1" "$f2"; do
		# from /: callgrind_annotate shortens paths under its working
		# directory, and then loses track of some functions' objects
		(cd / && callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$a") >"$a.tree"
		(cd / && callgrind_annotate --inclusive=no --threshold=100 "$a") >"$a.self"
	done
	gzip -c "$f2.tree" >"$OUT/callgrind/annotate-tree-$q-$cfg-$((2 * n)).txt.gz"
	awk -v n="$n" -v obj="$obj" -f "$REPO/scripts/bench/hotspots.awk" \
		"$f1.tree" "$f2.tree" "$f1.self" "$f2.self" >"$TMP/hot-$q-$cfg.tsv"
	[ -s "$TMP/hot-$q-$cfg.tsv" ] || { log "no $obj functions found in the callgrind output ($q)"; return 1; }
	awk -F'\t' -v q="$q" -v c="$cfg" '{s += $6} END {printf "%s,%s,%.0f\n", q, c, s}' "$TMP/hot-$q-$cfg.tsv" >>"$OUT/callgrind/own.csv"
	{
		echo "| # | $obj function | own Ir / stmt | inclusive | self | what it calls: Ir / stmt [x calls / stmt] |"
		echo "|---:|---|---:|---:|---:|---|"
		# walk_plan'2 and the like: deeper recursion levels, already in walk_plan
		sort -t$'\t' -k2,2gr "$TMP/hot-$q-$cfg.tsv" | awk -F'\t' '$2 >= 0.5 && $1 !~ /\047[0-9]+$/' | head -15 |
			awk -F'\t' '{ printf "| %d | %s | %.0f | %.0f | %.0f | %s |\n", NR, $1, $2, $3, $4, $5 }'
	} >"$OUT/callgrind/hotspots-$q-$cfg.md"
}

if [ "$CALLGRIND" = 1 ]; then
	pg_stop
	mkdir -p "$OUT/callgrind"
	echo "query,config,n,ir,counted,ok" >"$CG_RAW"
	echo "query,config,own_ir_per_statement" >"$OUT/callgrind/own.csv"
	for q in "${QUERIES[@]}"; do
		for cfg in "${CG_CONFIGS[@]}"; do
			cg_run "$cfg" "$q" "$VG_N"
			cg_run "$cfg" "$q" $((2 * VG_N))
		done
	done
	for q in "${QUERIES[@]}"; do
		hotspots "$q" pgperf pgperf.so "$VG_N" || check_failed "no pgperf.so functions in the callgrind profile ($q)"
		hotspots "$q" pgss pg_stat_statements.so "$VG_N" || log "no pg_stat_statements.so functions in the callgrind profile ($q)"
	done
	for f in "$TMP"/cg-*-pgperf-*.out "$TMP"/cg-*-pgss-*.out; do
		gzip -c "$f" >"$OUT/callgrind/$(basename "$f").gz"
	done
	tail -n 3 "$TMP"/cg-*.stdout >"$OUT/callgrind/single-user-checks.txt" 2>/dev/null || true
fi

callgrind_report() {
	echo "### callgrind: CPU instructions per statement (single-user backend)"
	echo
	echo "Ir per statement = (Ir($((2 * VG_N)) statements) - Ir($VG_N statements)) / $VG_N; statements $((VG_N + 1))..$((2 * VG_N)) repeat 1..$VG_N (warm caches)."
	echo "Each pg_stat_statements / pgperf run checked that the extension counted exactly the statements fed."
	echo "\"none + compute_query_id=on\" is for information: the query jumbling that both extensions turn on."
	echo "Target: pgperf's overhead above none <= pg_stat_statements'."
	echo
	echo "| statement | configuration | Ir / statement | overhead above none | overhead above none + query id | checked |"
	echo "|---|---|---:|---:|---:|:---:|"
	local q c
	for q in "${QUERIES[@]}"; do
		for c in "${CG_CONFIGS[@]}"; do
			awk -F, -v q="$q" -v c="$c" -v n="$VG_N" -v lbl="$(q_label "$q")" -v cl="$(label "$c")" '
				NR>1 && $1==q { ir[$2","$3]=$4; if ($6 != "yes") bad[$2]=1 }
				END {
					per = (ir[c","2*n] - ir[c","n]) / n
					none = (ir["none,"2*n] - ir["none,"n]) / n
					qid = (ir["none_qid,"2*n] - ir["none_qid,"n]) / n
					ov = (c == "none") ? "-" : sprintf("%+.0f (%+.1f%%)", per - none, 100 * (per - none) / none)
					ovq = (c == "none" || c == "none_qid") ? "-" : sprintf("%+.0f", per - qid)
					printf "| %s | %s | %.0f | %s | %s | %s |\n", lbl, cl, per, ov, ovq, (c in bad) ? "FAILED" : "yes"
				}' "$CG_RAW"
		done
	done
	echo
	echo "| statement | pg_stat_statements overhead | pgperf overhead | pgperf - pg_stat_statements | target |"
	echo "|---|---:|---:|---:|:---:|"
	for q in "${QUERIES[@]}"; do
		awk -F, -v q="$q" -v n="$VG_N" -v lbl="$(q_label "$q")" '
			NR>1 && $1==q { ir[$2","$3]=$4 }
			END {
				none = (ir["none,"2*n] - ir["none,"n]) / n
				ss = (ir["pgss,"2*n] - ir["pgss,"n]) / n - none
				pp = (ir["pgperf,"2*n] - ir["pgperf,"n]) / n - none
				printf "| %s | %+.0f | %+.0f | %+.0f | %s |\n", lbl, ss, pp, pp - ss, (pp <= ss) ? "PASS" : "FAIL"
			}' "$CG_RAW"
	done
	echo
	echo "Where the overhead goes (Ir / statement): query jumbling = none + compute_query_id=on less none;"
	echo "extension's code = callgrind_annotate, the extension's functions less the server work they chain to;"
	echo "rest = what the extension makes the server do (the total-time instrumentation of the executor, ...)."
	echo
	echo "| statement | configuration | overhead above none | query jumbling | extension's code | rest |"
	echo "|---|---|---:|---:|---:|---:|"
	for q in "${QUERIES[@]}"; do
		for c in pgss pgperf; do
			awk -F, -v q="$q" -v c="$c" -v n="$VG_N" -v lbl="$(q_label "$q")" -v cl="$(label "$c")" '
				FILENAME == ARGV[1] && FNR > 1 && $1 == q && $2 == c { own = $3; have = 1; next }
				FILENAME == ARGV[2] && FNR > 1 && $1 == q { ir[$2","$3] = $4 }
				END {
					none = (ir["none,"2*n] - ir["none,"n]) / n
					ov = (ir[c","2*n] - ir[c","n]) / n - none
					jumble = (ir["none_qid,"2*n] - ir["none_qid,"n]) / n - none
					if (have)
						printf "| %s | %s | %+.0f | %+.0f | %+.0f | %+.0f |\n", lbl, cl, ov, jumble, own, ov - jumble - own
					else
						printf "| %s | %s | %+.0f | %+.0f | ? | ? |\n", lbl, cl, ov, jumble
				}' "$OUT/callgrind/own.csv" "$CG_RAW"
		done
	done
}

# ---------------------------------------------------------------------------
# summary
bench_check_module || CHECK_FAILED=1
{
	echo "## pgperf overhead benchmark ($MODE run, $(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "- pgperf: $SRC_STATE (pgperf.so md5 $SO_SUM...); $("$PGBIN/postgres" --version)"
	echo "- machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
	echo "- settings identical in every configuration: $(echo "$COMMON_SETTINGS" | grep -v include | sed 's/ = /=/' | paste -sd ';' | sed 's/;/, /g')"
	echo "- configurations differ only in shared_preload_libraries (extensions' own defaults); pgbench relations $DB_SIZE"
	echo
	if [ "$PGBENCH" = 1 ]; then
		pgbench_report
		echo
	fi
	if [ "$CALLGRIND" = 1 ]; then
		callgrind_report
		echo
		for q in "${QUERIES[@]}"; do
			if [ -s "$OUT/callgrind/hotspots-$q-pgperf.md" ]; then
				echo "#### pgperf hot spots, $(q_label "$q"): top 15 pgperf.so functions"
				echo
				echo "Per statement, from callgrind_annotate of the pgperf runs ($VG_N and $((2 * VG_N)) statements)."
				echo "own = inclusive cost less the server work a hook chains to (standard_ExecutorRun, standard_planner, ...),"
				echo "i.e. what pgperf adds; the hooks' own costs add up to pgperf's code per statement."
				echo
				cat "$OUT/callgrind/hotspots-$q-pgperf.md"
				echo
			fi
		done
	fi
	echo "#### join+aggregate plans"
	echo
	echo '```'
	cat "$OUT/plans.txt"
	echo '```'
	if [ "$CHECK_FAILED" = 1 ]; then
		echo
		echo "**Some checks failed: see the log; the figures above are not to be trusted.**"
	fi
} >"$OUT/summary.md"

{
	echo "ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CLIENTS=$CLIENTS JOBS=$JOBS SCALE=$SCALE"
	echo "SHARED_BUFFERS=$SHARED_BUFFERS VG_N=$VG_N MODE=$MODE PORT=$PORT"
} >"$OUT/parameters.txt"

echo
cat "$OUT/summary.md"
echo
log "results: $OUT"
exit "$CHECK_FAILED"
