#!/usr/bin/env bash
# Builds an assert-enabled PostgreSQL 15 from Debian's source package, into
# its own prefix in the cache, and prints that prefix:
#
#   bash scripts/ci/pg15-assert.sh          # build if missing, print the prefix
#   bash scripts/ci/pg15-assert.sh --force  # build again from scratch
#
#   $PGPERF_CACHE/pg15-assert/        the installation (bin/pg_config, ...)
#   $PGPERF_CACHE/pg15-assert/build.env  PG_SRC=... PG_SRC_VERSION=...
#   $PGPERF_CACHE/pg15-assert-src/    Debian's source tree, built in place; its
#                                     test suites (src/test/regress,
#                                     contrib/pg_stat_statements) run from here
#
# Configured with --enable-cassert --enable-debug --enable-tap-tests, -Og, and
# USE_VALGRIND (PostgreSQL's memory contexts tell valgrind which chunks are
# freed; it costs nothing outside valgrind).  Installed besides the server:
# contrib/pg_stat_statements, pg_regress, pg_isolation_regress and the TAP
# perl modules, which is what PGXS's installcheck uses.
#
# Debian's 50-per-version-dirs.patch hard-codes the module directory
# (pkglibdir) to /usr/lib/postgresql/15/lib for any prefix without "pgsql" or
# "postgres" in it; that hunk is reverted in the tree before configure, and
# the result is checked, so nothing here ever reads or writes the system's
# PostgreSQL files.
#
# The build is reused while its stamp file says it is complete and was made
# by this script's current recipe; otherwise it is made again.  Runs as root.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/ci/lib.sh"

prefix=$PGPERF_CACHE/pg15-assert
srcroot=$PGPERF_CACHE/pg15-assert-src
stamp=$prefix/.complete

# The recipe: a change here (or in this file) makes the next run rebuild.
CONFIGURE_OPTS=(--enable-cassert --enable-debug --enable-tap-tests
  --with-icu --with-libxml --with-openssl --with-lz4 --with-zstd
  --without-llvm --without-systemd --without-gssapi --without-ldap --without-pam)
CFLAGS_BUILD="-Og -g -fno-omit-frame-pointer"
CPPFLAGS_BUILD="-DUSE_VALGRIND"
BUILD_DEPS=(dpkg-dev build-essential bison flex perl pkg-config
  libreadline-dev zlib1g-dev libssl-dev libicu-dev libxml2-dev liblz4-dev libzstd-dev
  libipc-run-perl valgrind)
RECIPE_VERSION=1   # bump when the steps below change
recipe=$(printf "%s\n" "$RECIPE_VERSION" "${CONFIGURE_OPTS[@]}" "$CFLAGS_BUILD" "$CPPFLAGS_BUILD" | sha256sum | cut -c1-16)

force=no
[ "${1:-}" = --force ] && force=yes

if [ $force = no ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] \
   && [ -x "$prefix/bin/postgres" ] && [ -f "$prefix/build.env" ]; then
  ci_log "pg15-assert: reusing $prefix"
  echo "$prefix"
  exit 0
fi

ci_need_root
start=$(date +%s)
ci_apt_install "${BUILD_DEPS[@]}"

# --- a deb-src entry beside each of the host's deb entries --------------------
has_src() { apt-cache showsrc postgresql-15 2>/dev/null | grep -c '^Version:' >/dev/null; }
if ! has_src; then
  list=/etc/apt/sources.list.d/pgperf-deb-src.sources
  ci_log "adding deb-src entries ($list)"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$list"
  elif [ -f /etc/apt/sources.list ]; then
    list=/etc/apt/sources.list.d/pgperf-deb-src.list
    sed -n -e 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > "$list"
  else
    ci_die "no deb entries found to copy into deb-src entries"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  has_src || ci_die "apt-get update found no source package postgresql-15"
fi

# --- the source: the newest version the mirror actually serves --------------
rm -rf "$prefix" "$srcroot"
mkdir -p "$srcroot/dl"
versions=$(apt-cache showsrc postgresql-15 | awk '/^Version:/ {print $2}' | sort -u \
           | sort -r -V)
got=
for v in $versions; do
  # (downloads as root: the _apt user cannot write into the cache)
  if (cd "$srcroot/dl" && apt-get source -qq --download-only "postgresql-15=$v" 2>&1 \
        | grep -v 'unsandboxed as root' >&2); [ -f "$srcroot/dl/postgresql-15_$v.dsc" ]; then
    got=$v
    break
  fi
  ci_log "source postgresql-15 $v is listed but not served; trying an older one"
  rm -f "$srcroot/dl/"*
done
[ -n "$got" ] || ci_die "no version of the postgresql-15 source package could be downloaded"
ci_log "pg15-assert: source postgresql-15 $got"
dpkg-source -x "$srcroot/dl/postgresql-15_$got.dsc" "$srcroot/tree" >/dev/null
rm -rf "$srcroot/dl"
src=$srcroot/tree

# --- redirect the module directory: revert Debian's hard-coded pkglibdir -----
mk=$src/src/Makefile.global.in
grep -q '^override pkglibdir := /usr/lib/postgresql/@PG_MAJORVERSION@/lib$' "$mk" \
  || ci_die "Debian's pkglibdir line not found in $mk: check debian/patches/50-per-version-dirs.patch"
sed -i 's|^override pkglibdir := /usr/lib/postgresql/@PG_MAJORVERSION@/lib$|override pkglibdir := $(pkglibdir)/postgresql|' "$mk"
if grep -rq '/usr/lib/postgresql' "$mk"; then
  ci_die "$mk still names /usr/lib/postgresql"
fi

# --- build and install ---------------------------------------------------------
jobs=$(nproc)
cd "$src"
ci_log "pg15-assert: configure"
./configure --prefix="$prefix" "${CONFIGURE_OPTS[@]}" \
  CFLAGS="$CFLAGS_BUILD" CPPFLAGS="$CPPFLAGS_BUILD" >"$srcroot/configure.log" 2>&1 \
  || { tail -n 30 "$srcroot/configure.log"; ci_die "configure failed"; }
ci_log "pg15-assert: make -j$jobs"
make -s -j"$jobs" >"$srcroot/make.log" 2>&1 || { tail -n 40 "$srcroot/make.log"; ci_die "make failed"; }
make -s -j"$jobs" -C contrib/pg_stat_statements >>"$srcroot/make.log" 2>&1 || ci_die "make contrib/pg_stat_statements failed"
# pg_regress's tests need regress.so, refint.so, autoinc.so (built by make
# above) and the isolation tester
make -s -j"$jobs" -C src/test/isolation >>"$srcroot/make.log" 2>&1 || ci_die "make src/test/isolation failed"

# The module directory must be inside the prefix before anything is installed.
pkglibdir=$("$src/src/bin/pg_config/pg_config" --pkglibdir)
case $pkglibdir in
  "$prefix"/*) ;;
  *) ci_die "pg_config --pkglibdir is $pkglibdir, outside $prefix: refusing to install" ;;
esac

ci_log "pg15-assert: make install"
make -s install >>"$srcroot/make.log" 2>&1 || ci_die "make install failed"
make -s -C contrib/pg_stat_statements install >>"$srcroot/make.log" 2>&1
make -s -C src/test/isolation install >>"$srcroot/make.log" 2>&1
make -s -C src/test/perl install >>"$srcroot/make.log" 2>&1

# Check the installation: its own module directory, the PGXS test programs.
[ "$("$prefix/bin/pg_config" --pkglibdir)" = "$pkglibdir" ] || ci_die "installed pg_config disagrees on pkglibdir"
pgxs=$(dirname "$("$prefix/bin/pg_config" --pgxs)")/../..
for f in "$pkglibdir/pg_stat_statements.so" "$pgxs/src/test/regress/pg_regress" \
         "$pgxs/src/test/isolation/pg_isolation_regress" "$pgxs/src/test/isolation/isolationtester" \
         "$pgxs/src/test/perl/PostgreSQL/Test/Cluster.pm" "$src/src/test/regress/regress.so"; do
  [ -e "$f" ] || ci_die "missing after install: $f"
done
grep -q '^#define USE_ASSERT_CHECKING 1' "$("$prefix/bin/pg_config" --includedir-server)/pg_config.h" \
  || ci_die "the build is not assert-enabled"

# the test runners (the postgres user) read the tree and the prefix
chmod -R a+rX "$srcroot" "$prefix"
cat > "$prefix/build.env" <<ENV
PG_SRC=$src
PG_SRC_VERSION=$got
ENV
echo "$recipe" > "$stamp"
ci_log "pg15-assert: built $got in $(( $(date +%s) - start )) s; pkglibdir $pkglibdir"
echo "$prefix"
