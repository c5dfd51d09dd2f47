#!/usr/bin/env bash
# pgperf's pg_regress tests against the assert-enabled PostgreSQL 15
# (scripts/ci/pg15-assert.sh, built with USE_VALGRIND) whose server runs under
# valgrind memcheck, every backend included (--trace-children=yes).
#
#   bash scripts/valgrind.sh [TEST...]     # default: REGRESS less VALGRIND_SKIP
#
# VALGRIND_SKIP (default "hostile"): tests left out of the default list.
# hostile's 100,000-element and 1 MB statements ran for more than 25 minutes
# under memcheck on two cores without finishing; name it to run it anyway.
#
# Passes when valgrind reports no error in any process (with PostgreSQL's own
# src/tools/valgrind.supp and test/valgrind.supp) and no backend crashed.
# The pg_regress results are reported too, but do not decide: under valgrind
# everything runs 20-50 times slower, and a test that depends on timing may
# differ.  Logs: test-output/valgrind/ (one file per process that reported
# something).  VALGRIND_TRACK_ORIGINS=no makes it faster and the reports of
# uninitialised values less precise.  Runs as root; the server runs as postgres.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/ci/lib.sh"
ci_need_root
export LC_ALL=C.UTF-8

prefix=$(bash "$here/scripts/ci/pg15-assert.sh")
. "$prefix/build.env"
pgc=$prefix/bin/pg_config
ci_apt_install valgrind

work=$(mktemp -d /tmp/pgperf-valgrind.XXXXXX)
chmod 755 "$work"; chown postgres "$work"
out=$here/test-output/valgrind
rm -rf "$out"; mkdir -p "$out"
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    runuser -u postgres -- "$prefix/bin/pg_ctl" stop -D "$work/data" -m immediate -w -t 120 >/dev/null 2>&1 || true
  fi
  [ -n "${PGPERF_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# pgperf, built against the assert build and installed into its prefix
tar -C "$here" --exclude=.git --exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./results \
    --exclude=./output_iso --exclude=./test-output --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
    -cf - . | (mkdir -p "$work/tree" && tar -C "$work/tree" -xf -)
chown -R postgres "$work/tree"
runuser -u postgres -- make -C "$work/tree" -s PG_CONFIG="$pgc"
make -C "$work/tree" -s install PG_CONFIG="$pgc"

if [ $# -gt 0 ]; then
  tests=("$@")
else
  read -r -a all <<<"$(make -s -C "$work/tree" PG_CONFIG="$pgc" -f Makefile -f - print-regress <<'MK'
print-regress: ; @echo $(REGRESS)
MK
)"
  tests=()
  for t in "${all[@]}"; do
    case " ${VALGRIND_SKIP-hostile} " in *" $t "*) ci_log "valgrind: $t left out (VALGRIND_SKIP)" ;; *) tests+=("$t") ;; esac
  done
fi

# a cluster configured as pg_regress's temp instance would be
port=$(( 56000 + RANDOM % 1000 ))
runuser -u postgres -- "$prefix/bin/initdb" -D "$work/data" -A trust -N --encoding=UTF8 --no-locale >/dev/null
{
  cat "$here/test/pgperf.conf"
  echo "port = $port"
  echo "listen_addresses = ''"
  echo "unix_socket_directories = '$work'"
  echo "max_prepared_transactions = 2"
  echo "log_line_prefix = '%m [%p] '"
  echo "fsync = off"
} >> "$work/data/postgresql.conf"

supp=(--suppressions="$PG_SRC/src/tools/valgrind.supp")
[ -f "$here/test/valgrind.supp" ] && supp+=(--suppressions="$here/test/valgrind.supp")
start=$(date +%s)
ci_log "valgrind: starting the server on port $port (${#tests[@]} tests)"
runuser -u postgres -- valgrind --quiet --trace-children=yes \
  --track-origins="${VALGRIND_TRACK_ORIGINS:-yes}" --read-var-info=no --num-callers=30 \
  --leak-check=no --gen-suppressions=all "${supp[@]}" \
  --log-file="$work/valgrind.%p.log" \
  "$prefix/bin/postgres" -D "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  "$prefix/bin/pg_isready" -q -h "$work" -p "$port" -U postgres && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; ci_die "the server under valgrind did not start"; }
  sleep 1
done
"$prefix/bin/pg_isready" -q -h "$work" -p "$port" -U postgres || ci_die "the server under valgrind did not accept connections in 300 s"

mkdir -p "$work/regress" && chown postgres "$work/regress"
regress_rc=0
(cd "$work/tree" && runuser -u postgres -- "$prefix/lib/postgresql/pgxs/src/test/regress/pg_regress" \
   --inputdir="$work/tree" --outputdir="$work/regress" --bindir="$prefix/bin" \
   --host="$work" --port="$port" --dbname=contrib_regression "${tests[@]}") || regress_rc=$?
runuser -u postgres -- "$prefix/bin/pg_ctl" stop -D "$work/data" -m fast -w -t 600 >/dev/null || true
wait "$server_pid" || true
server_pid=
ci_log "valgrind: ${#tests[@]} tests in $(( $(date +%s) - start )) s"

cp "$work/server.log" "$out/"
[ -f "$work/regress/regression.diffs" ] && cp "$work/regress/regression.diffs" "$out/"
# The logs with something in them: one per process that valgrind reported on
reports=0
for f in "$work"/valgrind.*.log; do
  [ -s "$f" ] || continue
  if grep -q '^==[0-9]*== [A-Z]' "$f"; then
    reports=$((reports + 1))
    cp "$f" "$out/"
  fi
done
crashes=$(grep -c 'terminated by signal\|was terminated by exception\|TRAP:' "$work/server.log" || true)
echo "valgrind: $reports process(es) with reports, $crashes crash(es) in the server log; pg_regress exit $regress_rc"
if [ "$reports" -gt 0 ]; then
  for f in "$out"/valgrind.*.log; do
    echo "---- ${f#"$here"/} (first 60 lines)"
    head -n 60 "$f"
  done
fi
[ "$crashes" -gt 0 ] && grep -B2 -A20 'TRAP:\|terminated by signal' "$work/server.log" | head -n 80
[ "$regress_rc" -eq 0 ] || echo "(pg_regress differences under valgrind: test-output/valgrind/regression.diffs; not counted)"
[ "$reports" -eq 0 ] && [ "$crashes" -eq 0 ]
