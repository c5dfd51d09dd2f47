# lib.sh - what scripts/bench.sh and scripts/bench_concurrency.sh share: the
# build, one throwaway cluster holding pgbench's tables that is restarted in
# each preload configuration, and small helpers for the figures.
#
# Sourced, not run.  The caller sets REPO, PGBIN, SETUP, BUILD, MODE and OUT
# (empty: bench-results/<timestamp>-<mode>) first, then calls bench_build,
# bench_outdir and bench_cluster in that order.

BENCH_NAME=$(basename "$0")

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }

# bench_build [PACKAGE...]: scripts/setup.sh (with these extra Debian
# packages) and make install, unless turned off; sets
# SRC_STATE (what was built), PGPERF_SO and SO_SUM (what is measured).
bench_build() {
	local b
	if [ "$SETUP" = 1 ]; then
		log "setup: scripts/setup.sh"
		"$REPO/scripts/setup.sh" "$@"
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
	# The installed module is what is measured: note it, and check at the
	# end (bench_check_module) that nothing replaced it meanwhile.
	PGPERF_SO=$("$PGBIN/pg_config" --pkglibdir)/pgperf.so
	[ -f "$PGPERF_SO" ] || die "$PGPERF_SO not installed (run without --no-build)"
	SO_SUM=$(md5sum "$PGPERF_SO" | cut -c1-12)
}

# bench_check_module: fails, saying so, if the measured module was replaced
bench_check_module() {
	[ "$(md5sum "$PGPERF_SO" | cut -c1-12)" = "$SO_SUM" ] && return 0
	log "CHECK FAILED: $PGPERF_SO was replaced during the run: the figures mix two builds"
	return 1
}

# bench_outdir: creates OUT and makes it absolute.
bench_outdir() {
	OUT=${OUT:-$REPO/bench-results/$(date +%Y%m%d-%H%M%S)-$MODE}
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
}

# Configurations: they differ in shared_preload_libraries only (none_qid,
# callgrind's informational one, also turns query jumbling on).
CONFIGS=(none pgss pgperf)
label() {
	case "$1" in
		none) echo "none" ;;
		pgss) echo "pg_stat_statements" ;;
		pgperf) echo "pgperf" ;;
		none_qid) echo "none + compute_query_id=on" ;;
	esac
}
preload_of() {
	case "$1" in
		none|none_qid) echo "" ;;
		pgss) echo "pg_stat_statements" ;;
		pgperf) echo "pgperf" ;;
	esac
}
# The only file that differs between configurations.
write_config() {
	{
		echo "# written by $BENCH_NAME: configuration $1"
		echo "shared_preload_libraries = '$(preload_of "$1")'"
		if [ "$1" = none_qid ]; then echo "compute_query_id = on"; fi
	} >"$DATA/bench_config.conf"
	chown postgres: "$DATA/bench_config.conf"
}

# pg_start CONFIG: starts the server in CONFIG and checks that the extension
# loaded; pg_stop: stops it, if it runs.
pg_start() {
	write_config "$1"
	as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$SERVER_LOG" -w -t 300 start >/dev/null ||
		{ tail -20 "$SERVER_LOG" >&2; die "server did not start ($1)"; }
	RUNNING=1
	local spl
	spl=$("${PSQL[@]}" -d postgres -Atc "SHOW shared_preload_libraries")
	[ "$spl" = "$(preload_of "$1")" ] || die "config $1: shared_preload_libraries is '$spl'"
	case "$1" in
		pgss) sql "SELECT count(*) FROM pg_stat_statements" >/dev/null ;;
		pgperf) sql "SELECT entries FROM pgperf.info" >/dev/null ;;
	esac
}
pg_stop() {
	if [ "$RUNNING" = 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null
		RUNNING=0
	fi
}

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$RUNNING" = 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -f "$SERVER_LOG" ] && [ -d "$OUT" ]; then
		cp "$SERVER_LOG" "$OUT/server.log" 2>/dev/null || true
	fi
	rm -rf "$TMP"
	exit $rc
}

# bench_cluster SCALE SHARED_BUFFERS MAX_CONNECTIONS: one throwaway cluster
# (initdb in a mktemp dir owned by postgres, unix socket in that dir, no
# TCP), left running in configuration none, with database bench holding
# pgbench's tables at SCALE and all three extensions created (the same
# catalogs in every configuration).  Sets TMP, DATA, SERVER_LOG, PORT, PSQL,
# COMMON_SETTINGS, DB_SIZE; sql QUERY runs a query in bench.
bench_cluster() {
	local scale=$1 shared_buffers=$2 max_connections=$3 s
	TMP=$(mktemp -d "/tmp/pgperf-${BENCH_NAME%.sh}.XXXXXX")
	chown postgres: "$TMP"
	chmod 700 "$TMP"
	DATA=$TMP/data
	SERVER_LOG=$TMP/server.log
	RUNNING=0
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM

	# a port nothing listens on: the server listens on its private socket
	# only, but a free port keeps the socket's name unsurprising
	PORT=${PORT:-}
	if [ -z "$PORT" ]; then
		for _ in $(seq 50); do
			PORT=$((20000 + RANDOM % 40000))
			(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
		done
	fi
	PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres)

	log "cluster: $DATA (socket $TMP, port $PORT), results in $OUT"
	as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 ||
		{ cat "$TMP/initdb.log" >&2; die "initdb failed"; }
	cat >>"$DATA/postgresql.conf" <<-EOF

		# ---- $BENCH_NAME: identical in every configuration ----
		listen_addresses = ''
		port = $PORT
		unix_socket_directories = '$TMP'
		shared_buffers = $shared_buffers
		huge_pages = off
		max_connections = $max_connections
		max_parallel_workers_per_gather = 0
		jit = off
		autovacuum = off
		# what differs: shared_preload_libraries (and compute_query_id in
		# configuration none_qid)
		include = 'bench_config.conf'
	EOF
	COMMON_SETTINGS=$(sed -n "/---- $BENCH_NAME/,\$p" "$DATA/postgresql.conf" |
		grep -v -e '^#' -e '^$' -e '^include' | sed "s|$TMP|<tmpdir>|")

	pg_start none
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
	log "pgbench -i -s $scale"
	"$PGBIN/pgbench" -i -q -s "$scale" -h "$TMP" -p "$PORT" -U postgres bench >"$TMP/init.log" 2>&1 ||
		{ cat "$TMP/init.log" >&2; die "pgbench -i failed"; }
	for s in "CREATE EXTENSION pg_stat_statements" "CREATE EXTENSION pgperf" "CREATE EXTENSION pg_prewarm" "VACUUM ANALYZE" "CHECKPOINT"; do
		sql "$s"
	done
	DB_SIZE=$(sql "SELECT pg_size_pretty(sum(pg_relation_size(oid))) FROM pg_class WHERE relname LIKE 'pgbench\_%'")
	log "pgbench relations: $DB_SIZE (shared_buffers $shared_buffers)"
}
sql() { "${PSQL[@]}" -d bench -Atc "$1"; }

# bench_pgbench WHAT LOGFILE PGBENCH_ARGS...: runs pgbench -n against bench,
# its output in LOGFILE; prints "tps latency_ms" (TPS without the connection
# time).  Fails, naming WHAT, on an error or on failed transactions.
bench_pgbench() {
	local what=$1 log=$2 tps lat failed
	shift 2
	"$PGBIN/pgbench" -n "$@" -h "$TMP" -p "$PORT" -U postgres bench >"$log" 2>&1 ||
		{ cat "$log" >&2; die "pgbench failed ($what)"; }
	tps=$(awk '/^tps = .*without initial connection time/ {print $3}' "$log")
	lat=$(awk '/^latency average/ {print $4}' "$log")
	failed=$(awk '/^number of failed transactions/ {print $5}' "$log")
	[ -n "$tps" ] || { cat "$log" >&2; die "no TPS in pgbench output ($what)"; }
	[ -z "$failed" ] || [ "$failed" = 0 ] || die "pgbench reported $failed failed transactions ($what)"
	echo "$tps ${lat:-nan}"
}

# run after each restart, so that every configuration starts with the data
# in shared buffers
PREWARM_SQL="SELECT sum(pg_prewarm(oid)) FROM pg_class WHERE relname LIKE 'pgbench\_%' AND relkind IN ('r', 'i')"

# steal_pct "cpu ..." "cpu ..." (two /proc/stat lines): the share of CPU
# time the hypervisor gave to other machines meanwhile, in percent.
steal_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		na = split(a, x, " "); split(b, y, " ")
		for (i = 2; i <= na; i++) t += y[i] - x[i]
		printf "%.1f", (t > 0 && na >= 9) ? 100 * (y[9] - x[9]) / t : 0
	}'
}

# median of the numbers on stdin, one per line
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# spread SUFFIX: "min X, median Y, max Z" of the numbers on stdin
spread() { sort -g | awk -v s="$1" '{a[NR]=$1} END {printf "min %s%s, median %s%s, max %s%s", a[1], s, a[int((NR+1)/2)], s, a[NR], s}'; }
