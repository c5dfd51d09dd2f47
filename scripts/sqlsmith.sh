#!/usr/bin/env bash
# sqlsmith.sh - random SQL (sqlsmith) against a server that preloads pgperf:
# no crash, no internal error from pgperf, and its statistics still readable.
#
# Usage:
#   scripts/sqlsmith.sh [options] [QUERIES]
#   scripts/sqlsmith.sh --scan-log FILE [--from-offset BYTES] [--connstr STR] [--out DIR]
#
#   QUERIES              queries sqlsmith generates        (QUERIES, default 2000;
#                        2000 for CI, 100000 for a long run)
#   --seed N             sqlsmith's random seed            (SEED, default 1)
#   --connstr STR        use this running server instead of a throwaway one
#                        (libpq keywords: host, port, user; dbname is added)
#   --dbname NAME        database to load and to fuzz      (DBNAME, default postgres)
#   --server-log FILE    with --connstr: that server's log file (required); only
#                        what is written to it during the run is examined.  The
#                        server must preload pg_stat_statements and pgperf, with
#                        log_error_verbosity = verbose (for the SQLSTATEs and the
#                        LOCATION of each error) and pgperf.track = all.
#   --bookwyrm-scale S   scale of test/data/bookwyrm.sql   (BOOKWYRM_SCALE, 0.02)
#   --channable-scale S  scale of test/data/channable.sql  (CHANNABLE_SCALE, 0.01)
#   --timeout S          give up on sqlsmith after S seconds (TIMEOUT, default
#                        120 + QUERIES / 10)
#   --out DIR            where the evidence goes           (OUT, default
#                        bench-results/sqlsmith-<timestamp>, git-ignored)
#   --scan-log FILE      only step 6 below, on FILE (from byte --from-offset):
#                        the same counts and exit status; with --connstr, the
#                        internal errors are replayed on that server
#   -h, --help           this text
# Environment: PGBIN (default: pg_config --bindir), SQLSMITH (default sqlsmith),
# SQLSMITH_OPTS (more sqlsmith options, e.g. --exclude-catalog: only the
# scenario tables and pgperf's views as relations),
# PORT (throwaway server; default: a free one), PGPERF_MAX (throwaway server's
# pgperf.max, default 500: small, so that eviction and the text area's
# compaction run often).  Examples:
#   scripts/sqlsmith.sh                     # CI: 2000 queries, about 20 s
#   SEED=7 scripts/sqlsmith.sh 100000       # the long run
#
# What it does:
#  1. Without --connstr: initdb (as postgres when run as root) in a temporary
#     directory, a server on its own unix socket (no TCP, trust) with
#     shared_preload_libraries = 'pg_stat_statements,pgperf', pgperf.track =
#     all, pgperf.track_planning = on, log_error_verbosity = verbose.
#  2. Loads the scenario data (test/data/bookwyrm.sql, channable.sql) at a
#     small scale (about a second), CREATE EXTENSION pgperf and
#     pg_stat_statements (channable.sql at 0.01: 2,000 rows).
#  3. sqlsmith --max-queries=QUERIES --seed=SEED --verbose, as a superuser (so
#     that pgperf.reset() and pgperf.mark() are among the functions it draws
#     from the catalog).  Its queries also read pgperf's views, and every one
#     of them goes through pgperf's hooks.
#  4. Checks that pgperf still works: a new session's statement is recorded in
#     pgperf.statements, and every pgperf view (and pg_stat_statements) reads.
#  5. Calls every function of schema pgperf (except try_index) with edge-case
#     arguments: NULLs, 0, -1, extremes, empty and 100 kB texts, statements
#     that plan_shape() must refuse, malformed baselines ...  Each call is a
#     statement of its own, so an error in it is logged like sqlsmith's.
#  6. Scans the server log: errors by SQLSTATE (of sqlsmith's queries, and of
#     the edge cases); crashes (a server process terminated by a signal or
#     exiting with a code above 1), postmaster reinitializations, PANICs;
#     assertion failures (TRAP:); internal errors (XX000, XX001, XX002).  An
#     internal error is pgperf's when its LOCATION is in a pgperf source file
#     (src/) or it was raised inside a pgperf SQL function; otherwise its
#     statement is replayed (rolled back): if the error comes back with
#     pgperf.track = none and pgperf's views and functions replaced by stubs,
#     it is not pgperf's; if it needs pgperf's tracking, or its functions or
#     views, it is (details at classify() below).  An error that does not
#     come back is pgperf's when its statement calls a pgperf function, unless
#     raised by a function the statement calls directly.  Each internal error
#     and crash goes in full to $OUT
#     (internal.txt, crashes.txt), with the server log when there was one.
# Output: "key: value" lines, then RESULT: PASS or FAIL.  Exit status: 0 PASS;
# 1 a crash, a PANIC, an internal error from pgperf, an assertion failure, a
# failed check of step 4, or sqlsmith not completing its queries; 2 a usage
# or setup error.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

QUERIES=${QUERIES:-2000}
SEED=${SEED:-1}
CONNSTR=${CONNSTR:-}
DBNAME=${DBNAME:-postgres}
SERVER_LOG_ARG=${SERVER_LOG:-}
BOOKWYRM_SCALE=${BOOKWYRM_SCALE:-0.02}
CHANNABLE_SCALE=${CHANNABLE_SCALE:-0.01}
OUT=${OUT:-}
TIMEOUT=${TIMEOUT:-}
SQLSMITH=${SQLSMITH:-sqlsmith}
SQLSMITH_OPTS=${SQLSMITH_OPTS:-}
PGPERF_MAX=${PGPERF_MAX:-500}
SCAN_LOG=
FROM_OFFSET=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
		--seed) SEED=$2; shift ;;
		--connstr) CONNSTR=$2; shift ;;
		--dbname) DBNAME=$2; shift ;;
		--server-log) SERVER_LOG_ARG=$2; shift ;;
		--bookwyrm-scale) BOOKWYRM_SCALE=$2; shift ;;
		--channable-scale) CHANNABLE_SCALE=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--out) OUT=$2; shift ;;
		--scan-log) SCAN_LOG=$2; shift ;;
		--from-offset) FROM_OFFSET=$2; shift ;;
		-h|--help) usage; exit 0 ;;
		-*) echo "sqlsmith.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
		*) QUERIES=$1 ;;
	esac
	shift
done

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

for v in QUERIES SEED PGPERF_MAX FROM_OFFSET; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number"
done
[ "$QUERIES" -gt 0 ] || die "QUERIES must be positive"
TIMEOUT=${TIMEOUT:-$((120 + QUERIES / 10))}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "TIMEOUT must be a whole number"
if [ -z "${PGBIN:-}" ]; then
	PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
fi
[ -x "$PGBIN/pg_config" ] || die "$PGBIN/pg_config not found"

# every pgperf source file: an internal error located in one of them is pgperf's
PGPERF_FILES=$(cd "$REPO/src" && ls -- *.c core/*.c 2>/dev/null | sed 's|.*/||' | paste -sd' ')
[ -n "$PGPERF_FILES" ] || die "no source files in $REPO/src"
# and pgperf's SQL functions (the CONTEXT of an error in one names it)
PGPERF_FUNCS=$(cat "$REPO"/pgperf--*.sql | grep -ohE 'CREATE (OR REPLACE )?FUNCTION pgperf\.[a-z_]+' | sed 's/.*\.//' | sort -u | paste -sd' ')
ERRCODES=$("$PGBIN/pg_config" --sharedir)/errcodes.txt
[ -f "$ERRCODES" ] || ERRCODES=/dev/null

OUT=${OUT:-$REPO/bench-results/sqlsmith-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

TMP=$(mktemp -d /tmp/pgperf-sqlsmith.XXXXXX)
RUNNING=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$RUNNING" = 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Step 6, the log scan: scan_log FILE writes $OUT/counts.txt ("key value"
# lines), sqlstates.txt ("count code level name phase<TAB>first message"),
# internal.txt and crashes.txt.
# Records: a line with the log_line_prefix (a timestamp and [pid]) starts one;
# lines without it continue the one before.  An ERROR/FATAL/PANIC line starts
# an error of that process; its DETAIL, HINT, CONTEXT, LOCATION and STATEMENT
# lines follow.  The phase (setup, sqlsmith, checks, edge) is set by the
# "sqlsmith.sh phase: NAME" lines this script logs.  Crashes: what makes the
# postmaster reset shared memory (HandleChildCrash): a child terminated by a
# signal or an exception, or exiting with a code other than 0 and 1.
# (No {n} in the regular expressions: Debian's awk is mawk.)
scan_log() {
	rm -rf "$OUT/internal" "$OUT/internal.txt" "$OUT/crashes.txt"
	mkdir "$OUT/internal"
	touch "$OUT/internal/list.tsv"
	awk -v files="$PGPERF_FILES" -v funcs="$PGPERF_FUNCS" -v out="$OUT" -v errcodes="$ERRCODES" '
	function flush(pid,   code, n, a, i, k, locpg, ctxpg, calls, locfn, first, base) {
		if (!(pid in lvl)) return
		code = state[pid]
		if (code ~ /^XX00[012]$/) {
			nint++
			k = seq[pid]    # numbered in the order they were raised
			# LOCATION in a pgperf source file
			locpg = 0
			n = split(loc[pid], a, /[ ,:]+/)
			for (i = 1; i <= n; i++) if (a[i] in pgfile) locpg = 1
			# raised while a pgperf function ran (PL/pgSQL or SQL)
			ctxpg = (ctx[pid] ~ /function pgperf\./) ? 1 : 0
			for (i = 1; i <= nfunc; i++) if (index(ctx[pid], "SQL function \"" func[i] "\"")) ctxpg = 1
			# the statement calls a pgperf function
			calls = (stmt[pid] ~ /pgperf\.[A-Za-z_]+[ \t\n]*\(/) ? 1 : 0
			first = msg[pid]; sub(/\n.*/, "", first); sub(/^[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: /, "", first)
			sub(/ at character [0-9]+$/, "", first)
			locfn = loc[pid]; sub(/,.*/, "", locfn); if (locfn == "") locfn = "-"
			printf "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", k, lvl[pid], code, locpg, ctxpg, calls, locfn, first > (out "/internal/list.tsv")
			base = out "/internal/" k
			printf "%s %s (phase %s)\n%s\nLOCATION: %s\nCONTEXT: %s\nSTATEMENT: %s\n", lvl[pid], code, phase,
				msg[pid], loc[pid], ctx[pid], stmt[pid] > (base ".txt")
			close(base ".txt")
			print stmt[pid] > (base ".sql")
			close(base ".sql")
		}
		delete lvl[pid]; delete state[pid]; delete msg[pid]; delete loc[pid]; delete stmt[pid]; delete ctx[pid]
	}
	BEGIN {
		n = split(files, f, " "); for (i = 1; i <= n; i++) pgfile[f[i]] = 1
		nfunc = split(funcs, func, " ")
		while ((getline line < errcodes) > 0)
			if (line ~ /^[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z] +[EWS] /) { split(line, w, / +/); cname[w[1]] = w[4] }
		crashes = reinit = panics = traps = nint = nseq = 0
		phase = "setup"
	}
	/^TRAP: / { traps++; print > (out "/crashes.txt"); next }
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:.]+ [A-Za-z0-9+:-]+ \[[0-9]+\] / {
		pid = $0; sub(/^[^[]*\[/, "", pid); sub(/\].*/, "", pid)
		last = ""
		if (!match($0, / (LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|LOCATION|STATEMENT|QUERY):  /)) next
		kw = substr($0, RSTART + 1, RLENGTH - 4); body = substr($0, RSTART + RLENGTH)
		cur = pid
		if (kw == "ERROR" || kw == "FATAL" || kw == "PANIC") {
			flush(pid)
			code = (body ~ /^[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: /) ? substr(body, 1, 5) : "?????"
			lvl[pid] = kw; state[pid] = code; msg[pid] = body
			if (code ~ /^XX00[012]$/) seq[pid] = ++nseq
			k = code " " kw " " phase
			errs[k]++
			if (!(k in example)) example[k] = substr(body, 8, 100)
			if (kw == "PANIC") { panics++; print > (out "/crashes.txt") }
			last = "msg"
		} else if (kw == "DETAIL" || kw == "HINT" || kw == "CONTEXT" || kw == "LOCATION" || kw == "STATEMENT" || kw == "QUERY") {
			if (pid in lvl) {
				if (kw == "LOCATION") loc[pid] = body
				else if (kw == "STATEMENT") { stmt[pid] = body; last = "stmt" }
				else if (kw == "CONTEXT") { ctx[pid] = body; last = "ctx" }
				else { msg[pid] = msg[pid] "\n" kw ": " body; last = "msg" }
			} else if (crashpid == pid) {
				print > (out "/crashes.txt")    # "Failed process was running: ..."
				last = "crash"
			}
		} else {
			flush(pid)
			crashpid = ""
			if (body ~ /sqlsmith\.sh phase: /) { phase = body; sub(/.*sqlsmith\.sh phase: /, "", phase); sub(/[^a-z].*/, "", phase) }
			if (body ~ /(was terminated by (signal|exception)|exited with exit code ([02-9]|[1-9][0-9]+)[^0-9]*$)/ && body !~ /exit code 0[^0-9]*$/) {
				crashes++; crashpid = pid; print > (out "/crashes.txt"); last = "crash"
			}
			if (body ~ /all server processes terminated; reinitializing/) { reinit++; print > (out "/crashes.txt") }
		}
		next
	}
	{
		# a continuation line of the record before (the server puts a tab first)
		sub(/^\t/, "")
		if (last == "stmt") stmt[cur] = stmt[cur] "\n" $0
		else if (last == "ctx") ctx[cur] = ctx[cur] "\n" $0
		else if (last == "msg") msg[cur] = msg[cur] "\n" $0
		else if (last == "crash") print > (out "/crashes.txt")
	}
	END {
		for (p in lvl) flush(p)
		total = 0
		printf "" > (out "/sqlstates.txt")
		for (k in errs) {
			split(k, kk, " ")
			printf "%d %s %s %s %s\t%s\n", errs[k], kk[1], kk[2], (kk[1] in cname) ? cname[kk[1]] : "?", kk[3], example[k] > (out "/sqlstates.txt")
			total += errs[k]
		}
		printf "server_errors %d\ncrashes %d\nreinitializations %d\npanics %d\nassertion_failures %d\ninternal_errors %d\n",
			total, crashes, reinit, panics, traps, nint > (out "/counts.txt")
	}' "$1"
	touch "$OUT/crashes.txt"
	sort -n "$OUT/internal/list.tsv" -o "$OUT/internal/list.tsv"
	sort -k1,1nr "$OUT/sqlstates.txt" -o "$OUT/sqlstates.txt"
}
# Whose is each internal error?  classify writes $OUT/internal.txt (each one in
# full, with its verdict) and sets PG_INTERNAL, the number of pgperf's:
#  - LOCATION in a pgperf source file, or raised inside a pgperf SQL or
#    PL/pgSQL function: pgperf's.
#  - Else, with a server to replay on (REPLAY=1), its statement is run again,
#    each time in a transaction that is rolled back, and the error (SQLSTATE
#    and message) looked for:
#    1. with pgperf.track = none (pgperf's hooks do nothing).  If it does not
#       come back, then 2. as logged: if it comes back then, it needs pgperf's
#       tracking: pgperf's.
#    3. If it came back in 1 and the statement uses pgperf objects: with
#       pgperf.track = none and each pgperf object replaced by a stub (schema
#       pgperf_stub: for each view, a table holding what it returned just
#       before the replays; for each function, one that returns NULL or no
#       rows).  It comes back: not pgperf's.  It does not: it needs pgperf's
#       functions or views: pgperf's (or a stub's NULL changed the path the
#       statement took: the evidence says which stub).
#    If it came back in 1 and the statement uses no pgperf object: not
#    pgperf's.
#  - An error that does not come back (a TABLESAMPLE, say), or with no server
#    to replay on: not pgperf's if raised by a function the statement calls
#    (LOCATION names a function called in the statement: intervaltypmodout()
#    given a random integer); else pgperf's when its statement calls a pgperf
#    function.
REPLAY=0
make_stubs() {
	sql "SET client_min_messages = warning; SET pgperf.track = none;
	DROP SCHEMA IF EXISTS pgperf_stub CASCADE; CREATE SCHEMA pgperf_stub;
	DO \$\$
	DECLARE r record;
	BEGIN
	  FOR r IN SELECT relname FROM pg_class
	            WHERE relnamespace = 'pgperf'::regnamespace AND relkind IN ('r', 'v', 'm') LOOP
	    BEGIN
	      EXECUTE format('CREATE TABLE pgperf_stub.%I AS SELECT * FROM pgperf.%I', r.relname, r.relname);
	    EXCEPTION WHEN OTHERS THEN
	      EXECUTE format('CREATE TABLE pgperf_stub.%I (LIKE pgperf.%I)', r.relname, r.relname);
	    END;
	  END LOOP;
	  FOR r IN SELECT proname, pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS res,
	                  proretset OR proallargtypes IS NOT NULL OR prorettype = 'void'::regtype AS bare,
	                  (SELECT string_agg(format('NULL::%s', format_type(t, NULL)), ', ' ORDER BY o)
	                     FROM unnest(proallargtypes, proargmodes) WITH ORDINALITY AS u(t, m, o)
	                    WHERE m IN ('o', 'b', 't')) AS outs,
	                  proretset AS srf
	             FROM pg_proc p WHERE pronamespace = 'pgperf'::regnamespace AND prokind = 'f' LOOP
	    BEGIN
	      EXECUTE format('CREATE FUNCTION pgperf_stub.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
	                     r.proname, r.args, r.res,
	                     CASE WHEN r.bare THEN 'BEGIN RETURN; END' ELSE 'BEGIN RETURN NULL; END' END);
	    EXCEPTION WHEN OTHERS THEN
	      -- PL/pgSQL refuses an IN and an OUT parameter of one name (pin()):
	      -- the same stub in SQL, its OUT columns all NULL
	      EXECUTE format('CREATE FUNCTION pgperf_stub.%I(%s) RETURNS %s LANGUAGE sql AS %L',
	                     r.proname, r.args, r.res,
	                     format('SELECT %s%s', coalesce(r.outs, 'NULL'),
	                            CASE WHEN r.srf THEN ' WHERE false' ELSE '' END));
	    END;
	  END LOOP;
	END
	\$\$" >/dev/null
}
# replay N asis|stub none|default: prints "SQLSTATE<TAB>message" of the first
# error, if any.  Every replay draws the same random numbers: setseed(), and
# TABLESAMPLE made REPEATABLE; so the replays of one statement differ only in
# what pgperf does.
replay() {
	local f=$OUT/internal/$1.sql
	{
		echo "SET statement_timeout = '10s';"
		if [ "$3" = none ]; then echo "SET pgperf.track = none;"; fi
		echo "BEGIN;"
		echo "SELECT setseed(0.5);"
		if grep -qi 'repeatable' "$f"; then
			cat "$f"
		else
			sed -E 's/(tablesample[[:space:]]+[a-z_]+[[:space:]]*\([^()]*\))/\1 repeatable (0)/gI' "$f"
		fi | if [ "$2" = stub ]; then sed -E 's/\bpgperf\./pgperf_stub./g'; else cat; fi
		echo
		echo ";"
		echo "ROLLBACK;"
	} | "$PGBIN/psql" -X -q -d "$TARGET" -v VERBOSITY=verbose 2>&1 >/dev/null |
		sed -n -E 's/^(psql:[^ ]*: )?(ERROR|FATAL|PANIC):  ([0-9A-Z]{5}): (.*)$/\3\t\4/p' | head -1 |
		sed -E 's/ at character [0-9]+$//' || true
}
classify() {
	local n lvl code locpg ctxpg calls locfn first verdict want r1 r3 note
	PG_INTERNAL=0
	: >"$OUT/internal.txt"
	[ -s "$OUT/internal/list.tsv" ] || return 0
	if [ "$REPLAY" = 1 ] && ! make_stubs; then
		log "could not make the stubs: internal errors not replayed"
		REPLAY=0
	fi
	note="not replayed"
	[ "$REPLAY" = 0 ] || note="the error did not come back on replay"
	while IFS=$'\t' read -r -u 3 n lvl code locpg ctxpg calls locfn first; do
		verdict=
		want="$code"$'\t'"$first"
		if [ "$locpg" = 1 ]; then
			verdict="pgperf: LOCATION in pgperf code"
		elif [ "$ctxpg" = 1 ]; then
			verdict="pgperf: raised inside a pgperf function"
		elif [ "$REPLAY" = 1 ]; then
			r1=$(replay "$n" asis none)
			if [ "$r1" = "$want" ]; then
				if ! grep -q 'pgperf\.' "$OUT/internal/$n.sql"; then
					verdict="not pgperf: comes back with pgperf.track = none (the statement uses no pgperf object)"
				else
					r3=$(replay "$n" stub none)
					if [ "$r3" = "$want" ]; then
						verdict="not pgperf: comes back with pgperf.track = none and pgperf's objects stubbed"
					else
						verdict="pgperf: comes back with pgperf.track = none, but not with pgperf's objects stubbed (then: ${r3:-no error})"
					fi
				fi
			elif [ "$(replay "$n" asis default)" = "$want" ]; then
				verdict="pgperf: comes back only while pgperf tracks statements (with pgperf.track = none: ${r1:-no error})"
			fi
		fi
		if [ -z "$verdict" ]; then
			if [[ $locfn =~ ^[a-z_0-9]+$ ]] && grep -qiE "(^|[^a-z_0-9])$locfn[[:space:]]*\(" "$OUT/internal/$n.sql"; then
				# a function that random arguments reach straight from the
				# statement (intervaltypmodout(int4), ...)
				verdict="not pgperf: raised by $locfn(), which the statement calls ($note)"
			elif [ "$calls" = 1 ]; then
				verdict="pgperf: the statement calls a pgperf function ($note)"
			else
				verdict="not pgperf: raised by the server's code ($note)"
			fi
		fi
		case $verdict in pgperf:*) PG_INTERNAL=$((PG_INTERNAL + 1)) ;; esac
		{
			echo "---- #$n $verdict"
			cat "$OUT/internal/$n.txt"
			echo
		} >>"$OUT/internal.txt"
		log "internal error #$n ($code $first): $verdict"
	done 3<"$OUT/internal/list.tsv"
	if [ "$REPLAY" = 1 ]; then
		sql "DROP SCHEMA pgperf_stub CASCADE" >/dev/null 2>&1 || true
	fi
}
count() { awk -v k="$1" '$1 == k {print $2}' "$OUT/counts.txt"; }
# top_sqlstates PHASE N: the N commonest SQLSTATEs of errors in that phase
top_sqlstates() {
	awk -F'\t' -v ph="$1" '{split($1, a, " ")} a[5] == ph {printf "  %7d  %s  %-5s %-34s %s\n", a[1], a[2], a[3], a[4], $2}' \
		"$OUT/sqlstates.txt" | head -"$2"
}
phase_errors() { awk -F'\t' -v ph="$1" '{split($1, a, " ")} a[5] == ph {n += a[1]} END {print n + 0}' "$OUT/sqlstates.txt"; }
# scan_verdict: prints the counts; FAILED=1 on a crash or a pgperf internal error
scan_verdict() {
	CRASHES=$(count crashes)
	REINIT=$(count reinitializations)
	PANICS=$(count panics)
	TRAPS=$(count assertion_failures)
	INTERNAL=$(count internal_errors)
	echo "crashes: $CRASHES"
	echo "postmaster reinitializations: $REINIT"
	echo "PANICs: $PANICS"
	echo "assertion failures: $TRAPS"
	echo "internal errors: $INTERNAL"
	echo "pgperf internal errors: $PG_INTERNAL"
	[ "$CRASHES" = 0 ] && [ "$REINIT" = 0 ] && [ "$PANICS" = 0 ] && [ "$TRAPS" = 0 ] && [ "$PG_INTERNAL" = 0 ] || FAILED=1
}
# the start of a file, whole lines
excerpt() {
	head -c 8000 "$1" | sed '$d'
	[ "$(stat -c %s "$1")" -le 8000 ] && tail -n 1 "$1" || echo "[...]"
}
scan_details() {
	if [ -s "$OUT/internal.txt" ]; then
		echo
		echo "Internal errors (all in $OUT/internal.txt):"
		excerpt "$OUT/internal.txt"
	fi
	if [ -s "$OUT/crashes.txt" ]; then
		echo
		echo "Crashes (all in $OUT/crashes.txt):"
		excerpt "$OUT/crashes.txt"
	fi
}

FAILED=0
if [ -n "$SCAN_LOG" ]; then
	[ -f "$SCAN_LOG" ] || die "$SCAN_LOG not found"
	tail -c +"$((FROM_OFFSET + 1))" "$SCAN_LOG" >"$TMP/run.log"
	scan_log "$TMP/run.log"
	if [ -n "$CONNSTR" ]; then
		TARGET="$CONNSTR dbname=$DBNAME"
		sql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$TARGET" -Atc "$1"; }
		REPLAY=1
	fi
	classify
	{
		echo "server errors: $(count server_errors); by SQLSTATE (top 10):"
		sort -k1,1nr "$OUT/sqlstates.txt" | head -10 | awk -F'\t' '{split($1, a, " "); printf "  %7d  %s  %-5s %-34s %s\n", a[1], a[2], a[3], a[4], $2}'
		scan_verdict
		scan_details
		echo "RESULT: $([ "$FAILED" = 0 ] && echo PASS || echo FAIL)"
	} | tee "$OUT/summary.txt"
	grep -q '^RESULT: PASS$' "$OUT/summary.txt" || exit 1
	exit 0
fi

command -v "$SQLSMITH" >/dev/null || die "sqlsmith not found (scripts/setup.sh installs it)"
[ -x "$PGBIN/psql" ] || die "$PGBIN/psql not found"
[ -z "$CONNSTR" ] || [ -n "$SERVER_LOG_ARG" ] || die "--connstr needs --server-log"
if [ "$(id -u)" -eq 0 ]; then
	as_pg() { runuser -u postgres -- "$@"; }
	chown postgres: "$TMP"
else
	as_pg() { "$@"; }
fi

# ---------------------------------------------------------------------------
# 1. the server
if [ -z "$CONNSTR" ]; then
	for b in initdb pg_ctl; do
		[ -x "$PGBIN/$b" ] || die "$PGBIN/$b not found"
	done
	port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
	PORT=${PORT:-}
	if [ -z "$PORT" ]; then
		for _ in $(seq 50); do
			PORT=$((20000 + RANDOM % 40000))
			port_in_use "$PORT" || break
		done
	fi
	chmod 700 "$TMP"
	SERVER_LOG=$TMP/server.log
	as_pg "$PGBIN/initdb" -D "$TMP/data" -U postgres -A trust -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 ||
		{ cat "$TMP/initdb.log" >&2; die "initdb failed"; }
	cat >>"$TMP/data/postgresql.conf" <<EOF

# ---- sqlsmith.sh ----
listen_addresses = ''
port = $PORT
unix_socket_directories = '$TMP'
max_connections = 20
shared_buffers = 64MB
max_wal_size = 128MB
fsync = off
jit = off
shared_preload_libraries = 'pg_stat_statements,pgperf'
pgperf.track = all
pgperf.track_planning = on
pgperf.log_regressions = on
pgperf.max = $PGPERF_MAX
pgperf.text_area_size = 1MB
log_line_prefix = '%m [%p] '
log_error_verbosity = verbose
EOF
	as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -l "$SERVER_LOG" -w -t 120 start >/dev/null ||
		{ tail -20 "$SERVER_LOG" >&2; die "server did not start"; }
	RUNNING=1
	CONNSTR="host=$TMP port=$PORT user=postgres"
	LOG_OFFSET=0
	log "throwaway server: socket $TMP, port $PORT"
else
	SERVER_LOG=$SERVER_LOG_ARG
	[ -f "$SERVER_LOG" ] || die "server log $SERVER_LOG not found"
	LOG_OFFSET=$(stat -c %s "$SERVER_LOG")
fi
TARGET="$CONNSTR dbname=$DBNAME"
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$TARGET")
sql() { "${PSQL[@]}" -Atc "$1"; }
# marks the start of a phase in the server log (see scan_log)
phase() { sql "DO \$\$BEGIN RAISE LOG 'sqlsmith.sh phase: $1'; END\$\$"; }

[ "$(sql "SHOW log_error_verbosity")" = verbose ] ||
	die "the server must have log_error_verbosity = verbose (for SQLSTATEs and LOCATIONs in its log)"
SPL=$(sql "SHOW shared_preload_libraries")
[[ ",${SPL// /}," == *,pgperf,* ]] || die "the server does not preload pgperf (shared_preload_libraries = '$SPL')"
[[ ",${SPL// /}," == *,pg_stat_statements,* ]] || die "the server does not preload pg_stat_statements"
log "server: $(sql "SELECT version()" | cut -d' ' -f1-2), pgperf.track = $(sql "SHOW pgperf.track"), pgperf.max = $(sql "SHOW pgperf.max")"
phase setup

# ---------------------------------------------------------------------------
# 2. scenario data
log "loading bookwyrm.sql (scale $BOOKWYRM_SCALE) and channable.sql (scale $CHANNABLE_SCALE)"
"${PSQL[@]}" -v scale="$BOOKWYRM_SCALE" -f "$REPO/test/data/bookwyrm.sql" >"$TMP/load.log" 2>&1 ||
	{ cat "$TMP/load.log" >&2; die "bookwyrm.sql failed"; }
"${PSQL[@]}" -v scale="$CHANNABLE_SCALE" -f "$REPO/test/data/channable.sql" >>"$TMP/load.log" 2>&1 ||
	{ cat "$TMP/load.log" >&2; die "channable.sql failed"; }
sql "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS pgperf"
ROWS=$(sql "SELECT (SELECT count(*) FROM bookwyrm_user) || ' users, ' || (SELECT count(*) FROM bookwyrm_status) || ' statuses, ' || (SELECT count(*) FROM bookwyrm_userblocks) || ' blocks, ' || (SELECT count(*) FROM image_links) || ' image_links'")
log "data: $ROWS"
for t in bookwyrm_user bookwyrm_status image_links; do
	[ "$(sql "SELECT count(*) > 0 FROM $t")" = t ] || die "$t is empty: check the scales"
done

# ---------------------------------------------------------------------------
# 3. sqlsmith
# --verbose: progress on stderr ('.' ok, 'e' error, 't' timeout, 'C' lost
# connection, 'S' syntax error), then "queries: N" and its error report.
# --dump-all-queries: every query on stdout, each ending in ";" at the end of
# a line; only counted here (those that name a pgperf object, and those that
# call a pgperf function), not kept.
log "sqlsmith: $QUERIES queries, seed $SEED, at most $TIMEOUT s${SQLSMITH_OPTS:+, options $SQLSMITH_OPTS}"
phase sqlsmith
START=$(date +%s)
set +e
read -r -a SMITH_EXTRA <<<"$SQLSMITH_OPTS"
timeout "$TIMEOUT" "$SQLSMITH" --target="$TARGET" --max-queries="$QUERIES" --seed="$SEED" \
	--verbose --dump-all-queries ${SMITH_EXTRA[@]+"${SMITH_EXTRA[@]}"} 2>"$OUT/sqlsmith.stderr" |
	awk '/pgperf\./ { p = 1 } /pgperf\.[a-z_]+\(/ { f = 1 }
		/;$/ { n++; if (p) np++; if (f) nf++; p = f = 0 }
		END { printf "%d %d %d\n", n, np, nf }' >"$TMP/dumped"
SMITH_RC=${PIPESTATUS[0]}
set -e
ELAPSED=$(($(date +%s) - START))
read -r DUMPED PGPERF_QUERIES PGPERF_CALLS <"$TMP/dumped"
SMITH_QUERIES=$( (grep -E '^queries: [0-9]+' "$OUT/sqlsmith.stderr" || true) | tail -1 | awk '{print $2}')
SMITH_RATE=$( (grep -E '^error rate: ' "$OUT/sqlsmith.stderr" || true) | tail -1 | awk '{print $3}')
# the progress characters: lines made only of them
progress() { (grep -E '^[.etCS]+$' "$OUT/sqlsmith.stderr" || true) | tr -cd "$1" | wc -c; }
SMITH_OK=$(progress .)
SMITH_ERR=$(progress e)
SMITH_TIMEOUTS=$(progress t)
SMITH_LOST=$(progress C)
log "sqlsmith exited with status $SMITH_RC after $ELAPSED s"

# ---------------------------------------------------------------------------
# 4. pgperf still works after it
phase checks
CHECKS_FAILED=0
check_failed() { log "CHECK FAILED: $*"; CHECKS_FAILED=$((CHECKS_FAILED + 1)); }
readable() {
	local v n
	for v in statements plans info windows plan_changes regressions; do
		n=$(sql "SELECT count(*) FROM pgperf.$v" 2>&1) || { check_failed "pgperf.$v unreadable: $n"; continue; }
		echo "pgperf.$v=$n"
	done
	n=$(sql "SELECT count(*) FROM pg_stat_statements" 2>&1) || check_failed "pg_stat_statements unreadable: $n"
	echo "pg_stat_statements=$n"
	# these may fail cleanly (with a single window there is nothing to
	# compare); how they fail is in the server log, examined below
	sql "SELECT length(pgperf.report())" >/dev/null 2>&1 || true
	sql "SELECT count(*) FROM pgperf.compare()" >/dev/null 2>&1 || true
}
readable >"$TMP/after-smith"
STATS_AFTER_SMITH=$(paste -sd' ' "$TMP/after-smith")
PROBE=$("${PSQL[@]}" -At 2>&1 <<'EOF'
SELECT 1 AS sqlsmith_probe \g /dev/null
SELECT count(*) FROM pgperf.statements
 WHERE query LIKE '%sqlsmith_probe%' AND query NOT LIKE '%pgperf.statements%' AND calls > 0;
EOF
) || true
[[ $PROBE =~ ^[1-9][0-9]*$ ]] || check_failed "a new statement after sqlsmith is not in pgperf.statements (got '$PROBE')"

# ---------------------------------------------------------------------------
# 5. pgperf's functions with edge-case arguments
# Values by argument type; types not listed get NULL only.  Generated from the
# catalog, so that a new function is covered without a change here.
phase edge
"${PSQL[@]}" -At >"$TMP/edge.sql" <<'EOF'
WITH RECURSIVE v(t, val) AS (VALUES
  ('int4'::regtype, 'NULL'), ('int4', '0'), ('int4', '-1'), ('int4', '1'), ('int4', '2147483647'), ('int4', '-2147483648'),
  ('int8', 'NULL'), ('int8', '0'), ('int8', '-1'), ('int8', '9223372036854775807'), ('int8', '-9223372036854775808'),
  ('oid', 'NULL'), ('oid', '0'), ('oid', '1'), ('oid', '4294967295'),
  ('bool', 'NULL'), ('bool', 'true'), ('bool', 'false'),
  ('float8', 'NULL'), ('float8', '0'), ('float8', '-1'), ('float8', '0.25'), ('float8', '''NaN'''),
  ('float8', '''Infinity'''), ('float8', '''-Infinity'''), ('float8', '1e308'),
  ('text', 'NULL'), ('text', ''''''), ('text', '''start'''), ('text', '''no such label'''),
  ('text', 'repeat(''x'', 100000)'), ('text', '''SELECT 1'''),
  ('text', '''SELECT * FROM bookwyrm_status WHERE id = $1'''), ('text', '''SELECT 1; SELECT 2'''),
  ('text', '''VACUUM'''), ('text', '''EXPLAIN ANALYZE SELECT 1'''), ('text', '''SELECT'''),
  ('text', '''DELETE FROM image_links'''), ('text', '''SELECT pgperf.plan_shape(''''SELECT 1'''')'''),
  ('text', 'E''\u00e9\u2603 '''),
  ('jsonb', 'NULL'), ('jsonb', '''{}'''), ('jsonb', '''[]'''), ('jsonb', '''null'''), ('jsonb', '''"x"'''),
  ('jsonb', '''{"pgperf_baseline": 1}'''), ('jsonb', '''{"pgperf_baseline": 1, "statements": null}'''),
  ('jsonb', '''{"pgperf_baseline": 1, "statements": [{}, null, 1]}'''),
  ('jsonb', '''{"pgperf_baseline": 1, "statements": [{"query": 1, "calls": "x", "blks_per_call": [], "planids": {}, "plan": 2}]}'''),
  ('jsonb', '''{"pgperf_baseline": 1, "statements": [{"query": "SELECT 1", "calls": -1, "blks_per_call": -1e300, "planids": ["x", null]}]}'''),
  ('jsonb', '''{"pgperf_baseline": 2, "statements": []}'''),
  ('jsonb', 'pgperf.baseline()')
), f AS (
  SELECT p.oid, p.proname,
         coalesce(string_to_array(nullif(p.proargtypes::text, ''), ' ')::oid[], '{}') AS types
    FROM pg_proc p
   WHERE p.pronamespace = 'pgperf'::regnamespace AND p.prokind = 'f'
     AND p.proname <> 'try_index'     -- builds indexes and runs workloads: not here
), c(oid, i, args) AS (
  SELECT oid, 0, ARRAY[]::text[] FROM f
  UNION ALL
  SELECT c.oid, c.i + 1,
         c.args || ('(' || coalesce(v.val, 'NULL') || ')::' || format_type(f.types[c.i + 1], NULL))
    FROM c JOIN f USING (oid)
    LEFT JOIN v ON v.t::oid = f.types[c.i + 1]
   WHERE c.i < cardinality(f.types)
)
-- every combination, but at most 400 per function (a fixed sample of them,
-- by the md5 of the arguments): check_baseline() alone has 36,000
SELECT format('SELECT count(*) FROM pgperf.%I(%s);', proname, array_to_string(args, ', '))
  FROM (SELECT f.proname, c.args,
               row_number() OVER (PARTITION BY c.oid ORDER BY md5(array_to_string(c.args, ', '))) AS k
          FROM c JOIN f USING (oid)
         WHERE c.i = cardinality(f.types)) AS calls
 WHERE k <= 400
 ORDER BY proname, args;
EOF
EDGE_CALLS=$(wc -l <"$TMP/edge.sql")
EDGE_FUNCS=$(sed -E 's/^SELECT count\(\*\) FROM pgperf\.([a-z_"]+)\(.*/\1/' "$TMP/edge.sql" | sort -u | paste -sd' ')
log "edge cases: $EDGE_CALLS calls of $EDGE_FUNCS"
# one statement per line, errors expected (no ON_ERROR_STOP)
"$PGBIN/psql" -X -q -d "$TARGET" -f "$TMP/edge.sql" >/dev/null 2>"$TMP/edge.err" || true
phase end
readable >"$TMP/at-end"
STATS_AT_END=$(paste -sd' ' "$TMP/at-end")
UP=$(sql "SELECT 'up'" 2>/dev/null || echo down)
[ "$UP" = up ] || check_failed "the server does not answer at the end"

# ---------------------------------------------------------------------------
# 6. the server log
tail -c +"$((LOG_OFFSET + 1))" "$SERVER_LOG" >"$TMP/run.log"
scan_log "$TMP/run.log"
REPLAY=1
classify
{
	echo "SQLSMITH_OPTS=$SQLSMITH_OPTS"
	echo "QUERIES=$QUERIES SEED=$SEED TIMEOUT=$TIMEOUT BOOKWYRM_SCALE=$BOOKWYRM_SCALE CHANNABLE_SCALE=$CHANNABLE_SCALE PGPERF_MAX=$PGPERF_MAX"
	echo "target: $TARGET"
	echo "data: $ROWS"
	echo "pgperf source files: $PGPERF_FILES"
} >"$OUT/parameters.txt"

{
	echo "sqlsmith queries: ${SMITH_QUERIES:-none reported} of $QUERIES (seed $SEED, $ELAPSED s, exit status $SMITH_RC)"
	echo "sqlsmith outcomes: $SMITH_OK ok, $SMITH_ERR errors, $SMITH_TIMEOUTS timeouts, $SMITH_LOST lost connections (error rate ${SMITH_RATE:-?})"
	echo "queries naming a pgperf object: $PGPERF_QUERIES of $DUMPED ($PGPERF_CALLS calling a pgperf function)"
	echo "server errors during sqlsmith: $(phase_errors sqlsmith); by SQLSTATE (top 10):"
	top_sqlstates sqlsmith 10
	echo "edge-case calls of pgperf functions: $EDGE_CALLS, $(phase_errors edge) errors (functions: $EDGE_FUNCS); by SQLSTATE:"
	top_sqlstates edge 10
	scan_verdict
	echo "pgperf after sqlsmith: $STATS_AFTER_SMITH"
	echo "pgperf at the end: $STATS_AT_END"
	echo "new statement recorded after sqlsmith: $([[ $PROBE =~ ^[1-9][0-9]*$ ]] && echo yes || echo no)"
	echo "server up at the end: $UP"
	SMITH_DONE=yes
	if [ "$SMITH_RC" != 0 ] || [ "${SMITH_QUERIES:-0}" -lt "$QUERIES" ]; then
		SMITH_DONE=no
		FAILED=1
	fi
	echo "sqlsmith completed: $SMITH_DONE"
	[ "$CHECKS_FAILED" = 0 ] || FAILED=1
	scan_details
	echo "RESULT: $([ "$FAILED" = 0 ] && echo PASS || echo FAIL)"
} | tee "$OUT/summary.txt"
# the server log is large: kept only as evidence of something
if ! grep -q '^RESULT: PASS$' "$OUT/summary.txt" || [ -s "$OUT/internal/list.tsv" ]; then
	gzip -c "$TMP/run.log" >"$OUT/server.log.gz"
fi
log "evidence in $OUT"
grep -q '^RESULT: PASS$' "$OUT/summary.txt" || exit 1
exit 0
