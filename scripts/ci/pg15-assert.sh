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
# Configured with --enable-cassert --enable-debug --enable-tap-tests, -O2, and
# USE_VALGRIND (PostgreSQL's memory contexts tell valgrind which chunks are
# freed; it costs nothing outside valgrind).  Installed besides the server:
# contrib (pg_stat_statements, pg_prewarm, ...), hypopg (Debian's source
# package), pg_regress, pg_isolation_regress and the TAP perl modules, which
# is what PGXS's installcheck uses.
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
# -O2 as Debian builds it: with -Og, gcc's -Wclobbered (in -Wextra, an error for
# pgperf) flags PG_TRY's own _do_rethrow in src/hooks.c, a false positive.
CFLAGS_BUILD="-O2 -g -fno-omit-frame-pointer"
CPPFLAGS_BUILD="-DUSE_VALGRIND"
BUILD_DEPS=(dpkg-dev build-essential bison flex perl pkg-config
  libreadline-dev zlib1g-dev libssl-dev libicu-dev libxml2-dev liblz4-dev libzstd-dev
  libipc-run-perl valgrind)
RECIPE_VERSION=2   # bump when the steps below change
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

# --- the sources: the newest version the mirror actually serves -------------
# fetch_source PKG DEST: unpack source package PKG into DEST, print its version
fetch_source() {
  local pkg=$1 dest=$2 dl=$srcroot/dl v versions
  rm -rf "$dl"; mkdir -p "$dl"
  versions=$(apt-cache showsrc "$pkg" | awk '/^Version:/ {print $2}' | sort -u | sort -r -V)
  for v in $versions; do
    # (downloads as root: the _apt user cannot write into the cache)
    if (cd "$dl" && apt-get source -qq --download-only "$pkg=$v" >"$dl.log" 2>&1) \
       && [ -f "$dl/${pkg}_${v#*:}.dsc" ]; then
      dpkg-source -x "$dl/${pkg}_${v#*:}.dsc" "$dest" 2>&1 | grep -v '^gpgv\|^dpkg-source: \(info\|warning: cannot verify\|warning: extracting unsigned\)' >&2 || true
      [ -d "$dest" ] || ci_die "dpkg-source -x $pkg $v failed"
      rm -rf "$dl" "$dl.log"
      echo "$v"
      return 0
    fi
    ci_log "source $pkg $v is listed but not served ($(grep -c '^E:' "$dl.log") download errors)"
    rm -f "$dl"/*
  done
  ci_log "no version of the source package $pkg could be downloaded"
  return 1
}
rm -rf "$prefix" "$srcroot"
mkdir -p "$srcroot"
got=$(fetch_source postgresql-15 "$srcroot/tree") || ci_die "no postgresql-15 source"
ci_log "pg15-assert: source postgresql-15 $got"
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
# contrib: pg_stat_statements, and pg_prewarm and the others the TAP tests use
make -s -j"$jobs" -C contrib >>"$srcroot/make.log" 2>&1 || { tail -n 40 "$srcroot/make.log"; ci_die "make contrib failed"; }
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
make -s -C contrib install >>"$srcroot/make.log" 2>&1 || ci_die "make -C contrib install failed"
make -s -C src/test/isolation install >>"$srcroot/make.log" 2>&1
make -s -C src/test/perl install >>"$srcroot/make.log" 2>&1

# hypopg (try_index(hypothetical => true)): built from Debian's source package
# when the mirror serves it, else the module of Debian's binary package for 15
# (same major, so the same ABI) unpacked into the prefix.
if hv=$(fetch_source hypopg "$srcroot/hypopg"); then
  ci_log "pg15-assert: hypopg $hv from source"
  make -s -C "$srcroot/hypopg" PG_CONFIG="$prefix/bin/pg_config" install >>"$srcroot/make.log" 2>&1 \
    || { tail -n 20 "$srcroot/make.log"; ci_die "hypopg failed to build"; }
else
  mkdir -p "$srcroot/dl" && (cd "$srcroot/dl" && apt-get download -qq postgresql-15-hypopg 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
  deb=$(ls "$srcroot"/dl/postgresql-15-hypopg_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || ci_die "neither hypopg's source nor postgresql-15-hypopg could be downloaded"
  dpkg-deb -x "$deb" "$srcroot/hypopg-deb"
  install -m 755 "$srcroot"/hypopg-deb/usr/lib/postgresql/15/lib/hypopg.so "$pkglibdir/"
  install -m 644 "$srcroot"/hypopg-deb/usr/share/postgresql/15/extension/hypopg* "$("$prefix/bin/pg_config" --sharedir)/extension/"
  ci_log "pg15-assert: hypopg from $(basename "$deb")"
  rm -rf "$srcroot/dl" "$srcroot/hypopg-deb"
fi

# Check the installation: its own module directory, the PGXS test programs.
[ "$("$prefix/bin/pg_config" --pkglibdir)" = "$pkglibdir" ] || ci_die "installed pg_config disagrees on pkglibdir"
pgxs=$(dirname "$("$prefix/bin/pg_config" --pgxs)")/../..
for f in "$pkglibdir/pg_stat_statements.so" "$pkglibdir/pg_prewarm.so" "$pkglibdir/hypopg.so" "$pgxs/src/test/regress/pg_regress" \
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
