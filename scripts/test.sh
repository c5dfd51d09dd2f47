#!/usr/bin/env bash
# Runs pgperf's tests, stage by stage.  Every selected stage runs even when an
# earlier one failed; a summary at the end lists each step with its result and
# duration, and the exit status is non-zero if any step failed.
#
#   bash scripts/test.sh                      # what CI runs (the default stages)
#   bash scripts/test.sh unit pg15            # only these stages
#   bash scripts/test.sh --majors 15,17,18    # the stages of these majors (and unit)
#   bash scripts/test.sh --stages unit,pg19   # exactly these stages
#   PGPERF_MAJORS="15 17" PGPERF_STAGES=... bash scripts/test.sh   # the same, by variable
#
# Stages:
#   unit       cmocka tests of src/core
#   pg15       the host's PostgreSQL 15 (Debian's): build, install, pg_regress,
#              isolation and TAP tests
#   assert     the same suite on an assert-enabled PostgreSQL 15 built from
#              Debian's source package (scripts/ci/pg15-assert.sh, cached)
#   pgregress  PostgreSQL's own regression suite on the assert build, without
#              pgperf and with it preloaded (track = all, track_planning = on):
#              the results must be the same
#   pgss       contrib/pg_stat_statements' own tests on the assert build, alone,
#              and with pgperf loaded before and after it
#   pg17 pg18 pg19   the suite in a chroot with that major (scripts/ci/chroot.sh,
#              cached): unit tests with the chroot's compiler, build, install,
#              pg_regress, isolation and TAP
#   valgrind   pgperf's pg_regress tests on the assert build under valgrind
#              memcheck (scripts/valgrind.sh; not in the default set)
#
# Majors: 15 selects pg15, assert, pgregress and pgss; 17, 18 and 19 select
# pg17, pg18, pg19.  PGPERF_MAJORS defaults to "15 17 18 19": every major
# pgperf supports and can test here (16 is in no Debian suite).  unit always runs unless --stages/PGPERF_STAGES
# or stage names say otherwise.
#
# As root (a fresh Debian 12 machine, or CI) it installs what it needs
# (scripts/setup.sh), and runs servers as the postgres user in copies of the
# tree that user owns (initdb and postgres refuse root).  As another user only
# unit and pg15 run, and pg15 expects setup.sh and `make install` done.
# Caches (the assert build, the chroots) live in PGPERF_CACHE
# (/var/cache/pgperf).  Failed steps leave their output in test-output/<step>/.
# LC_ALL is C.UTF-8 for every step, so that TAP clusters are UTF8 too
# (pg_regress gets --encoding=UTF8 --no-locale from the Makefile).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/ci/lib.sh"
export LC_ALL=C.UTF-8
unset LANG LANGUAGE PGHOST PGPORT PGDATABASE PGUSER PGDATA

ALL_STAGES="unit pg15 assert pgregress pgss pg17 pg18 pg19 valgrind"
MATRIX_MAJORS="17 18 19"
is_root=no
[ "$(id -u)" -eq 0 ] && is_root=yes

usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }

# --- what runs -------------------------------------------------------------------
majors=${PGPERF_MAJORS:-15 17 18 19}
stages=${PGPERF_STAGES:-}
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage ;;
    --majors) majors=${2:?--majors needs a list}; shift 2 ;;
    --majors=*) majors=${1#--majors=}; shift ;;
    --stages) stages=${2:?--stages needs a list}; shift 2 ;;
    --stages=*) stages=${1#--stages=}; shift ;;
    server) stages="$stages pg15"; shift ;;   # the old name of pg15
    -*) echo "test.sh: unknown option $1" >&2; usage 2 ;;
    *) stages="$stages $1"; shift ;;
  esac
done
majors=${majors//,/ }
stages=${stages//,/ }
if [ -z "${stages// /}" ]; then
  stages=unit
  for m in $majors; do
    case $m in
      15) if [ $is_root = yes ]; then stages="$stages pg15 assert pgregress pgss"; else stages="$stages pg15"; fi ;;
      17|18|19) stages="$stages pg$m" ;;
      *) echo "test.sh: no stages for PostgreSQL $m (15, 17, 18, 19)" >&2; exit 2 ;;
    esac
  done
fi
for s in $stages; do
  case " $ALL_STAGES " in *" $s "*) ;; *) echo "test.sh: unknown stage $s ($ALL_STAGES)" >&2; exit 2 ;; esac
done
selected() { case " $stages " in *" $1 "*) return 0 ;; esac; return 1; }

# --- steps and the summary ---------------------------------------------------------
results=()      # "name|status|seconds"
run_start=$(date +%s)
# step NAME FUNCTION ARGS...: runs one step, records pass/FAIL and its time
step() {
  local name=$1 t0 rc; shift
  echo
  echo "=== $name ($(date +%H:%M:%S))"
  t0=$(date +%s)
  "$@"; rc=$?
  local status=pass
  [ $rc -eq 0 ] || status=FAIL
  results+=("$name|$status|$(( $(date +%s) - t0 ))")
  echo "=== $name: $status in $(( $(date +%s) - t0 )) s"
  return $rc
}
# skip NAME WHY: a step that could not run (counts as failed: nothing was tested)
skip() {
  echo "=== $1: not run ($2)"
  results+=("$1|not run: $2|0")
}
summary() {
  local r name status secs npass=0 nfail=0
  echo
  echo "== summary"
  for r in "${results[@]}"; do
    IFS='|' read -r name status secs <<<"$r"
    printf '  %-44s %-30s %6s s\n' "$name" "$status" "$secs"
    if [ "$status" = pass ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi
  done
  printf '  %-44s %-30s %6s s\n' total "" "$(( $(date +%s) - run_start ))"
  echo "steps: $npass passed, $nfail failed"
  [ $nfail -eq 0 ]
}

# --- helpers -----------------------------------------------------------------------
work=$(mktemp -d /tmp/pgperf-test.XXXXXX)
chmod 755 "$work"
cleanup() { [ -n "${PGPERF_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# copy_tree DEST: the tree without .git and earlier results, owned by postgres when root
copy_tree() {
  rm -rf "$1"; mkdir -p "$1"
  tar -C "$here" --exclude=.git --exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./results \
      --exclude=./output_iso --exclude=./test-output --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
      -cf - . | tar -C "$1" -xf -
  [ $is_root = no ] || chown -R postgres "$1"
}
as_pg() { if [ $is_root = yes ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# keep DIR STEP: copy a failed step's evidence to test-output/STEP (git-ignored)
keep() {
  local dst=$here/test-output/$2 d
  rm -rf "$dst"; mkdir -p "$dst"
  for d in results output_iso tmp_check tmp_check_iso regression.diffs regression.out log suite.log; do
    [ -e "$1/$d" ] && cp -r "$1/$d" "$dst/" 2>/dev/null
  done
  echo "(output kept in ${dst#"$here"/})"
}
# show DIR: the diffs and failed TAP tests' logs of a suite run
show() {
  local f t
  for f in "$1"/regression.diffs "$1"/output_iso/regression.diffs; do
    [ -s "$f" ] && { echo "---- ${f#"$1"/} (first 200 lines, cut at 300 columns)"; head -n 200 "$f" | cut -c1-300; }
  done
  # prove's lines for the tests that did not pass: "test/t/NNN_x.pl ..... " + no "ok"
  [ -f "$1/suite.log" ] || return 0
  for t in $(sed -n -E 's#^test/t/([^ ]+)\.pl \.+ ?(.*)$#\1 \2#p' "$1/suite.log" | awk '$2 != "ok" && $2 != "skipped:" {print $1}'); do
    f=$1/tmp_check/log/regress_log_$t
    [ -f "$f" ] && { echo "---- tmp_check/log/regress_log_$t (last 40 lines)"; tail -n 40 "$f"; }
  done
  return 0
}
# suite DIR RUNDIR PG_CONFIG WHICH RUN...: one of pgperf's suites (regress,
# isolation, tap) through PGXS's installcheck, run by RUN (a prefix) in
# RUNDIR, which is DIR as RUN sees it (a chroot's path, or DIR itself)
suite() {
  local dir=$1 rundir=$2 pgc=$3 which=$4; shift 4
  local sel=()
  case $which in
    regress) sel=(ISOLATION= TAP_TESTS=) ;;
    isolation) sel=(REGRESS= TAP_TESTS=) ;;
    tap) sel=(REGRESS= ISOLATION=) ;;
  esac
  rm -rf "$dir/results" "$dir/output_iso" "$dir/tmp_check" "$dir/tmp_check_iso" "$dir/regression.diffs"
  "$@" make -C "$rundir" -s installcheck PG_CONFIG="$pgc" "${sel[@]}" 2>&1 | tee "$dir/suite.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] && return 0
  show "$dir"
  return 1
}

# --- stages --------------------------------------------------------------------------
setup_host() { bash "$here/scripts/setup.sh"; }

unit_tests() { make -C "$here" -s unittest; }

# pg15: the host's server
pg15_build() {
  copy_tree "$work/pg15" || return 1
  as_pg make -C "$work/pg15" -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config || return 1
  if [ $is_root = yes ]; then
    make -C "$work/pg15" -s install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config || return 1
  fi
}
pg15_suite() {
  local pfx=(); [ $is_root = yes ] && pfx=(runuser -u postgres --)
  PATH="/usr/lib/postgresql/15/bin:$PATH" suite "$work/pg15" "$work/pg15" /usr/lib/postgresql/15/bin/pg_config "$1" "${pfx[@]}" \
    || { keep "$work/pg15" "pg15-$1"; return 1; }
}

# assert: the assert-enabled build; pgperf built against it and installed into its prefix
ASSERT_PREFIX=$PGPERF_CACHE/pg15-assert
assert_build_pg() { bash "$here/scripts/ci/pg15-assert.sh" >/dev/null; }
assert_build_pgperf() {
  local pgc=$ASSERT_PREFIX/bin/pg_config
  copy_tree "$work/assert" || return 1
  runuser -u postgres -- make -C "$work/assert" -s PG_CONFIG="$pgc" || return 1
  make -C "$work/assert" -s install PG_CONFIG="$pgc" || return 1
  # pgperf.so where the assert server looks for it, never in the system's directory
  [ -f "$("$pgc" --pkglibdir)/pgperf.so" ] || { echo "pgperf.so not in $("$pgc" --pkglibdir)"; return 1; }
}
assert_suite() {
  PATH="$ASSERT_PREFIX/bin:$PATH" suite "$work/assert" "$work/assert" "$ASSERT_PREFIX/bin/pg_config" "$1" runuser -u postgres -- \
    || { keep "$work/assert" "assert-$1"; return 1; }
}
assert_ready=unknown
# the assert build and pgperf installed in it, once per run (for assert, pgregress, pgss, valgrind)
need_assert() {
  if [ $assert_ready = unknown ]; then
    assert_ready=no
    step "assert: build PostgreSQL" assert_build_pg \
      && step "assert: build pgperf" assert_build_pgperf && assert_ready=yes
  fi
  [ $assert_ready = yes ]
}

# pgregress: PostgreSQL's own regression suite (installcheck: pg_regress and
# the parallel schedule against a running server), without and with pgperf
pg_regress_run() {   # NAME PORT CONF: a server of the assert build with CONF, the suite against it
  local name=$1 port=$2 conf=$3 out=$work/pgregress/$1 rc=0
  . "$ASSERT_PREFIX/build.env"
  rm -rf "$out"; mkdir -p "$out"; chown postgres "$out"
  runuser -u postgres -- "$ASSERT_PREFIX/bin/initdb" -D "$out/data" -A trust -N --encoding=UTF8 --no-locale \
    >"$out/initdb.log" 2>&1 || { cat "$out/initdb.log"; return 1; }
  # what pg_regress's own temporary instances set, and the run's settings
  { cat "$conf"
    echo "port = $port"; echo "listen_addresses = ''"; echo "unix_socket_directories = '$out'"
    echo "max_prepared_transactions = 2"; echo "fsync = off"
    echo "log_line_prefix = '%m %b[%p] %q%a '"; echo "log_autovacuum_min_duration = 0"
    echo "log_lock_waits = on"; echo "log_temp_files = 128kB"
  } >> "$out/data/postgresql.conf"
  runuser -u postgres -- "$ASSERT_PREFIX/bin/pg_ctl" start -w -t 120 -D "$out/data" -l "$out/server.log" >/dev/null \
    || { tail -n 20 "$out/server.log"; return 1; }
  (cd "$out" && runuser -u postgres -- "$PG_SRC/src/test/regress/pg_regress" \
      --inputdir="$PG_SRC/src/test/regress" --outputdir="$out" --bindir="$ASSERT_PREFIX/bin" \
      --dlpath="$PG_SRC/src/test/regress" --schedule="$PG_SRC/src/test/regress/parallel_schedule" \
      --host="$out" --port="$port" --max-concurrent-tests=20) >"$out/pg_regress.log" 2>&1 || rc=$?
  tail -n 3 "$out/pg_regress.log"
  if grep -q "pgperf" "$conf"; then
    # pgperf was there: it recorded the suite's statements (those of the last windows:
    # the suite's DDL opens a window each time, and pgperf.max_windows are kept)
    local n
    n=$("$ASSERT_PREFIX/bin/psql" -X -At -h "$out" -p "$port" -U postgres -d postgres -c "CREATE EXTENSION pgperf" \
        -c "SELECT count(*) FROM pgperf.statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'regression'" 2>&1 | tail -n 1)
    echo "pgperf recorded $n statement entries in the regression database"
    case $n in ''|*[!0-9]*) rc=1 ;; *) [ "$n" -ge 100 ] || rc=1 ;; esac
  fi
  runuser -u postgres -- "$ASSERT_PREFIX/bin/pg_ctl" stop -w -t 300 -D "$out/data" -m fast >/dev/null || rc=1
  if grep -E "TRAP:|terminated by signal|was terminated by exception|PANIC:" "$out/server.log"; then
    echo "the server crashed (server.log above)"
    rc=1
  fi
  return $rc
}
# the tests and their results in a regression.out: "name status"
regress_results() {
  sed -n -E 's/^(test |ok [0-9]+ +[-+]? *|not ok [0-9]+ +[-+]? *| +)?([a-z0-9_.]+) +\.\.\. +(ok|FAILED|failed \(ignored\)).*/\2 \3/p' "$1" | sort
}
pgregress_compare() {
  local a=$work/pgregress/without b=$work/pgregress/with
  # (pg_regress removes regression.out when every test passed: read its output)
  [ -f "$a/pg_regress.log" ] && [ -f "$b/pg_regress.log" ] || { echo "a run left no output"; return 1; }
  regress_results "$a/pg_regress.log" > "$work/pgregress/without.txt"
  regress_results "$b/pg_regress.log" > "$work/pgregress/with.txt"
  local n; n=$(wc -l < "$work/pgregress/without.txt")
  [ "$n" -gt 100 ] || { echo "only $n tests found in regression.out"; return 1; }
  echo "without pgperf: $n tests, $(grep -vc ' ok$' "$work/pgregress/without.txt") failed; with pgperf: $(wc -l < "$work/pgregress/with.txt") tests, $(grep -vc ' ok$' "$work/pgregress/with.txt") failed"
  if ! diff -u "$work/pgregress/without.txt" "$work/pgregress/with.txt"; then
    echo "---- with pgperf: regression.diffs (first 300 lines)"
    head -n 300 "$b/regression.diffs" 2>/dev/null | cut -c1-300
    rm -rf "$here/test-output/pgregress"; mkdir -p "$here/test-output/pgregress"
    cp "$a/pg_regress.log" "$here/test-output/pgregress/without.out"
    cp "$b/pg_regress.log" "$here/test-output/pgregress/with.out"
    cp "$b/server.log" "$here/test-output/pgregress/with-server.log" 2>/dev/null
    cp "$b/regression.diffs" "$here/test-output/pgregress/with.diffs" 2>/dev/null
    [ -f "$a/regression.diffs" ] && cp "$a/regression.diffs" "$here/test-output/pgregress/without.diffs"
    echo "(output kept in test-output/pgregress)"
    return 1
  fi
  # the same set; a test failing in both runs must fail the same way
  if [ -f "$a/regression.diffs" ] || [ -f "$b/regression.diffs" ]; then
    if ! diff -q <(sed -E 's#^(diff|---|\+\+\+) .*#\1#' "$a/regression.diffs" 2>/dev/null) \
                 <(sed -E 's#^(diff|---|\+\+\+) .*#\1#' "$b/regression.diffs" 2>/dev/null) >/dev/null; then
      echo "the same tests failed, with different diffs:"
      diff -u <(sed -E 's#^(diff|---|\+\+\+) .*#\1#' "$a/regression.diffs") \
              <(sed -E 's#^(diff|---|\+\+\+) .*#\1#' "$b/regression.diffs") | head -n 200
      return 1
    fi
    echo "note: tests that fail without pgperf too (same diffs): $(grep -v ' ok$' "$work/pgregress/without.txt" | cut -d' ' -f1 | tr '\n' ' ')"
  fi
  return 0
}
# compute_query_id = regress in both runs: a module that computes query ids
# (pgperf, pg_stat_statements) otherwise adds "Query Identifier" to every
# EXPLAIN VERBOSE, which PostgreSQL's own suite hides with this setting.
PGREGRESS_CONF="compute_query_id = regress"
PGPERF_FULL_CONF="shared_preload_libraries = 'pgperf'
pgperf.track = all
pgperf.track_planning = on"
pgregress_without() {
  mkdir -p "$work/pgregress"
  printf '%s\n' "$PGREGRESS_CONF" > "$work/pgregress/plain.conf"
  pg_regress_run without $((55100 + RANDOM % 400)) "$work/pgregress/plain.conf"
}
pgregress_with() {
  mkdir -p "$work/pgregress"
  printf '%s\n' "$PGREGRESS_CONF" "$PGPERF_FULL_CONF" > "$work/pgregress/pgperf.conf"
  pg_regress_run with $((55500 + RANDOM % 400)) "$work/pgregress/pgperf.conf"
}

# pgss: contrib/pg_stat_statements' tests; CONF lines are added after its own
pgss_run() {   # NAME [EXTRA CONF LINES]
  local out=$work/pgss/$1 extra=${2:-}
  . "$ASSERT_PREFIX/build.env"
  rm -rf "$out"; mkdir -p "$out"; chown postgres "$out"
  local opts=(--temp-config="$PG_SRC/contrib/pg_stat_statements/pg_stat_statements.conf")
  if [ -n "$extra" ]; then
    printf '%s\n' "$extra" > "$out/extra.conf"
    opts+=(--temp-config="$out/extra.conf")
  fi
  (cd "$out" && runuser -u postgres -- "$PG_SRC/src/test/regress/pg_regress" \
      --inputdir="$PG_SRC/contrib/pg_stat_statements" --outputdir="$out" --bindir="$ASSERT_PREFIX/bin" \
      --temp-instance="$out/tmp_check" --encoding=UTF8 --no-locale --dbname=contrib_regression \
      "${opts[@]}" pg_stat_statements oldextversions) >"$out/pg_regress.log" 2>&1
  local rc=$?
  cat "$out/pg_regress.log" | grep -E '\.\.\.|tests|passed|failed' | head -n 20
  if [ $rc -ne 0 ]; then
    [ -f "$out/regression.diffs" ] && { echo "---- regression.diffs (first 200 lines)"; head -n 200 "$out/regression.diffs"; }
    keep "$out" "pgss-$1"
  fi
  return $rc
}

# pgNN: the suite in a chroot
matrix_stage() {
  local m=$1 ch="bash $here/scripts/ci/chroot.sh $m"
  local pgc=/usr/lib/postgresql/$m/bin/pg_config dir=/build/pgperf
  if [ $is_root = no ]; then skip "pg$m" "needs root"; return; fi
  step "pg$m: chroot" bash "$here/scripts/ci/chroot.sh" "$m" || { skip "pg$m: tests" "no chroot"; return; }
  local root=$PGPERF_CACHE/chroot-$m
  rm -rf "$root$dir"; mkdir -p "$root$dir"
  tar -C "$here" --exclude=.git --exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./results \
      --exclude=./output_iso --exclude=./test-output --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
      --exclude='./test/unit/test_*[!c]' -cf - . | tar -C "$root$dir" -xf -
  $ch run chown -R postgres "$dir" >/dev/null
  local pg=(runuser -u postgres -- env LC_ALL=C.UTF-8)
  step "pg$m: unit" $ch run "${pg[@]}" make -C "$dir/test/unit" -s check
  if ! step "pg$m: build" $ch run "${pg[@]}" make -C "$dir" -s PG_CONFIG="$pgc"; then
    skip "pg$m: regress, isolation, tap" "the build failed"
    return
  fi
  step "pg$m: install" $ch run make -C "$dir" -s install PG_CONFIG="$pgc" || { skip "pg$m: regress, isolation, tap" "install failed"; return; }
  local which
  for which in regress isolation tap; do
    step "pg$m: $which" matrix_suite "$m" "$which"
  done
}
matrix_suite() {   # MAJOR WHICH
  local m=$1 which=$2 dir=/build/pgperf
  local root=$PGPERF_CACHE/chroot-$m
  suite "$root$dir" "$dir" "/usr/lib/postgresql/$m/bin/pg_config" "$which" \
    bash "$here/scripts/ci/chroot.sh" "$m" run runuser -u postgres -- env LC_ALL=C.UTF-8 \
    || { keep "$root$dir" "pg$m-$which"; return 1; }
}

# --- run -----------------------------------------------------------------------------
echo "test.sh: stages: $stages (PGPERF_CACHE=$PGPERF_CACHE)"
rm -rf "$here/test-output"    # only this run's failures in it
if [ $is_root = yes ]; then
  step setup setup_host
fi

selected unit && step unit unit_tests

if selected pg15; then
  if step "pg15: build" pg15_build; then
    for w in regress isolation tap; do step "pg15: $w" pg15_suite $w; done
  else
    skip "pg15: regress, isolation, tap" "the build failed"
  fi
fi

for s in assert pgregress pgss valgrind; do
  if selected $s && [ $is_root = no ]; then skip "$s" "needs root"; fi
done
if [ $is_root = yes ]; then
  if selected assert; then
    if need_assert; then
      for w in regress isolation tap; do step "assert: $w" assert_suite $w; done
    else
      skip "assert: regress, isolation, tap" "no assert build"
    fi
  fi
  if selected pgregress; then
    if need_assert; then
      step "pgregress: without pgperf" pgregress_without
      step "pgregress: with pgperf" pgregress_with
      step "pgregress: same results" pgregress_compare
    else
      skip pgregress "no assert build"
    fi
  fi
  if selected pgss; then
    if need_assert; then
      step "pgss: alone" pgss_run alone
      local_conf="pgperf.track = all
pgperf.track_planning = on"
      step "pgss: pg_stat_statements,pgperf" pgss_run pgss-pgperf "shared_preload_libraries = 'pg_stat_statements,pgperf'"
      step "pgss: pgperf,pg_stat_statements" pgss_run pgperf-pgss "shared_preload_libraries = 'pgperf,pg_stat_statements'"
      step "pgss: pg_stat_statements,pgperf, track all" pgss_run pgss-pgperf-all "shared_preload_libraries = 'pg_stat_statements,pgperf'
$local_conf"
      step "pgss: pgperf,pg_stat_statements, track all" pgss_run pgperf-pgss-all "shared_preload_libraries = 'pgperf,pg_stat_statements'
$local_conf"
    else
      skip pgss "no assert build"
    fi
  fi
fi

for m in $MATRIX_MAJORS; do
  selected "pg$m" && matrix_stage "$m"
done

if selected valgrind && [ $is_root = yes ]; then
  if need_assert; then
    step valgrind bash "$here/scripts/valgrind.sh"
  else
    skip valgrind "no assert build"
  fi
fi

summary
