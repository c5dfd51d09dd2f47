# scripts/ci/lib.sh - what the CI scripts share (sourced, not run).
#
# PGPERF_CACHE (default /var/cache/pgperf) holds everything that is costly to
# make and worth keeping between runs: the assert-enabled PostgreSQL 15 build
# and the chroots of the other majors.  Each finished product has a stamp file;
# a product without its stamp is incomplete and is made again from scratch.

PGPERF_CACHE=${PGPERF_CACHE:-/var/cache/pgperf}
export PGPERF_CACHE

ci_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ci_die() { ci_log "error: $*"; exit 1; }

ci_need_root() {
  [ "$(id -u)" -eq 0 ] || ci_die "$(basename "$0") must run as root (it installs packages and builds into $PGPERF_CACHE)"
}

# ci_apt_install PKG... : install the packages not yet installed (apt-get
# update once per run of the calling script)
ci_apt_install() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  ci_log "installing ${missing[*]}"
  if [ -z "${_CI_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _CI_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
