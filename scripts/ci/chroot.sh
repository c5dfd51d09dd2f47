#!/usr/bin/env bash
# Chroots with other PostgreSQL majors, made with debootstrap into the cache:
#
#   bash scripts/ci/chroot.sh MAJOR [--force]   # make it if missing; print its path
#   bash scripts/ci/chroot.sh MAJOR run CMD...  # run CMD inside (as root; /proc,
#                                               # /dev/shm, /dev/pts mounted while it runs)
#   bash scripts/ci/chroot.sh MAJOR info        # the PostgreSQL packages inside
#
#   MAJOR   suite                      $PGPERF_CACHE/chroot-MAJOR
#   17      trixie
#   18      sid
#   19      sid + experimental, with experimental pinned for postgresql-19*
#
# Inside: postgresql-MAJOR, postgresql-server-dev-MAJOR, build-essential,
# libcmocka-dev, libipc-run-perl, and, where the suite has them,
# postgresql-MAJOR-hypopg and postgresql-MAJOR-pg-hint-plan.  No cluster is
# created and no service started; tests start their own servers as postgres.
# A chroot is reused while its stamp says it is complete and was made by this
# recipe; otherwise it is made again from scratch.  Runs as root.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/scripts/ci/lib.sh"

major=${1:?usage: chroot.sh MAJOR [--force | run CMD... | info]}
shift
case $major in
  17) suite=trixie; experimental=no ;;
  18) suite=sid; experimental=no ;;
  19) suite=sid; experimental=yes ;;
  *) ci_die "no chroot recipe for PostgreSQL $major (17, 18, 19)" ;;
esac
root=$PGPERF_CACHE/chroot-$major
stamp=$root/.pgperf-complete
# The mirror: the host's own Debian mirror.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

BASE_PACKAGES=(build-essential libcmocka-dev libipc-run-perl
  "postgresql-$major" "postgresql-server-dev-$major" "postgresql-client-$major")
OPTIONAL_PACKAGES=("postgresql-$major-hypopg" "postgresql-$major-pg-hint-plan")
RECIPE_VERSION=2   # bump when the steps below change
recipe=$(printf '%s\n' "$RECIPE_VERSION" "$suite" "$experimental" "$mirror" "${BASE_PACKAGES[@]}" \
         "${OPTIONAL_PACKAGES[@]}" | sha256sum | cut -c1-16)

complete() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ]; }

# --- mounts while a command runs inside ----------------------------------------
mounted=()
umount_all() {
  local i
  for (( i=${#mounted[@]}-1; i>=0; i-- )); do
    umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null \
      || ci_log "warning: could not unmount ${mounted[$i]}"
  done
  mounted=()
}
mount_all() {
  trap umount_all EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$root/proc" "$root/dev/shm" "$root/dev/pts"
  # (one left mounted by an earlier run that was killed is taken over and
  # unmounted at the end too)
  if mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"; then mounted+=("$root/proc"); fi
  if mountpoint -q "$root/dev/shm" || mount -t tmpfs -o mode=1777,size=2g shm "$root/dev/shm"; then
    mounted+=("$root/dev/shm")
  fi
  if mountpoint -q "$root/dev/pts" || mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" 2>/dev/null; then
    mounted+=("$root/dev/pts")
  fi
  # name resolution for apt inside
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  cp /etc/hosts "$root/etc/hosts" 2>/dev/null || true
}
in_chroot() {
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}

# --- make ------------------------------------------------------------------------
make_chroot() {
  local start t0 p opt=()
  start=$(date +%s)
  ci_apt_install debootstrap
  ci_log "chroot-$major: debootstrap $suite from $mirror"
  umount_all
  for m in proc dev/shm dev/pts; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  rm -rf "$root"
  mkdir -p "$PGPERF_CACHE"
  # sid's signing keys may be newer than the host's keyring: debootstrap checks
  # with the host's keyring when it can, and the chroot's own keyring after.
  if ! debootstrap --variant=minbase --include=ca-certificates,debian-archive-keyring \
         "$suite" "$root" "$mirror" >"$PGPERF_CACHE/chroot-$major.log" 2>&1; then
    tail -n 20 "$PGPERF_CACHE/chroot-$major.log" >&2
    ci_die "debootstrap $suite failed (log: $PGPERF_CACHE/chroot-$major.log)"
  fi
  ci_log "chroot-$major: debootstrap took $(( $(date +%s) - start )) s"

  # apt: sid's Release may be past Valid-Until; no recommends; no services.
  cat > "$root/etc/apt/apt.conf.d/90pgperf" <<'APT'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Use-Pty "false";
APT
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # postgresql-common: no main cluster on install
  mkdir -p "$root/etc/postgresql-common/createcluster.d"
  echo 'create_main_cluster = false' > "$root/etc/postgresql-common/createcluster.d/pgperf.conf"
  {
    echo "deb $mirror $suite main"
    [ $experimental = yes ] && echo "deb $mirror experimental main"
  } > "$root/etc/apt/sources.list"
  if [ $experimental = yes ]; then
    # experimental for this major's packages and the libpq they need, sid
    # for everything else (perl, the compiler, ...)
    cat > "$root/etc/apt/preferences.d/pgperf-experimental" <<PIN
Package: /^(postgresql(-client|-server-dev|-contrib|-plperl|-plpython3|-pltcl)?-$major(-.*)?|libpq5|libpq-dev|libecpg.*|libpgtypes3)\$/
Pin: release a=experimental
Pin-Priority: 990
PIN
  fi

  mount_all
  t0=$(date +%s)
  in_chroot apt-get update -qq
  for p in "${OPTIONAL_PACKAGES[@]}"; do
    if in_chroot apt-cache show "$p" 2>/dev/null | grep -c '^Package:' >/dev/null; then
      opt+=("$p")
    else
      ci_log "chroot-$major: $p is not in $suite$([ $experimental = yes ] && echo ' + experimental'): skipped"
    fi
  done
  if ! in_chroot apt-get install -y -qq "${BASE_PACKAGES[@]}" "${opt[@]}" >>"$PGPERF_CACHE/chroot-$major.log" 2>&1; then
    tail -n 30 "$PGPERF_CACHE/chroot-$major.log" >&2
    ci_die "apt-get install in chroot-$major failed"
  fi
  in_chroot apt-get clean
  ci_log "chroot-$major: packages took $(( $(date +%s) - t0 )) s"
  [ -x "$root/usr/lib/postgresql/$major/bin/pg_config" ] || ci_die "chroot-$major has no pg_config for $major"
  [ -x "$root/usr/lib/postgresql/$major/bin/postgres" ] || ci_die "chroot-$major has no server for $major"
  in_chroot id postgres >/dev/null || ci_die "chroot-$major has no postgres user"
  umount_all
  echo "$recipe" > "$stamp"
  ci_log "chroot-$major: made in $(( $(date +%s) - start )) s"
}

action=${1:-make}
case $action in
  --force)
    make_chroot
    echo "$root" ;;
  make)
    ci_need_root
    if complete; then ci_log "chroot-$major: reusing $root"; else make_chroot; fi
    echo "$root" ;;
  run)
    shift
    ci_need_root
    complete || make_chroot
    mount_all
    rc=0
    in_chroot "$@" || rc=$?
    umount_all
    exit $rc ;;
  info)
    complete || ci_die "chroot-$major is not made yet"
    chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' 'postgresql*' 'libpq5' | awk '$1 == "ii" {print $2, $3}' ;;
  *) ci_die "unknown action $action" ;;
esac
